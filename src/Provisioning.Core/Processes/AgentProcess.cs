using Provisioning.Core.Execution;

namespace Provisioning.Core.Processes;

/// <summary>Where an experiment process is in its life, as its supervisor on the host recorded it.</summary>
public enum AgentProcessState
{
    /// <summary>Not known: the host could not be asked (see the result's error).</summary>
    Unknown,
    /// <summary>Running now.</summary>
    Running,
    /// <summary>Ended by itself; <see cref="AgentProcess.ExitCode"/> says how.</summary>
    Exited,
    /// <summary>Stopped by Stop-AgentProcess (or -Force replacing it).</summary>
    Killed,
    /// <summary>Killed after its -TimeoutSec.</summary>
    TimedOut,
    /// <summary>Between two runs: it ended and its restart policy starts it again after the delay.</summary>
    Restarting,
}

/// <summary>One named experiment process on one host (what Start-, Get-, Stop- and Wait-AgentProcess return).</summary>
public sealed record AgentProcess : HostOutcome
{
    /// <summary>The process's name, unique on its host (the <c>-Name</c> it was started with).</summary>
    public required string ProcessName { get; init; }
    /// <summary>Where it is in its life.</summary>
    public AgentProcessState State { get; init; }
    /// <summary>The exit code of its last run that ended; null while the first run goes on.</summary>
    public int? ExitCode { get; init; }
    /// <summary>The pid of its current (or last) run on the host.</summary>
    public int? Pid { get; init; }
    /// <summary>When its current (or last) run started.</summary>
    public DateTimeOffset? StartedAt { get; init; }
    /// <summary>When its last run ended; null while it runs.</summary>
    public DateTimeOffset? EndedAt { get; init; }
    /// <summary>How long the current run has been going (or the last run went).</summary>
    public TimeSpan? Uptime => StartedAt is { } s ? (EndedAt ?? DateTimeOffset.Now) - s : null;
    /// <summary>How many times its supervisor restarted it.</summary>
    public int Restarts { get; init; }
    /// <summary>The number of its current (or last) run, from 1.</summary>
    public int Run { get; init; }
    /// <summary>The host's log of the run's standard output.</summary>
    public string? StdoutPath { get; init; }
    /// <summary>The host's log of the run's standard error.</summary>
    public string? StderrPath { get; init; }
    /// <summary>The first lines of the run's standard error when it ended with a non-zero code (the reason, usually).</summary>
    public string? StderrHead { get; init; }
    /// <summary>True while it runs or waits to be restarted.</summary>
    public bool IsActive => State is AgentProcessState.Running or AgentProcessState.Restarting;

    /// <inheritdoc />
    public override string ToString() => $"{Machine.Name}/{ProcessName}: {State}{(ExitCode is { } c ? $" ({c})" : "")}";
}

/// <summary>Which log of a process a line comes from.</summary>
public enum AgentProcessStream
{
    /// <summary>Standard output.</summary>
    Stdout,
    /// <summary>Standard error.</summary>
    Stderr,
}

/// <summary>One line of an experiment process's log, as Receive-AgentProcessOutput reads or follows it.</summary>
public sealed record AgentProcessOutputLine : HostOutcome
{
    /// <summary>The process's name.</summary>
    public required string Process { get; init; }
    /// <summary>The log it comes from.</summary>
    public AgentProcessStream Stream { get; init; }
    /// <summary>The line, without its line break.</summary>
    public required string Line { get; init; }
    /// <summary>When the controller received it.</summary>
    public DateTimeOffset Time { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"{Machine.Name}/{Process} {Stream}: {Line}";
}
