namespace Provisioning.Core.Processes;

/// <summary>When the supervisor starts a process again after it ended.</summary>
public enum AgentProcessRestart
{
    /// <summary>Run once.</summary>
    Never,
    /// <summary>Again when it exits non-zero (or is killed by a signal), up to the maximum.</summary>
    OnFailure,
    /// <summary>Again whenever it ends, up to the maximum (a daemon that should always run).</summary>
    Always,
}

/// <summary>What <see cref="AgentProcesses.Start"/> starts on each host.</summary>
public sealed class ProcessStartSpec
{
    /// <summary>The process name, unique per host: letters, digits, '.', '_' and '-'.</summary>
    public required string Name { get; init; }
    /// <summary>The command template (POSIX sh), rendered per host like Invoke-RemoteCommand's.</summary>
    public required string Command { get; init; }
    /// <summary>The working directory template; null: the machine's working directory (or the login directory).</summary>
    public string? WorkingDirectory { get; init; }
    /// <summary>Environment variables of the process (names are shell identifiers; values are templates).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
    /// <summary>Extra template variables (-Variable).</summary>
    public IReadOnlyDictionary<string, object?>? Variables { get; init; }
    /// <summary>Kill the run after this long; null: no limit.</summary>
    public TimeSpan? Timeout { get; init; }
    /// <summary>The restart policy.</summary>
    public AgentProcessRestart Restart { get; init; } = AgentProcessRestart.Never;
    /// <summary>At most this many restarts.</summary>
    public int MaxRestarts { get; init; } = 3;
    /// <summary>The pause before a restart.</summary>
    public TimeSpan RestartDelay { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Run the command through <c>sudo -n</c> (no effect for a root login).</summary>
    public bool Sudo { get; init; }
    /// <summary>Replace a process of the same name that still runs (it is stopped first).</summary>
    public bool Force { get; init; }
    /// <summary>With <see cref="Force"/>: how long the old process gets between TERM and KILL.</summary>
    public TimeSpan ForceGrace { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Hosts in flight at once.</summary>
    public int ThrottleLimit { get; init; } = Execution.FanOut.DefaultThrottleLimit;
}

/// <summary>Which processes Get-, Stop-, Wait-AgentProcess and Receive-AgentProcessOutput work on, per host.</summary>
public sealed class ProcessSelection
{
    /// <summary>Name patterns (sh globs: <c>*</c>, <c>?</c>, <c>[...]</c>) for every host.</summary>
    public IReadOnlyList<string> Names { get; init; } = ["*"];
    /// <summary>Patterns for particular hosts (processes piped in), used instead of <see cref="Names"/> for them.</summary>
    public IReadOnlyDictionary<Testbeds.AgentMachine, IReadOnlyList<string>>? PerMachine { get; init; }
    /// <summary>Hosts in flight at once.</summary>
    public int ThrottleLimit { get; init; } = Execution.FanOut.DefaultThrottleLimit;

    /// <summary>The patterns for <paramref name="machine"/>.</summary>
    public IReadOnlyList<string> For(Testbeds.AgentMachine machine) =>
        PerMachine is not null && PerMachine.TryGetValue(machine, out var own) ? own : Names;
}
