using Provisioning.Core.Execution;

namespace Provisioning.Core.Transfer;

/// <summary>
/// What happened to one file on one host in a send. A failure that stops a whole host before any file is
/// considered (unreachable, template error) yields one result whose <see cref="Source"/> is the path given.
/// </summary>
public sealed record FileSendResult : HostOutcome
{
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

    /// <inheritdoc />
    public override string ToString() =>
        $"{Machine.Name}: {Destination} {(Succeeded ? Changed ? "changed" : "unchanged" : Status.ToString())}";
}
