using System.Threading.Channels;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Execution;

/// <summary>
/// Runs one piece of work per machine with bounded parallelism and streams each result as soon as its
/// host finishes. Callers (cmdlets) drain the reader on their own thread; nothing here touches PowerShell.
/// </summary>
public static class FanOut
{
    /// <summary>Default parallelism, as Invoke-Command's ThrottleLimit.</summary>
    public const int DefaultThrottleLimit = 32;

    /// <summary>
    /// Starts <paramref name="work"/> for every machine, at most <paramref name="throttleLimit"/> at once.
    /// An exception from <paramref name="work"/> becomes a result through <paramref name="onFault"/>, so one
    /// host never stops the others. After cancellation, hosts not yet started are not started; the reader
    /// completes when every started host has finished (its work is expected to clean up on the token).
    /// </summary>
    public static ChannelReader<TResult> Run<TResult>(
        IReadOnlyList<AgentMachine> machines,
        int throttleLimit,
        Func<AgentMachine, CancellationToken, Task<TResult>> work,
        Func<AgentMachine, Exception, TResult> onFault,
        CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<TResult>(new UnboundedChannelOptions { SingleReader = true });
        Run(machines, throttleLimit, work, onFault, channel.Writer, cancellationToken);
        return channel.Reader;
    }

    /// <summary>
    /// <see cref="Run{TResult}(IReadOnlyList{AgentMachine}, int, Func{AgentMachine, CancellationToken, Task{TResult}}, Func{AgentMachine, Exception, TResult}, CancellationToken)"/>
    /// into a channel the caller owns (and may write to as well); it is completed when every started host finished.
    /// </summary>
    public static void Run<TResult>(
        IReadOnlyList<AgentMachine> machines,
        int throttleLimit,
        Func<AgentMachine, CancellationToken, Task<TResult>> work,
        Func<AgentMachine, Exception, TResult> onFault,
        ChannelWriter<TResult> output,
        CancellationToken cancellationToken)
    {
        if (throttleLimit < 1) throw new ArgumentOutOfRangeException(nameof(throttleLimit), "ThrottleLimit must be at least 1.");
        // A transport that gathers a fan-out into steps of its own (Slurm) bounds its processes itself; throttling
        // here would only split one step into several.
        if (machines.Count > throttleLimit && machines.All(m => m.Testbed?.Transport.GathersFanOut == true)) throttleLimit = machines.Count;
        var channel = output;
        _ = Task.Run(async () =>
        {
            using var gate = new SemaphoreSlim(throttleLimit);
            var running = new List<Task>(machines.Count);
            try
            {
                foreach (var machine in machines)
                {
                    try
                    {
                        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                    running.Add(Task.Run(async () =>
                    {
                        try
                        {
                            TResult result;
                            try
                            {
                                result = await work(machine, cancellationToken).ConfigureAwait(false);
                            }
                            catch (Exception ex)
                            {
                                result = onFault(machine, ex);
                            }
                            channel.TryWrite(result);
                        }
                        finally
                        {
                            gate.Release();
                        }
                    }, CancellationToken.None));
                }
                await Task.WhenAll(running).ConfigureAwait(false);
                channel.TryComplete();
            }
            catch (Exception ex)
            {
                channel.TryComplete(ex);
            }
        }, CancellationToken.None);
    }
}
