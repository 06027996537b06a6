using Provisioning.Core.Commands;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Transfer;

/// <summary>
/// What happened to one file on one host in a send. A failure that stops a whole host before any file is
/// considered (unreachable, template error) yields one result whose <see cref="Source"/> is the path given.
/// </summary>
public sealed record FileSendResult
{
    /// <summary>The host.</summary>
    public required AgentMachine Machine { get; init; }
    /// <summary>The host's name (lets results bind to <c>-Name</c> by property name).</summary>
    public string Name => Machine.Name;
    /// <summary>The local file sent (the path given, for a whole-host failure).</summary>
    public required string Source { get; init; }
    /// <summary>The remote path written (as rendered for this host; relative paths are under its working directory).</summary>
    public required string Destination { get; init; }
    /// <summary>Bytes of the content sent (after template rendering).</summary>
    public long Length { get; init; }
    /// <summary>SHA-256 of the content, lowercase hex; empty when unknown.</summary>
    public string Sha256 { get; init; } = "";
    /// <summary>False when the remote file already had this content (and mode), so nothing was written.</summary>
    public bool Changed { get; init; }
    /// <summary>Outcome for this file.</summary>
    public required HostStatus Status { get; init; }
    /// <summary>True when the file is in place (written or unchanged).</summary>
    public bool Succeeded => Status == HostStatus.Succeeded;
    /// <summary>Why it failed; null on success.</summary>
    public HostError? Error { get; init; }
    /// <summary>When the host's transfer started.</summary>
    public DateTimeOffset StartTime { get; init; }
    /// <summary>Time spent on this host's round trips (up to this file's outcome).</summary>
    public TimeSpan Duration { get; init; }
    /// <summary>The journal run this result belongs to, when journaled.</summary>
    public long? RunId { get; init; }
    /// <summary>The journal file that holds the run (<see cref="RunId"/>); null when the call kept no journal.</summary>
    public string? JournalPath { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Machine.Name}: {Destination} {(Succeeded ? Changed ? "changed" : "unchanged" : Status.ToString())}";
}
