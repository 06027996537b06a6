using System.Diagnostics;
using System.Threading.Channels;
using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Reachability;

/// <summary>
/// Checks that machines answer over SSH (opening their master connections on the way) and streams one
/// <see cref="AgentMachineStatus"/> per machine. Each check is a <see cref="HostOperation{TResult}"/> run by the
/// <see cref="HostOperationRunner"/>; with <see cref="ReachabilityOptions.Wait"/> it polls, in rounds, only the
/// machines still failing, and reports each one as soon as it answers.
/// </summary>
public static class ReachabilityProbe
{
    /// <summary>
    /// Starts the checks. The reader yields exactly one batch (of one status) per machine, fewer only after
    /// cancellation, when unstarted hosts are reported as cancelled, and completes when all are reported.
    /// </summary>
    public static ChannelReader<HostBatch<AgentMachineStatus>> Start(
        IReadOnlyList<AgentMachine> machines,
        ReachabilityOptions options,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(machines);
        ArgumentNullException.ThrowIfNull(options);
        if (options.ThrottleLimit < 1) throw new ArgumentOutOfRangeException(nameof(options), "ThrottleLimit must be at least 1.");
        if (options.Timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), "Timeout must be positive.");

        if (!options.Wait)
            return HostOperationRunner.Run(machines, new CheckOperation(options.ThrottleLimit, options.Timeout, 1), null, cancellationToken);

        var output = Channel.CreateUnbounded<HostBatch<AgentMachineStatus>>(new UnboundedChannelOptions { SingleReader = true });
        _ = Task.Run(() => PollAsync(machines, options, output.Writer, cancellationToken), CancellationToken.None);
        return output.Reader;
    }

    /// <summary>A single check of each host with <paramref name="options"/>' limits (for plans; <see cref="Start"/> also polls).</summary>
    public static HostOperation<AgentMachineStatus> Operation(ReachabilityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new CheckOperation(options.ThrottleLimit, options.Timeout, 1);
    }

    /// <summary><see cref="Start"/>, one status at a time.</summary>
    public static ChannelReader<AgentMachineStatus> Run(IReadOnlyList<AgentMachine> machines, ReachabilityOptions options, CancellationToken cancellationToken) =>
        Start(machines, options, cancellationToken).Flatten();

    private static async Task PollAsync(
        IReadOnlyList<AgentMachine> machines,
        ReachabilityOptions options,
        ChannelWriter<HostBatch<AgentMachineStatus>> output,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var pending = machines.Distinct().ToList();
        var lastFailure = new Dictionary<AgentMachine, AgentMachineStatus>();
        var attempt = 0;
        try
        {
            while (pending.Count > 0 && !cancellationToken.IsCancellationRequested)
            {
                var left = options.Timeout - clock.Elapsed;
                if (left <= TimeSpan.Zero) break;
                attempt++;
                var answered = new HashSet<AgentMachine>();
                var round = HostOperationRunner.Run(pending, new CheckOperation(options.ThrottleLimit, left, attempt), null, cancellationToken);
                await foreach (var batch in round.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    var status = batch.Results[0];
                    if (status.Reachable)
                    {
                        answered.Add(status.Machine);
                        output.TryWrite(batch);
                    }
                    else
                    {
                        lastFailure[status.Machine] = status;
                    }
                }
                // Keep testbed order; hosts the round never started (cancellation) stay pending.
                pending = pending.Where(m => !answered.Contains(m)).ToList();
                if (pending.Count == 0) break;

                var pause = options.PollInterval < options.Timeout - clock.Elapsed ? options.PollInterval : options.Timeout - clock.Elapsed;
                if (pause <= TimeSpan.Zero) break;
                try
                {
                    await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            foreach (var machine in pending)
                output.TryWrite(new HostBatch<AgentMachineStatus>(machine,
                    [GaveUp(machine, lastFailure.GetValueOrDefault(machine), attempt, clock.Elapsed, cancellationToken.IsCancellationRequested)]));
            output.TryComplete();
        }
        catch (Exception ex)
        {
            output.TryComplete(ex);
        }
    }

    private static AgentMachineStatus GaveUp(AgentMachine machine, AgentMachineStatus? last, int attempts, TimeSpan waited, bool cancelled)
    {
        if (cancelled && last is null)
            return Failed(machine, new HostError(ErrorKind.Cancelled, $"{machine.Name}: the check was cancelled."), attempts, TimeSpan.Zero);
        var reason = last?.Error?.Message ?? HostFailure.Unreachable(machine, null, null).Message;
        return Failed(machine, new HostError(last?.Error?.Kind ?? ErrorKind.HostUnreachable,
            $"{reason} (gave up after {attempts} attempt(s) in {waited.TotalSeconds:0.#} s)"), attempts, last?.ConnectTime ?? TimeSpan.Zero) with
        {
            CheckedAt = last?.CheckedAt ?? DateTimeOffset.Now,
        };
    }

    private static AgentMachineStatus Failed(AgentMachine machine, HostError error, int attempt, TimeSpan connectTime) => new()
    {
        Machine = machine,
        Status = HostFailure.StatusOf(error.Kind),
        Error = error,
        Attempts = attempt,
        ConnectTime = connectTime,
        StartTime = DateTimeOffset.Now,
    };

    /// <summary>One check of one host, bounded by the time the round has left. Not journaled.</summary>
    private sealed class CheckOperation(int throttleLimit, TimeSpan limit, int attempt) : HostOperation<AgentMachineStatus>(throttleLimit)
    {
        public override IReadOnlyList<HostPlan> Plan(IReadOnlyList<AgentMachine> machines) =>
            machines.Select(m => new HostPlan(m, "Check that it answers over SSH")).ToArray();

        public override async Task<IReadOnlyList<AgentMachineStatus>> RunAsync(AgentMachine machine, ISshTransport transport, CancellationToken cancellationToken)
        {
            var started = DateTimeOffset.Now;
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bounded.CancelAfter(limit);
            try
            {
                var check = await transport.ConnectAsync(machine, bounded.Token).ConfigureAwait(false);
                if (!check.Reachable)
                    return [Failed(machine, HostFailure.Unreachable(machine, check.FailureKind, check.FailureMessage), attempt, check.ConnectTime) with { StartTime = started }];
                return [new AgentMachineStatus
                {
                    Machine = machine,
                    Status = HostStatus.Succeeded,
                    Latency = check.Latency,
                    ConnectTime = check.ConnectTime,
                    Attempts = attempt,
                    StartTime = started,
                    Duration = DateTimeOffset.Now - started,
                }];
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Our own bound ran out, not the caller's token: the host is slow or silent.
                return [Failed(machine, HostFailure.Unreachable(machine, ErrorKind.HostUnreachable, $"no answer within {limit.TotalSeconds:0.###} s."), attempt, limit)
                    with { StartTime = started }];
            }
        }

        public override AgentMachineStatus Failure(AgentMachine machine, HostStatus status, HostError error, DateTimeOffset started) =>
            Failed(machine, error, attempt, TimeSpan.Zero) with { StartTime = started };

        public override JournalEntry? Journal(AgentMachineStatus result) => null;
    }
}
