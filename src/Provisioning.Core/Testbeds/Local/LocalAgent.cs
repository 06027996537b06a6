using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;

namespace Provisioning.Core.Testbeds.Local;

/// <summary>One sshd of a Local testbed: its address, its files under <c>state/agents/name</c> and its process.</summary>
[SupportedOSPlatform("linux")]
internal sealed class LocalAgent
{
    /// <summary>Lays out the agent's folder names; nothing is created yet.</summary>
    public LocalAgent(string name, string address, int port, string directory, string rootDirectory)
    {
        Name = name;
        Address = address;
        Port = port;
        Directory = directory;
        RootDirectory = rootDirectory;
    }

    /// <summary>agent-1, agent-2, ...</summary>
    public string Name { get; }
    /// <summary>Its own loopback address.</summary>
    public string Address { get; }
    /// <summary>The port sshd listens on.</summary>
    public int Port { get; }
    /// <summary>The agent's state folder.</summary>
    public string Directory { get; }
    /// <summary>Generated sshd_config.</summary>
    public string ConfigPath => Path.Combine(Directory, "sshd_config");
    /// <summary>The agent's private ed25519 host key (its public half is next to it, <c>.pub</c>).</summary>
    public string HostKeyPath => Path.Combine(Directory, "ssh_host_ed25519_key");
    /// <summary>sshd writes its pid here once it listens.</summary>
    public string PidFilePath => Path.Combine(Directory, "sshd.pid");
    /// <summary>sshd's log (-E), also its stderr.</summary>
    public string LogPath => Path.Combine(Directory, "sshd.log");
    /// <summary>The agent's working directory (its machine's WorkDir).</summary>
    public string WorkDirectory => Path.Combine(Directory, "work");
    /// <summary>The clean home mounted over the login user's home when the agent has its own namespaces.</summary>
    public string HomeDirectory => Path.Combine(Directory, "home");
    /// <summary>
    /// The agent's private root, outside its state folder (the agent sees that folder, and must never see the layers
    /// of its own overlay): <c>upper</c> (what the agent changed), <c>work</c> (overlayfs's) and <c>merged</c> (its /).
    /// </summary>
    public string RootDirectory { get; }
    /// <summary>The overlay's upper layer: every file the agent wrote or changed.</summary>
    public string UpperDirectory => Path.Combine(RootDirectory, "upper");
    /// <summary>overlayfs's work folder.</summary>
    public string OverlayWorkDirectory => Path.Combine(RootDirectory, "work");
    /// <summary>Where the agent's root is mounted, in its own mount namespace only.</summary>
    public string MergedDirectory => Path.Combine(RootDirectory, "merged");
    /// <summary>
    /// The pid sshd writes to its pid file once it listens: its own pid, or 1 when it is PID 1 of a namespace of
    /// its own (then the listener we started is the namespace's parent).
    /// </summary>
    public int? PidInOwnNamespace { get; set; }
    /// <summary>The running sshd (the listener), once started.</summary>
    public Process? Process { get; set; }
    /// <summary>The listener's pid, once started.</summary>
    public int? ProcessId { get; set; }

    /// <summary>
    /// True once sshd wrote its pid file, which it does only after binding its listen socket. Throws when the
    /// process already exited, so a failed agent is reported at once rather than after the timeout.
    /// </summary>
    public bool IsListening()
    {
        if (Process is null) return false;
        try
        {
            var text = File.ReadAllText(PidFilePath).Trim();
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid == (PidInOwnNamespace ?? ProcessId)) return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        if (Process.HasExited) throw new AgentStartException(this, $"sshd exited with code {Process.ExitCode}");
        return false;
    }

    /// <summary>The last lines of the sshd log, for error messages.</summary>
    public string LogTail(int lines = 8)
    {
        try
        {
            var all = File.ReadAllLines(LogPath);
            var tail = all.Skip(Math.Max(0, all.Length - lines)).Select(l => "  " + l);
            return all.Length == 0 ? "  (sshd log is empty)" : string.Join(Environment.NewLine, tail);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "  (no sshd log: " + e.Message + ")";
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Address}:{Port})";
}

/// <summary>An agent that did not come up; carries the agent so the provider can quote its log.</summary>
[SupportedOSPlatform("linux")]
internal sealed class AgentStartException(LocalAgent agent, string reason) : Exception($"{agent}: {reason}")
{
    /// <summary>The agent that failed.</summary>
    public LocalAgent Agent { get; } = agent;
    /// <summary>Why, without the agent prefix.</summary>
    public string Reason { get; } = reason;
}
