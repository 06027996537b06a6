namespace Provisioning.Core.Transport;

/// <summary>POSIX shell quoting, the one place that decides how a value becomes a safe shell word.</summary>
public static class PosixShell
{
    /// <summary>Quotes <paramref name="value"/> as one single-quoted word: <c>it's</c> becomes <c>'it'\''s'</c>.</summary>
    public static string Quote(string value) => "'" + value.Replace("'", "'\\''") + "'";

    /// <summary>
    /// Quotes a remote path, keeping a leading <c>~/</c> expandable (as <c>"$HOME"/...</c>) since a quoted tilde
    /// is not expanded by the shell.
    /// </summary>
    public static string QuotePath(string path)
    {
        if (path == "~") return "\"$HOME\"";
        if (path.StartsWith("~/", StringComparison.Ordinal)) return "\"$HOME\"/" + Quote(path[2..]);
        return Quote(path);
    }
}
