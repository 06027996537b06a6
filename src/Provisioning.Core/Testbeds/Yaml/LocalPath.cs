namespace Provisioning.Core.Testbeds.Yaml;

/// <summary>Local (controller-side) paths written in a testbed file.</summary>
internal static class LocalPath
{
    /// <summary>
    /// Expands a leading <c>~</c> or <c>~/</c> to $HOME and makes a relative path absolute against
    /// <paramref name="baseDirectory"/> (the file's folder), so a testbed file works from any current directory.
    /// <c>~user</c> is not expanded.
    /// </summary>
    public static string Resolve(string path, string baseDirectory)
    {
        if (path == "~") return Home();
        if (path.StartsWith("~/", StringComparison.Ordinal)) return Path.GetFullPath(Path.Combine(Home(), path[2..]));
        return Path.GetFullPath(path, baseDirectory);
    }

    /// <summary>$HOME, or the profile folder when HOME is not set.</summary>
    public static string Home() =>
        Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } home
            ? home
            : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
}
