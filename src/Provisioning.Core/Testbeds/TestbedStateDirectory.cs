using System.Security.Cryptography;
using System.Text;

namespace Provisioning.Core.Testbeds;

/// <summary>
/// Where a YAML testbed keeps its state (journal, control sockets' bookkeeping) when the file sets no
/// <c>state_dir</c>: <c>${XDG_STATE_HOME:-$HOME/.local/state}/provisioning/&lt;name&gt;-&lt;hash&gt;</c>, where the
/// hash is the first 10 hex digits of the SHA-256 of the file's full path. The same file therefore finds the
/// same journal in every session, and two files with the same testbed name never share one.
/// </summary>
public static class TestbedStateDirectory
{
    /// <summary>
    /// The folder under which default state folders go: <c>$XDG_STATE_HOME/provisioning</c>, or
    /// <c>$HOME/.local/state/provisioning</c> when XDG_STATE_HOME is unset or relative (as the XDG spec says).
    /// </summary>
    public static string Root
    {
        get
        {
            var stateHome = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
            if (string.IsNullOrEmpty(stateHome) || !Path.IsPathRooted(stateHome))
                stateHome = Path.Combine(Yaml.LocalPath.Home(), ".local", "state");
            return Path.Combine(stateHome, "provisioning");
        }
    }

    /// <summary>The default state folder of the testbed <paramref name="testbedName"/> loaded from <paramref name="testbedFilePath"/>.
    /// Only computes the path; the loader creates the folder.</summary>
    public static string For(string testbedFilePath, string testbedName) => For(testbedFilePath, testbedName, Root);

    /// <summary>Same as <see cref="For(string, string)"/> under another root (tests use a temporary one).</summary>
    internal static string For(string testbedFilePath, string testbedName, string root)
    {
        var fullPath = Path.GetFullPath(testbedFilePath);
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(fullPath)))[..10].ToLowerInvariant();
        return Path.Combine(root, $"{SafeFolderName(testbedName)}-{hash}");
    }

    // The name is the user's free text; only keep what is safe in one path segment. The hash suffix keeps
    // names that sanitise alike apart, and means the segment can never be "." or "..".
    private static string SafeFolderName(string name)
    {
        var safe = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_').ToArray());
        return safe.Length > 64 ? safe[..64] : safe;
    }
}
