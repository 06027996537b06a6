using Provisioning.Core.Execution;

namespace Provisioning.Core.Transfer;

/// <summary>
/// One file fetched from one host, checked against the SHA-256 the host computed. A failure of a whole host
/// (unreachable, nothing matched) yields one result whose <see cref="RemotePath"/> is the rendered pattern and
/// whose <see cref="LocalPath"/> is null.
/// </summary>
public sealed record ExperimentResult : HostOutcome
{
    /// <summary>The file's path on the host, as its shell named it (relative paths are under its working directory).</summary>
    public required string RemotePath { get; init; }
    /// <summary>Where the file now is on the controller; null when it was not fetched.</summary>
    public string? LocalPath { get; init; }
    /// <summary>Size in bytes.</summary>
    public long Length { get; init; }
    /// <summary>SHA-256, lowercase hex (verified against the host's); empty when not fetched.</summary>
    public string Sha256 { get; init; } = "";
    /// <summary>The journal run (its id), under the name the experiment bookkeeping uses; same as <see cref="HostOutcome.RunId"/>.</summary>
    public long? Run => RunId;

    /// <inheritdoc />
    public override string ToString() => $"{Machine.Name}: {RemotePath} -> {LocalPath ?? Status.ToString()}";
}
