using System.Diagnostics;
using System.Runtime.Versioning;

namespace Provisioning.Core.Testbeds.Local;

/// <summary>
/// Starts an agent's sshd in the foreground (<c>-D</c>) as our own child, so its exit is reaped at once and its
/// pid is known without waiting for a pid file. The chain <c>setsid [nsenter] [unshare] sh -c '... exec sshd'</c>
/// keeps one pid for the listener we track: setsid gives it its own session, so a Ctrl+C in the user's terminal (sent
/// to the whole foreground process group) does not kill the agents; nsenter puts it in the testbed's offline network;
/// unshare gives it its own hostname and mounts (a clean home), and with a private root also its own PID namespace
/// and an overlay root that sshd is chrooted into.
/// </summary>
/// <remarks>
/// Every mount an agent makes is in its own mount namespace, which the kernel tears down when the agent's last
/// process exits: nothing an agent mounts is ever visible in this machine's mount table, so no crash can leave one.
/// </remarks>
[SupportedOSPlatform("linux")]
internal sealed class SshdLauncher
{
    // $1 name, $2 agent home, $3 login user's home, $4 sshd, $5 sshd_config, $6 log.
    private const string PlainScript = "exec \"$4\" -D -f \"$5\" -E \"$6\" </dev/null >/dev/null 2>>\"$6\"";

    // In the agent's UTS + mount namespaces: name the host, hide the login user's real home (this machine's
    // ~/.bashrc may be slow: Debian's bash reads it even for `ssh host cmd`), start sshd.
    private const string NamespacedScript =
        "printf %s \"$1\" > /proc/sys/kernel/hostname && mount --bind \"$2\" \"$3\" && " + PlainScript;

    // Also $7 the agent's root folder (upper, work, merged), $8 the agent's state folder, $9 the testbed's state
    // folder, ${10} authorized_keys. The overlay's lower layer is this machine's / (read-only through the overlay),
    // its upper layer the agent's own; then what a machine has: proc of its own PID namespace, /dev, sysfs, fresh
    // /tmp, /run and /dev/shm. The testbed's state folder is hidden but for the agent's own folder and the keys sshd
    // reads (and sshd itself, when it is not a program of this machine's root: a test's wrapper). As PID 1 of its namespace, sshd reaps orphans, and its death takes every process of the agent with it.
    private const string PrivateRootScript = """
        set -e
        printf %s "$1" > /proc/sys/kernel/hostname
        m=$7/merged
        mount -t overlay overlay -o "lowerdir=/,upperdir=$7/upper,workdir=$7/work" "$m"
        mount -t proc proc "$m/proc"
        mount --rbind /dev "$m/dev"
        mount -t tmpfs -o mode=1777 tmpfs "$m/dev/shm"
        mount -t sysfs sysfs "$m/sys" 2>/dev/null || mount --rbind /sys "$m/sys"
        mount -t tmpfs -o mode=1777 tmpfs "$m/tmp"
        mount -t tmpfs -o mode=755 tmpfs "$m/run"
        mkdir -p "$m/run/sshd" "$m$9"
        mount -t tmpfs -o mode=700 tmpfs "$m$9"
        mkdir -p "$m$8" "$m$3"
        mount --bind "$8" "$m$8"
        touch "$m${10}"
        mount --bind "${10}" "$m${10}"
        mount --bind "$2" "$m$3"
        [ -e "$m$4" ] || { mkdir -p "$m${4%/*}"; touch "$m$4"; mount --bind "$4" "$m$4"; }
        cd /
        exec chroot "$m" "$4" -D -f "$5" -E "$6" </dev/null >/dev/null 2>>"$6"
        """;

    private readonly OpenSshTools _tools;
    private readonly string? _setsid;
    private readonly string? _unshare;
    private readonly string? _nsenter;
    private readonly string _home;
    private readonly string _stateDirectory;
    private readonly string _authorizedKeys;

    private SshdLauncher(OpenSshTools tools, string? setsid, string? unshare, string? nsenter, LocalIsolation isolation,
        string home, string stateDirectory, string authorizedKeys, string? fallbackReason)
    {
        _tools = tools;
        _setsid = setsid;
        _unshare = unshare;
        _nsenter = nsenter;
        Isolation = isolation;
        _home = home;
        _stateDirectory = stateDirectory;
        _authorizedKeys = authorizedKeys;
        FallbackReason = fallbackReason;
    }

    /// <summary>True when each agent gets its own UTS and mount namespace (hostname = agent name, clean home).</summary>
    public bool Isolated => _unshare is not null;

    /// <summary>What the agents share with this machine.</summary>
    public LocalIsolation Isolation { get; }

    /// <summary>Why the agents share this machine's root and processes although nobody asked for it; null otherwise.</summary>
    public string? FallbackReason { get; }

    /// <summary>The pid sshd writes to its pid file: 1 in a PID namespace of its own, else the listener we started.</summary>
    public bool OwnPidNamespace => Isolation == LocalIsolation.Private;

    /// <summary>
    /// Decides how agents start. Namespaces need root, util-linux's unshare and a kernel that allows them; a private
    /// root also needs overlayfs. Each is probed once here. <paramref name="isolation"/> null takes the most that works
    /// (and says why in <see cref="FallbackReason"/> when that is not a private root); Private makes its absence an error.
    /// <paramref name="useNamespaces"/> false turns namespaces off, true makes their absence an error (tests).
    /// </summary>
    /// <exception cref="Errors.ProvisioningException">A private root or an offline network was asked for where it cannot work.</exception>
    public static SshdLauncher Create(OpenSshTools tools, LoginAccount account, string stateDirectory, string authorizedKeys,
        bool? useNamespaces, LocalIsolation? isolation, bool offline)
    {
        var setsid = FindProgram("setsid");
        string? unshare = null, why = null;
        if (useNamespaces == false)
            why = "namespaces were turned off";
        else if (!account.IsRoot)
            why = $"they need root, and this session runs as '{account.UserName}' (uid {account.UserId})";
        else if (IsUnder(stateDirectory, account.Home))
            why = $"the state folder '{stateDirectory}' is inside the login user's home, which agents replace with a clean one";
        else if ((unshare = FindProgram("unshare")) is null)
            why = "util-linux's unshare is not installed";
        else if (!ProbeNamespaces(unshare, stateDirectory, account.Home))
        {
            unshare = null;
            why = "the kernel refused new UTS and mount namespaces (a container without CAP_SYS_ADMIN?)";
        }
        if (useNamespaces == true && unshare is null)
            throw new InvalidOperationException($"Namespaces were required but are not available: {why}.");

        string? nsenter = null;
        if (offline)
        {
            if (unshare is null || (nsenter = FindProgram("nsenter")) is null || FindProgram("ip") is null)
            {
                throw new Errors.ProvisioningException(Errors.ErrorKind.ProviderFailed,
                    $"-Network Offline needs a network namespace of the testbed's own, and it cannot be made here: " +
                    $"{why ?? "util-linux's nsenter or iproute2's ip is not installed"}. Run as root on Linux, or use -Network Host.");
            }
        }

        var resolved = LocalIsolation.Shared;
        string? fallback = null;
        if (isolation != LocalIsolation.Shared)
        {
            var rootWhy = unshare is null ? why : ProbePrivateRoot(unshare, stateDirectory);
            if (rootWhy is null) resolved = LocalIsolation.Private;
            else if (isolation == LocalIsolation.Private)
            {
                throw new Errors.ProvisioningException(Errors.ErrorKind.ProviderFailed,
                    $"-Isolation Private gives each agent its own copy-on-write root filesystem and processes, and it cannot work here: {rootWhy}. " +
                    "Use -Isolation Shared to share this machine's root and processes.");
            }
            else fallback = $"The Local agents share this machine's root filesystem and processes (no private roots): {rootWhy}.";
        }
        return new SshdLauncher(tools, setsid, unshare, nsenter, resolved, account.Home, stateDirectory, authorizedKeys, fallback);
    }

    /// <summary>Starts the agent's sshd; it has not necessarily bound its socket when this returns.</summary>
    /// <param name="agent">The agent.</param>
    /// <param name="network">The testbed's offline network, or null for this machine's.</param>
    public Process Start(LocalAgent agent, OfflineNetwork? network)
    {
        var start = new ProcessStartInfo { UseShellExecute = false, WorkingDirectory = "/" };
        var args = new List<string>();
        if (_setsid is not null) args.Add(_setsid);
        if (network is not null) args.AddRange([_nsenter!, $"--net={network.NamespacePath}", "--"]);
        if (_unshare is not null)
        {
            args.AddRange([_unshare, "--uts", "--mount", "--propagation", "private"]);
            if (OwnPidNamespace) args.AddRange(["--pid", "--fork", "--kill-child"]);
            args.Add("--");
        }
        var script = Isolation == LocalIsolation.Private ? PrivateRootScript : Isolated ? NamespacedScript : PlainScript;
        args.AddRange(["/bin/sh", "-c", script, "sh",
            agent.Name, agent.HomeDirectory, _home, _tools.Sshd, agent.ConfigPath, agent.LogPath,
            agent.RootDirectory, agent.Directory, _stateDirectory, _authorizedKeys]);
        if (Isolation == LocalIsolation.Private)
        {
            foreach (var layer in new[] { agent.UpperDirectory, agent.OverlayWorkDirectory, agent.MergedDirectory })
                Directory.CreateDirectory(layer);
        }
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
            return Run(unshare, ["--uts", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                "printf %s provisioning-probe > /proc/sys/kernel/hostname && mount --bind \"$1\" \"$2\"", "sh", scratch.FullName, home]) is null;
        }
        finally
        {
            scratch.Delete();
        }
    }

    // Null when an overlay on / and a proc of a new PID namespace can be mounted; else why not.
    private static string? ProbePrivateRoot(string unshare, string scratchParent)
    {
        var scratch = Directory.CreateDirectory(Path.Combine(scratchParent, ".rootprobe"));
        try
        {
            foreach (var d in new[] { "upper", "work", "merged" }) Directory.CreateDirectory(Path.Combine(scratch.FullName, d));
            var failure = Run(unshare, ["--mount", "--propagation", "private", "--pid", "--fork", "--", "/bin/sh", "-c",
                "mount -t overlay overlay -o \"lowerdir=/,upperdir=$1/upper,workdir=$1/work\" \"$1/merged\" && mount -t proc proc \"$1/merged/proc\"",
                "sh", scratch.FullName]);
            return failure is null ? null : $"an overlay of / could not be mounted ({failure})";
        }
        finally
        {
            try { scratch.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    // Null when the program exits 0; else its last line of stderr (or the exit code).
    private static string? Run(string program, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(start);
            if (process is null) return $"{program} did not start";
            process.StandardOutput.ReadToEnd();
            var stderr = process.StandardError.ReadToEnd();
            if (!process.WaitForExit(10_000))
            {
                process.Kill();
                return $"{program} did not finish";
            }
            return process.ExitCode == 0 ? null
                : stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? $"exit code {process.ExitCode}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return e.Message;
        }
    }

    private static bool IsUnder(string path, string directory)
    {
        var p = Path.GetFullPath(path).TrimEnd('/') + "/";
        var d = Path.GetFullPath(directory).TrimEnd('/') + "/";
        return p.StartsWith(d, StringComparison.Ordinal);
    }

    /// <summary>A program in the usual system folders, or null.</summary>
    internal static string? FindProgram(string name) =>
        new[] { "/usr/bin", "/bin", "/usr/sbin", "/sbin" }.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
