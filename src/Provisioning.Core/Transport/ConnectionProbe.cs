using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Transport;

/// <summary>
/// <see cref="ISshTransport.ConnectAsync"/> for every transport: a no-op command opens the connection (its time is the
/// connect time), a second one over it measures the round trip.
/// </summary>
internal static class ConnectionProbe
{
    /// <summary>Runs the two probes; <paramref name="workDir"/> null means the machine's WorkDir, "" none.</summary>
    public static async Task<ConnectionCheck> CheckAsync(ISshTransport transport, AgentMachine machine, TimeSpan connectTimeout, string? workDir,
        CancellationToken cancellationToken)
    {
        var probe = new RemoteExecutionRequest { Command = "exit 0", Timeout = connectTimeout + TimeSpan.FromSeconds(5), WorkDir = workDir };
        var first = await transport.ExecuteAsync(machine, probe, cancellationToken).ConfigureAwait(false);
        if (first.Outcome != ExecutionOutcome.Exited)
        {
            return new ConnectionCheck
            {
                Reachable = false,
                ConnectTime = first.Duration,
                FailureKind = first.FailureKind ?? (first.Outcome == ExecutionOutcome.Cancelled ? ErrorKind.Cancelled : ErrorKind.HostUnreachable),
                FailureMessage = first.FailureMessage ?? first.Outcome.ToString(),
            };
        }
        var second = await transport.ExecuteAsync(machine, probe, cancellationToken).ConfigureAwait(false);
        return new ConnectionCheck
        {
            Reachable = second.Outcome == ExecutionOutcome.Exited,
            ConnectTime = first.Duration,
            Latency = second.Duration,
            FailureKind = second.FailureKind,
            FailureMessage = second.FailureMessage,
        };
    }
}
