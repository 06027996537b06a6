using System.Diagnostics;
using System.Runtime.Versioning;

namespace Provisioning.Core.Testbeds.Local;

/// <summary>
/// Starts an agent's sshd in the foreground (<c>-D</c>) as our own child, so its exit is reaped at once and
/// its pid is known without waiting for a pid file. The chain <c>setsid unshare sh -c 'exec sshd'</c>
/// keeps one pid throughout: setsid gives sshd its own session, so a Ctrl+C in the user's terminal (sent to
/// the whole foreground process group) does not kill the agents; unshare, when allowed, gives it its own
/// hostname and a clean home.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class SshdLauncher
{
    // Runs in the agent's new UTS + mount namespaces: name the host, hide the login user's real home
    // (this machine's ~/.bashrc may be slow: Debian's bash reads it even for `ssh host cmd`), start sshd.
    private const string IsolatedScript =
        "printf %s \"$1\" > /proc/sys/kernel/hostname && mount --bind \"$2\" \"$3\" && " +
        "exec \"$4\" -D -f \"$5\" -E \"$6\" </dev/null >/dev/null 2>>\"$6\"";
    private const string PlainScript = "exec \"$4\" -D -f \"$5\" -E \"$6\" </dev/null >/dev/null 2>>\"$6\"";

    private readonly OpenSshTools _tools;
    private readonly string? _setsid;
    private readonly string? _unshare;
    private readonly string _home;

    private SshdLauncher(OpenSshTools tools, string? setsid, string? unshare, string home)
    {
        _tools = tools;
        _setsid = setsid;
        _unshare = unshare;
        _home = home;
    }

    /// <summary>True when each agent gets its own UTS and mount namespace (hostname = agent name, clean home).</summary>
    public bool Isolated => _unshare is not null;

    /// <summary>
    /// Decides how agents start. Namespaces need root, util-linux's unshare and a kernel that allows them;
    /// they are probed once here, and when anything fails the agents simply share this machine's hostname
    /// and home. <paramref name="useNamespaces"/> false turns them off, true makes their absence an error.
    /// </summary>
    public static SshdLauncher Create(OpenSshTools tools, LoginAccount account, string stateDirectory, bool? useNamespaces)
    {
        var setsid = FindProgram("setsid");
        string? unshare = null;
        if (useNamespaces != false && account.IsRoot && !IsUnder(stateDirectory, account.Home))
        {
            unshare = FindProgram("unshare");
            if (unshare is not null && !ProbeNamespaces(unshare, stateDirectory, account.Home)) unshare = null;
        }
        if (useNamespaces == true && unshare is null)
        {
            throw new InvalidOperationException(
                "Namespaces were required but are not available (they need root, util-linux's unshare, and a state folder outside the login user's home).");
        }
        return new SshdLauncher(tools, setsid, unshare, account.Home);
    }

    /// <summary>Starts the agent's sshd; it has not necessarily bound its socket when this returns.</summary>
    public Process Start(LocalAgent agent)
    {
        var start = new ProcessStartInfo { UseShellExecute = false, WorkingDirectory = "/" };
        var args = new List<string>();
        if (_setsid is not null) args.Add(_setsid);
        if (_unshare is not null) args.AddRange([_unshare, "--uts", "--mount", "--propagation", "private", "--"]);
        args.AddRange(["/bin/sh", "-c", Isolated ? IsolatedScript : PlainScript, "sh",
            agent.Name, agent.HomeDirectory, _home, _tools.Sshd, agent.ConfigPath, agent.LogPath]);
        start.FileName = args[0];
        foreach (var a in args.Skip(1)) start.ArgumentList.Add(a);
        return Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
    }

    private static bool ProbeNamespaces(string unshare, string scratchParent, string home)
    {
        if (!Directory.Exists(home)) return false;
        var scratch = Directory.CreateDirectory(Path.Combine(scratchParent, ".nsprobe"));
        try
        {
            var start = new ProcessStartInfo(unshare)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = "/",
            };
            foreach (var a in new[] { "--uts", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                         "printf %s provisioning-probe > /proc/sys/kernel/hostname && mount --bind \"$1\" \"$2\"", "sh", scratch.FullName, home })
            {
                start.ArgumentList.Add(a);
            }
            using var process = Process.Start(start);
            if (process is null) return false;
            process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            if (!process.WaitForExit(10_000))
            {
                process.Kill();
                return false;
            }
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
        finally
        {
            scratch.Delete();
        }
    }

    private static bool IsUnder(string path, string directory)
    {
        var p = Path.GetFullPath(path).TrimEnd('/') + "/";
        var d = Path.GetFullPath(directory).TrimEnd('/') + "/";
        return p.StartsWith(d, StringComparison.Ordinal);
    }

    private static string? FindProgram(string name) =>
        new[] { "/usr/bin", "/bin", "/usr/sbin", "/sbin" }.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
