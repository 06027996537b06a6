using Provisioning.Core.Errors;
using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Execution;

/// <summary>
/// One capability's per-host work (a command, a push, a fetch, a check), and only that: the
/// <see cref="HostOperationRunner"/> does the fan-out, the transport lookup, the fault mapping, the journal
/// stamping and the streaming for every operation alike. See <c>Execution/README.md</c> for adding one.
/// </summary>
/// <typeparam name="TResult">The capability's result type.</typeparam>
public abstract class HostOperation<TResult> where TResult : HostOutcome
{
    /// <summary>Creates an operation that runs on at most <paramref name="throttleLimit"/> hosts at once.</summary>
    protected HostOperation(int throttleLimit = FanOut.DefaultThrottleLimit)
    {
        if (throttleLimit < 1) throw new ArgumentOutOfRangeException(nameof(throttleLimit), "ThrottleLimit must be at least 1.");
        ThrottleLimit = throttleLimit;
    }

    /// <summary>Hosts in flight at once.</summary>
    public int ThrottleLimit { get; }

    /// <summary>
    /// What the operation would do on each host, rendered for it (for -WhatIf and -Confirm). Contacts no host.
    /// Throws <see cref="ProvisioningException"/> when the operation cannot run at all (a missing local file).
    /// </summary>
    public abstract IReadOnlyList<HostPlan> Plan(IReadOnlyList<AgentMachine> machines);

    /// <summary>
    /// Called once, on the caller's thread, before any host starts: local preparation shared by every host
    /// (resolve the local files, create the destination folder). Throwing here stops the whole operation.
    /// </summary>
    public virtual void Prepare(IReadOnlyList<AgentMachine> machines)
    {
    }

    /// <summary>
    /// The work on one host, returning its results (at least one). Failures the work can explain come back as
    /// results; anything it throws becomes a result through <see cref="Failure"/>, so one host never stops the others.
    /// </summary>
    public abstract Task<IReadOnlyList<TResult>> RunAsync(AgentMachine machine, ISshTransport transport, CancellationToken cancellationToken);

    /// <summary>Where <see cref="Partial"/> sends; set by the runner for each run.</summary>
    internal Action<HostBatch<TResult>>? PartialSink { get; set; }

    /// <summary>
    /// Streams results of a host that is still working (the lines of a log being followed), for operations whose host
    /// work lasts. They are not journaled; the host's final results still come from <see cref="RunAsync"/>.
    /// </summary>
    protected void Partial(AgentMachine machine, IReadOnlyList<TResult> results) =>
        PartialSink?.Invoke(new HostBatch<TResult>(machine, results, Final: false));

    /// <summary>The result of a host whose work could not run or threw, with the status and error already mapped.</summary>
    public abstract TResult Failure(AgentMachine machine, HostStatus status, HostError error, DateTimeOffset started);

    /// <summary>What the journal keeps of one result beyond the outcome itself; null when the operation is not journaled.</summary>
    public abstract JournalEntry? Journal(TResult result);
}

/// <summary>What an operation adds to the journal for one result; the runner adds the host, status, error and times.</summary>
public sealed class JournalEntry
{
    /// <summary>The step kind (<see cref="StepKinds"/>).</summary>
    public required string Kind { get; init; }
    /// <summary>The rendered command or the file (source -> destination).</summary>
    public string Detail { get; init; } = "";
    /// <summary>Exit code, when a command ran.</summary>
    public int? ExitCode { get; init; }
    /// <summary>Standard output (the journal caps it).</summary>
    public string Stdout { get; init; } = "";
    /// <summary>Standard error (the journal caps it).</summary>
    public string Stderr { get; init; } = "";
    /// <summary>True when the output was already cut before the journal saw it.</summary>
    public bool OutputTruncated { get; init; }
    /// <summary>A file brought home with this result, recorded with its hash.</summary>
    public ArtifactRecord? Artifact { get; init; }
}
