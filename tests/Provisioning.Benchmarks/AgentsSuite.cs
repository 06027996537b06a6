using System.Diagnostics;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Local;

namespace Provisioning.Benchmarks;

/// <summary>
/// Issue 8's timings: starting and removing N Local agents, with shared roots and with private roots (an overlay on
/// / and a PID namespace per agent), each in its own testbed beside the one the other suites use.
/// </summary>
internal sealed class AgentsSuite(BenchmarkContext context)
{
    /// <summary>The job name in cells and the report.</summary>
    public const string Job = "agents";

    /// <summary>Row labels, shared with the report.</summary>
    public static string Start(LocalIsolation isolation) => $"start, {isolation.ToString().ToLowerInvariant()} roots";

    /// <inheritdoc cref="Start"/>
    public static string Remove(LocalIsolation isolation) => $"remove, {isolation.ToString().ToLowerInvariant()} roots";

    /// <summary>Measures both isolations at <paramref name="n"/> agents.</summary>
    public async Task RunAsync(int n, CancellationToken ct)
    {
        foreach (var isolation in new[] { LocalIsolation.Shared, LocalIsolation.Private })
        {
            Testbed? current = null;
            async Task Discard()
            {
                if (current is not null) await current.RemoveAsync(CancellationToken.None).ConfigureAwait(false);
                current = null;
            }
            async Task<TimeSpan> StartTimed(CancellationToken c)
            {
                var clock = Stopwatch.StartNew();
                current = await LocalProvider.StartAsync(new LocalTestbedOptions { Count = n, Isolation = isolation, Name = "bench-agents" }, c).ConfigureAwait(false);
                clock.Stop();
                if (current.Machines.Count != n) throw new VerificationException($"{current.Machines.Count} of {n} agents started");
                return clock.Elapsed;
            }
            await context.Runner.MeasureAsync(Job, Start(isolation), Temperature.Cold, n, new Trial
            {
                Prepare = _ => Discard(),
                Run = StartTimed,
                Cleanup = _ => Discard(),
            }, ct).ConfigureAwait(false);
            await context.Runner.MeasureAsync(Job, Remove(isolation), Temperature.Cold, n, new Trial
            {
                Prepare = async c => { await Discard().ConfigureAwait(false); await StartTimed(c).ConfigureAwait(false); },
                Run = async _ =>
                {
                    var clock = Stopwatch.StartNew();
                    await Discard().ConfigureAwait(false);
                    return clock.Elapsed;
                },
                Cleanup = _ => Discard(),
            }, ct).ConfigureAwait(false);
        }
    }
}
