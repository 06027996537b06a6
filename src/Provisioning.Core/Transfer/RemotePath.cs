namespace Provisioning.Core.Transfer;

/// <summary>
/// Text operations on POSIX paths of a host, done on the controller (the controller may be Windows, where
/// System.IO.Path would use the wrong separator).
/// </summary>
internal static class RemotePath
{
    /// <summary>Joins a folder and a relative '/'-separated path.</summary>
    public static string Join(string directory, string relative)
    {
        if (directory.Length == 0 || directory == ".") return relative;
        return directory.EndsWith('/') ? directory + relative : directory + "/" + relative;
    }

    /// <summary>Splits <c>a/b/c</c> into (<c>a/b</c>, <c>c</c>); a bare name's folder is <c>.</c>, <c>/c</c>'s is <c>/</c>.</summary>
    public static (string Directory, string Name) Split(string path)
    {
        var trimmed = path.Length > 1 ? path.TrimEnd('/') : path;
        var slash = trimmed.LastIndexOf('/');
        if (slash < 0) return (".", trimmed);
        if (slash == 0) return ("/", trimmed[1..]);
        return (trimmed[..slash], trimmed[(slash + 1)..]);
    }

    /// <summary>True when a segment of <paramref name="path"/> is <c>..</c>.</summary>
    public static bool HasParentSegment(string path) =>
        path.Split('/', '\\').Any(s => s == "..");

    /// <summary>
    /// True when rendering added a <c>..</c> segment that the template's own text did not have: a host or
    /// user variable is steering the path out of the folder the template names.
    /// </summary>
    public static bool RenderingAddsParentSegment(string template, string rendered) =>
        HasParentSegment(rendered) && !template.Contains("..", StringComparison.Ordinal);

    /// <summary>
    /// The path as a relative path for a local copy: leading <c>/</c> and <c>./</c> and empty or <c>.</c>
    /// segments dropped. Null when a segment is <c>..</c> or nothing remains (it would leave the folder).
    /// </summary>
    public static string? MakeRelative(string path)
    {
        var segments = path.Split('/').Where(s => s.Length > 0 && s != ".").ToArray();
        if (segments.Length == 0 || segments.Any(s => s == "..")) return null;
        return string.Join('/', segments);
    }
}
