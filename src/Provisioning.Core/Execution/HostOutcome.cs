using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Execution;

/// <summary>
/// What every result of a per-host operation says about its host, whatever the capability: which machine, how
/// it ended, why it failed, when, how long it took, and which journal run holds it.
/// </summary>
public interface IHostOutcome
{
    /// <summary>The host.</summary>
    AgentMachine Machine { get; }
    /// <summary>How the host's part ended.</summary>
    HostStatus Status { get; }
    /// <summary>True when <see cref="Status"/> is <see cref="HostStatus.Succeeded"/>.</summary>
    bool Succeeded { get; }
    /// <summary>Why the host failed; null when it succeeded.</summary>
    HostError? Error { get; }
    /// <summary>When the host's work started.</summary>
    DateTimeOffset StartTime { get; }
    /// <summary>How long it took.</summary>
    TimeSpan Duration { get; }
    /// <summary>The journal run this result belongs to; null when the call kept no journal.</summary>
    long? RunId { get; }
    /// <summary>The journal file that holds <see cref="RunId"/>; null when the call kept no journal.</summary>
    string? JournalPath { get; }
}

/// <summary>
/// The base of every result type: the <see cref="IHostOutcome"/> members, written once. A record, so the
/// operation runner can stamp the journal run on any result with <c>with</c> whatever its type.
/// </summary>
public abstract record HostOutcome : IHostOutcome
{
    /// <inheritdoc />
    public required AgentMachine Machine { get; init; }
    /// <summary>The host's name (lets results bind to <c>-Name</c> by property name).</summary>
    public string Name => Machine.Name;
    /// <inheritdoc />
    /// <remarks>Not <c>required</c>, so that a capability whose users think in its own states (a package's Installed or
    /// AlreadyPresent) may show them as <c>Status</c> over this one; it is then still read through the interface.</remarks>
    public HostStatus Status { get; init; }
    /// <inheritdoc />
    public bool Succeeded => Status == HostStatus.Succeeded;
    /// <inheritdoc />
    public HostError? Error { get; init; }
    /// <inheritdoc />
    public DateTimeOffset StartTime { get; init; }
    /// <inheritdoc />
    public TimeSpan Duration { get; init; }
    /// <inheritdoc />
    public long? RunId { get; init; }
    /// <inheritdoc />
    public string? JournalPath { get; init; }
}
