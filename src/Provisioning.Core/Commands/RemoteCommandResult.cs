using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Commands;

/// <summary>Per-host status of a command or step.</summary>
public enum HostStatus
{
    /// <summary>Ran and exited 0.</summary>
    Succeeded,
    /// <summary>Ran and exited non-zero.</summary>
    Failed,
    /// <summary>Killed after its timeout.</summary>
    TimedOut,
    /// <summary>Could not connect (or the connection dropped).</summary>
    Unreachable,
    /// <summary>Stopped by Ctrl+C before it finished.</summary>
    Cancelled,
    /// <summary>Not run: its template could not be rendered for this host.</summary>
    TemplateError,
}

/// <summary>What one host did with one <c>Invoke-RemoteCommand</c>.</summary>
public sealed class RemoteCommandResult
{
    /// <summary>The host.</summary>
    public required AgentMachine Machine { get; init; }
    /// <summary>The host's name (lets results bind to <c>-Name</c> by property name).</summary>
    public string Name => Machine.Name;
    /// <summary>The command as rendered for this host (the template when rendering failed).</summary>
    public required string Command { get; init; }
    /// <summary>Remote exit code; null when the command did not run to completion.</summary>
    public int? ExitCode { get; init; }
    /// <summary>Standard output.</summary>
    public string Stdout { get; init; } = "";
    /// <summary>Standard error.</summary>
    public string Stderr { get; init; } = "";
    /// <summary>When the command started.</summary>
    public DateTimeOffset StartTime { get; init; }
    /// <summary>How long it took.</summary>
    public TimeSpan Duration { get; init; }
    /// <summary>Outcome.</summary>
    public required HostStatus Status { get; init; }
    /// <summary>True when the command exited 0.</summary>
    public bool Succeeded => Status == HostStatus.Succeeded;
    /// <summary>True when output was cut at the in-memory limit.</summary>
    public bool OutputTruncated { get; init; }
    /// <summary>The error for a host that did not succeed; null otherwise.</summary>
    public HostError? Error { get; init; }
    /// <summary>The journal run this result belongs to, when journaled.</summary>
    public long? RunId { get; init; }
    /// <summary>The journal file that holds the run (<see cref="RunId"/>); null when the call kept no journal.</summary>
    public string? JournalPath { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"{Machine.Name}: {Status} ({ExitCode?.ToString() ?? "-"})";
}
