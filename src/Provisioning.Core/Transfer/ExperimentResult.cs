using Provisioning.Core.Commands;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Transfer;

/// <summary>
/// One file fetched from one host, checked against the SHA-256 the host computed. A failure of a whole host
/// (unreachable, nothing matched) yields one result whose <see cref="RemotePath"/> is the rendered pattern and
/// whose <see cref="LocalPath"/> is null.
/// </summary>
public sealed record ExperimentResult
{
    /// <summary>The host.</summary>
    public required AgentMachine Machine { get; init; }
    /// <summary>The host's name (lets results bind to <c>-Name</c> by property name).</summary>
    public string Name => Machine.Name;
    /// <summary>The file's path on the host, as its shell named it (relative paths are under its working directory).</summary>
    public required string RemotePath { get; init; }
    /// <summary>Where the file now is on the controller; null when it was not fetched.</summary>
    public string? LocalPath { get; init; }
    /// <summary>Size in bytes.</summary>
    public long Length { get; init; }
    /// <summary>SHA-256, lowercase hex (verified against the host's); empty when not fetched.</summary>
    public string Sha256 { get; init; } = "";
    /// <summary>Outcome.</summary>
    public required HostStatus Status { get; init; }
    /// <summary>True when the file was fetched and verified.</summary>
    public bool Succeeded => Status == HostStatus.Succeeded;
    /// <summary>Why it failed; null on success.</summary>
    public HostError? Error { get; init; }
    /// <summary>When the host's transfer started.</summary>
    public DateTimeOffset StartTime { get; init; }
    /// <summary>Time the host's transfer took.</summary>
    public TimeSpan Duration { get; init; }
    /// <summary>The journal run this result belongs to, when journaled.</summary>
    public long? RunId { get; init; }
    /// <summary>The journal file that holds the run (<see cref="RunId"/>); null when the call kept no journal.</summary>
    public string? JournalPath { get; init; }
    /// <summary>The journal run (its id), under the name the experiment bookkeeping uses; same as <see cref="RunId"/>.</summary>
    public long? Run => RunId;

    /// <inheritdoc />
    public override string ToString() => $"{Machine.Name}: {RemotePath} -> {LocalPath ?? Status.ToString()}";
}
