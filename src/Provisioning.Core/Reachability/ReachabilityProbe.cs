using System.Diagnostics;
using System.Threading.Channels;
using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Reachability;

/// <summary>
/// Checks that machines answer over SSH (opening their master connections on the way) and streams one
/// <see cref="AgentMachineStatus"/> per machine. With <see cref="ReachabilityOptions.Wait"/> it polls, in rounds,
/// only the machines still failing, and reports each one as soon as it answers.
/// </summary>
public static class ReachabilityProbe
{
    /// <summary>
    /// Starts the checks. The reader yields exactly one status per machine (fewer only after cancellation,
    /// when unstarted hosts are reported as cancelled) and completes when all are reported.
    /// </summary>
    public static ChannelReader<AgentMachineStatus> Run(
        IReadOnlyList<AgentMachine> machines,
        ReachabilityOptions options,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(machines);
        ArgumentNullException.ThrowIfNull(options);
        if (options.ThrottleLimit < 1) throw new ArgumentOutOfRangeException(nameof(options), "ThrottleLimit must be at least 1.");
        if (options.Timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), "Timeout must be positive.");

        if (!options.Wait)
        {
            return FanOut.Run(
                machines,
                options.ThrottleLimit,
                (machine, ct) => CheckOnceAsync(machine, options.Timeout, 1, ct),
                (machine, ex) => Fault(machine, ex, 1),
                cancellationToken);
        }

        var output = Channel.CreateUnbounded<AgentMachineStatus>(new UnboundedChannelOptions { SingleReader = true });
        _ = Task.Run(() => PollAsync(machines, options, output.Writer, cancellationToken), CancellationToken.None);
        return output.Reader;
    }

    private static async Task PollAsync(
        IReadOnlyList<AgentMachine> machines,
        ReachabilityOptions options,
        ChannelWriter<AgentMachineStatus> output,
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
                var round = attempt;
                var answered = new HashSet<AgentMachine>();
                var results = FanOut.Run(
                    pending,
                    options.ThrottleLimit,
                    (machine, ct) => CheckOnceAsync(machine, left, round, ct),
                    (machine, ex) => Fault(machine, ex, round),
                    cancellationToken);
                await foreach (var status in results.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    if (status.Reachable)
                    {
                        answered.Add(status.Machine);
                        output.TryWrite(status);
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
                output.TryWrite(GaveUp(machine, lastFailure.GetValueOrDefault(machine), attempt, clock.Elapsed, cancellationToken.IsCancellationRequested));
            output.TryComplete();
        }
        catch (Exception ex)
        {
            output.TryComplete(ex);
        }
    }

    private static async Task<AgentMachineStatus> CheckOnceAsync(AgentMachine machine, TimeSpan limit, int attempt, CancellationToken cancellationToken)
    {
        var transport = machine.Testbed?.Transport
            ?? throw new ProvisioningException(ErrorKind.TestbedNotFound, $"Machine '{machine.Name}' does not belong to a testbed.", machine);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(limit);
        try
        {
            var check = await transport.ConnectAsync(machine, bounded.Token).ConfigureAwait(false);
            return new AgentMachineStatus
            {
                Machine = machine,
                Reachable = check.Reachable,
                Latency = check.Reachable ? check.Latency : null,
                ConnectTime = check.ConnectTime,
                Attempts = attempt,
                Error = check.Reachable
                    ? null
                    : new HostError(check.FailureKind ?? ErrorKind.HostUnreachable,
                        $"{Describe(machine)} is unreachable: {check.FailureMessage ?? "no reason given"}"),
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Our own bound ran out, not the caller's token: the host is slow or silent.
            return new AgentMachineStatus
            {
                Machine = machine,
                Reachable = false,
                ConnectTime = limit,
                Attempts = attempt,
                Error = new HostError(ErrorKind.HostUnreachable,
                    $"{Describe(machine)} is unreachable: no answer within {limit.TotalSeconds:0.###} s."),
            };
        }
    }

    private static AgentMachineStatus GaveUp(AgentMachine machine, AgentMachineStatus? last, int attempts, TimeSpan waited, bool cancelled)
    {
        if (cancelled && last is null)
        {
            return new AgentMachineStatus
            {
                Machine = machine,
                Reachable = false,
                Attempts = attempts,
                Error = new HostError(ErrorKind.Cancelled, $"{machine.Name}: the check was cancelled."),
            };
        }
        var reason = last?.Error?.Message ?? $"{Describe(machine)} is unreachable.";
        return new AgentMachineStatus
        {
            Machine = machine,
            Reachable = false,
            ConnectTime = last?.ConnectTime ?? TimeSpan.Zero,
            Attempts = attempts,
            CheckedAt = last?.CheckedAt ?? DateTimeOffset.Now,
            Error = new HostError(last?.Error?.Kind ?? ErrorKind.HostUnreachable,
                $"{reason} (gave up after {attempts} attempt(s) in {waited.TotalSeconds:0.#} s)"),
        };
    }

    private static AgentMachineStatus Fault(AgentMachine machine, Exception ex, int attempt) => new()
    {
        Machine = machine,
        Reachable = false,
        Attempts = attempt,
        Error = ex switch
        {
            OperationCanceledException => new HostError(ErrorKind.Cancelled, $"{machine.Name}: the check was cancelled."),
            ProvisioningException p => new HostError(p.Kind, p.Message),
            _ => new HostError(ErrorKind.Internal, $"{machine.Name}: {ex.Message}"),
        },
    };

    private static string Describe(AgentMachine machine) => $"{machine.Name} ({machine.Address}:{machine.Port})";
}
