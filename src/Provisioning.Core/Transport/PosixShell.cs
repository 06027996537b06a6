namespace Provisioning.Core.Transport;

/// <summary>POSIX shell quoting, the one place that decides how a value becomes a safe shell word.</summary>
public static class PosixShell
{
    /// <summary>
    /// Wraps <paramref name="value"/> in single quotes, writing each embedded quote as <c>'\''</c>
    /// (<c>it's</c> becomes <c>'it'\''s'</c>). Inside single quotes a POSIX shell expands nothing, so the value
    /// reaches the command as one word, whatever it holds. An empty value becomes <c>''</c>. Used by the
    /// <c>{{ quote x }}</c> template helper and by the transport's own scripts.
    /// </summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return "'" + value.Replace("'", @"'\''", StringComparison.Ordinal) + "'";
    }

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
