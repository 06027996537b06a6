namespace Provisioning.Core.Journal;

/// <summary>State of a journaled run.</summary>
public enum RunStatus
{
    /// <summary>Still running (or the session died without closing it).</summary>
    Running,
    /// <summary>Every host succeeded.</summary>
    Succeeded,
    /// <summary>Finished; at least one host failed.</summary>
    Failed,
    /// <summary>Stopped by Ctrl+C (or a crash noticed later).</summary>
    Interrupted,
}

/// <summary>One row per cmdlet call in the journal.</summary>
public sealed class ExperimentRun
{
    /// <summary>Run id (journal-wide, increasing).</summary>
    public required long Id { get; init; }
    /// <summary>The cmdlet that made the run (Invoke-RemoteCommand, Send-AgentFile, ...).</summary>
    public required string Cmdlet { get; init; }
    /// <summary>Bound parameters as JSON, secrets redacted.</summary>
    public string Parameters { get; init; } = "{}";
    /// <summary>Testbed name.</summary>
    public string Testbed { get; init; } = "";
    /// <summary>User that ran it.</summary>
    public string User { get; init; } = "";
    /// <summary>Start time.</summary>
    public DateTimeOffset StartTime { get; init; }
    /// <summary>End time; null while running.</summary>
    public DateTimeOffset? EndTime { get; init; }
    /// <summary>Status.</summary>
    public RunStatus Status { get; init; }
    /// <summary>Hosts the run targeted.</summary>
    public int HostCount { get; init; }
    /// <summary>Steps recorded so far (one per host and step).</summary>
    public int StepCount { get; init; }
    /// <summary>Recorded steps whose status is not Succeeded.</summary>
    public int FailedStepCount { get; init; }
    /// <summary>Path of the journal the run is in (so piped runs find their journal).</summary>
    public string JournalPath { get; init; } = "";

    /// <inheritdoc />
    public override string ToString() => $"#{Id} {Cmdlet} {Status}";
}

/// <summary>One row per host and step of a run.</summary>
public sealed class StepRecord
{
    /// <summary>The run.</summary>
    public long RunId { get; init; }
    /// <summary>The journal file the step was read from.</summary>
    public string JournalPath { get; init; } = "";
    /// <summary>Host name (binds to Get-AgentMachine -Name by property name).</summary>
    public required string Name { get; init; }
    /// <summary>Host address.</summary>
    public string Address { get; init; } = "";
    /// <summary>Kind of step: command, send, fetch.</summary>
    public required string Step { get; init; }
    /// <summary>The rendered command or the file (source -> destination).</summary>
    public string Detail { get; init; } = "";
    /// <summary>Exit code, when a command ran.</summary>
    public int? ExitCode { get; init; }
    /// <summary>Standard output, capped at <see cref="OutputCapBytes"/>.</summary>
    public string Stdout { get; init; } = "";
    /// <summary>Standard error, capped at <see cref="OutputCapBytes"/>.</summary>
    public string Stderr { get; init; } = "";
    /// <summary>The cap applied to each of stdout and stderr.</summary>
    public int OutputCapBytes { get; init; }
    /// <summary>True when stdout or stderr was cut at the cap.</summary>
    public bool OutputTruncated { get; init; }
    /// <summary>Start time.</summary>
    public DateTimeOffset StartTime { get; init; }
    /// <summary>Duration.</summary>
    public TimeSpan Duration { get; init; }
    /// <summary>Outcome (a <see cref="Execution.HostStatus"/> name).</summary>
    public required string Status { get; init; }
    /// <summary>Error message when it failed.</summary>
    public string? Error { get; init; }
    /// <summary>True when the step succeeded.</summary>
    public bool Succeeded => Status == nameof(Execution.HostStatus.Succeeded);
}

/// <summary>A file fetched home and recorded with its hash.</summary>
public sealed class ArtifactRecord
{
    /// <summary>The run.</summary>
    public long RunId { get; init; }
    /// <summary>Host name.</summary>
    public required string Name { get; init; }
    /// <summary>Path on the host.</summary>
    public required string RemotePath { get; init; }
    /// <summary>Path on the controller.</summary>
    public required string LocalPath { get; init; }
    /// <summary>Size in bytes.</summary>
    public long Length { get; init; }
    /// <summary>SHA-256, lowercase hex.</summary>
    public required string Sha256 { get; init; }
}

/// <summary>
/// Records one run while it happens. Steps are written as hosts finish (cheaply: batched off the caller's
/// thread), so an interrupted run keeps what finished.
/// </summary>
public interface IRunRecorder : IAsyncDisposable
{
    /// <summary>The run's id.</summary>
    long RunId { get; }
    /// <summary>The journal file the run is recorded in, so results can lead back to it.</summary>
    string JournalPath { get; }
    /// <summary>Queues a step; never blocks on the database.</summary>
    void RecordStep(StepRecord step);
    /// <summary>Queues an artifact.</summary>
    void RecordArtifact(ArtifactRecord artifact);
    /// <summary>Writes everything queued and closes the run with <paramref name="status"/>.</summary>
    Task CompleteAsync(RunStatus status, CancellationToken cancellationToken = default);
}

/// <summary>A scheduler allocation (Slurm job) that a testbed of this journal held.</summary>
public sealed class AllocationRecord
{
    /// <summary>The testbed's name.</summary>
    public required string Testbed { get; init; }
    /// <summary>The provider (Slurm).</summary>
    public required string Provider { get; init; }
    /// <summary>The scheduler's job id.</summary>
    public required string JobId { get; init; }
    /// <summary>How many nodes it had.</summary>
    public int Nodes { get; init; }
    /// <summary>True when the testbed allocated it; false when it attached to an allocation of someone else's.</summary>
    public bool Owned { get; init; }
    /// <summary>When the testbed took it.</summary>
    public DateTimeOffset StartTime { get; init; }
    /// <summary>When the testbed released it; null while held, or for an allocation it attached to.</summary>
    public DateTimeOffset? ReleaseTime { get; init; }
}
