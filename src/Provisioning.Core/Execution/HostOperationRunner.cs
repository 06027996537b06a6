using System.Diagnostics;
using System.Threading.Channels;
using Provisioning.Core.Errors;
using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Execution;

/// <summary>
/// Runs a <see cref="HostOperation{TResult}"/> on every machine: bounded fan-out, each host's transport resolved
/// once, exceptions mapped to a status and an error once (<see cref="HostFailure"/>), every result stamped with
/// its journal run and journaled once, and each host's results streamed together as soon as it finishes.
/// </summary>
public static class HostOperationRunner
{
    /// <summary>
    /// Starts <paramref name="operation"/> on <paramref name="machines"/>. <paramref name="recorderFor"/> gives the
    /// journal run of each machine (one run per testbed), or null for none. The reader yields one batch per started
    /// host and completes when all of them have finished; after cancellation, hosts not yet started are not started.
    /// An operation that streams (<see cref="HostOperation{TResult}.Partial"/>) also yields batches that are not
    /// <see cref="HostBatch{TResult}.Final"/> while its hosts work.
    /// Throws only what <see cref="HostOperation{TResult}.Prepare"/> throws.
    /// </summary>
    public static ChannelReader<HostBatch<TResult>> Run<TResult>(
        IReadOnlyList<AgentMachine> machines,
        HostOperation<TResult> operation,
        Func<AgentMachine, IRunRecorder?>? recorderFor,
        CancellationToken cancellationToken)
        where TResult : HostOutcome
    {
        ArgumentNullException.ThrowIfNull(machines);
        ArgumentNullException.ThrowIfNull(operation);
        operation.Prepare(machines);
        var output = Channel.CreateUnbounded<HostBatch<TResult>>(new UnboundedChannelOptions { SingleReader = true });
        operation.PartialSink = batch => output.Writer.TryWrite(batch);
        FanOut.Run(
            machines,
            operation.ThrottleLimit,
            async (machine, ct) => Finish(machine, await RunHostAsync(machine, operation, ct).ConfigureAwait(false), operation, recorderFor?.Invoke(machine)),
            (machine, ex) => Finish(machine, [Fail(machine, operation, ex, DateTimeOffset.Now)], operation, recorderFor?.Invoke(machine)),
            output.Writer,
            cancellationToken);
        return output.Reader;
    }

    /// <summary>
    /// Runs <paramref name="operation"/> on <paramref name="machines"/>, journaling into <paramref name="recorder"/>
    /// (or nowhere), and streams the results one by one (for callers that do not count hosts: the benchmark, tests).
    /// </summary>
    public static ChannelReader<TResult> Stream<TResult>(
        this HostOperation<TResult> operation, IReadOnlyList<AgentMachine> machines, IRunRecorder? recorder, CancellationToken cancellationToken)
        where TResult : HostOutcome =>
        Run(machines, operation, recorder is null ? null : _ => recorder, cancellationToken).Flatten();

    /// <summary>The results of every batch, one by one (for callers that do not count hosts).</summary>
    public static ChannelReader<TResult> Flatten<TResult>(this ChannelReader<HostBatch<TResult>> batches) where TResult : HostOutcome
    {
        ArgumentNullException.ThrowIfNull(batches);
        var channel = Channel.CreateUnbounded<TResult>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (var batch in batches.ReadAllAsync().ConfigureAwait(false))
                    foreach (var item in batch.Results) channel.Writer.TryWrite(item);
                channel.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                channel.Writer.TryComplete(ex);
            }
        });
        return channel.Reader;
    }

    private static async Task<IReadOnlyList<TResult>> RunHostAsync<TResult>(AgentMachine machine, HostOperation<TResult> operation, CancellationToken ct)
        where TResult : HostOutcome
    {
        var started = DateTimeOffset.Now;
        var clock = Stopwatch.StartNew();
        if (machine.Testbed?.Transport is not { } transport)
        {
            return [operation.Failure(machine, HostStatus.Failed,
                new HostError(ErrorKind.TestbedNotFound, $"{machine.Name}: the machine does not belong to a testbed, so nothing can reach it."), started)];
        }
        try
        {
            // An empty list is a host with nothing to report (no process of that name, say), not a failure.
            return await operation.RunAsync(machine, transport, ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            return [(TResult)(Fail(machine, operation, ex, started) with { Duration = clock.Elapsed })];
        }
    }

    private static TResult Fail<TResult>(AgentMachine machine, HostOperation<TResult> operation, Exception ex, DateTimeOffset started)
        where TResult : HostOutcome
    {
        var (status, error) = HostFailure.FromException(machine, ex);
        return operation.Failure(machine, status, error, started);
    }

    private static HostBatch<TResult> Finish<TResult>(AgentMachine machine, IReadOnlyList<TResult> results, HostOperation<TResult> operation, IRunRecorder? recorder)
        where TResult : HostOutcome
    {
        if (recorder is null) return new HostBatch<TResult>(machine, results);
        var stamped = new TResult[results.Count];
        for (var i = 0; i < results.Count; i++)
        {
            var result = stamped[i] = (TResult)(results[i] with { RunId = recorder.RunId, JournalPath = recorder.JournalPath });
            if (operation.Journal(result) is not { } entry) continue;
            recorder.RecordStep(new StepRecord
            {
                RunId = recorder.RunId,
                Name = result.Machine.Name,
                Address = result.Machine.Address,
                Step = entry.Kind,
                Detail = entry.Detail,
                ExitCode = entry.ExitCode,
                Stdout = entry.Stdout,
                Stderr = entry.Stderr,
                OutputTruncated = entry.OutputTruncated,
                StartTime = result.StartTime,
                Duration = result.Duration,
                Status = result.Status.ToString(),
                Error = result.Error?.Message,
            });
            if (entry.Artifact is { } artifact) recorder.RecordArtifact(artifact);
        }
        return new HostBatch<TResult>(machine, stamped);
    }
}
