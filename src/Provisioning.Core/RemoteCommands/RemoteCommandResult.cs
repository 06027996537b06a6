using Provisioning.Core.Execution;

namespace Provisioning.Core.RemoteCommands;

/// <summary>What one host did with one <c>Invoke-RemoteCommand</c>.</summary>
public sealed record RemoteCommandResult : HostOutcome
{
    /// <summary>The command as rendered for this host (the template when rendering failed).</summary>
    public required string Command { get; init; }
    /// <summary>Remote exit code; null when the command did not run to completion.</summary>
    public int? ExitCode { get; init; }
    /// <summary>Standard output.</summary>
    public string Stdout { get; init; } = "";
    /// <summary>Standard error.</summary>
    public string Stderr { get; init; } = "";
    /// <summary>True when output was cut at the in-memory limit.</summary>
    public bool OutputTruncated { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"{Machine.Name}: {Status} ({ExitCode?.ToString() ?? "-"})";
}
