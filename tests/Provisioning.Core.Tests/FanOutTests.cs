using Provisioning.Core.Execution;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Tests;

public class FanOutTests
{
    private static List<AgentMachine> Machines(int n) =>
        Enumerable.Range(0, n).Select(i => new AgentMachine($"m{i}", $"10.0.0.{i}", i, Array.Empty<string>(), new ConnectionSettings())).ToList();

    [Fact]
    public async Task Never_runs_more_than_the_throttle_limit_at_once()
    {
        int inFlight = 0, peak = 0;
        var reader = FanOut.Run(Machines(40), 5, async (m, ct) =>
        {
            var now = Interlocked.Increment(ref inFlight);
            lock (this) peak = Math.Max(peak, now);
            await Task.Delay(10, ct);
            Interlocked.Decrement(ref inFlight);
            return m.Name;
        }, (m, ex) => "fault", CancellationToken.None);
        var names = new List<string>();
        await foreach (var n in reader.ReadAllAsync()) names.Add(n);
        Assert.Equal(40, names.Distinct().Count());
        Assert.InRange(peak, 1, 5);
    }

    [Fact]
    public async Task A_faulting_host_becomes_a_result_and_the_others_carry_on()
    {
        var reader = FanOut.Run(Machines(10), 3, (m, ct) =>
            m.Index == 4 ? throw new InvalidOperationException("boom") : Task.FromResult(m.Name),
            (m, ex) => $"{m.Name}:{ex.Message}", CancellationToken.None);
        var results = new List<string>();
        await foreach (var r in reader.ReadAllAsync()) results.Add(r);
        Assert.Equal(10, results.Count);
        Assert.Contains("m4:boom", results);
    }

    [Fact]
    public async Task After_cancellation_no_new_host_starts()
    {
        using var cts = new CancellationTokenSource();
        int started = 0;
        var reader = FanOut.Run(Machines(50), 2, async (m, ct) =>
        {
            if (Interlocked.Increment(ref started) == 2) cts.Cancel();
            await Task.Delay(20, CancellationToken.None);
            return m.Name;
        }, (m, ex) => "fault", cts.Token);
        var results = new List<string>();
        await foreach (var r in reader.ReadAllAsync()) results.Add(r);
        Assert.True(started < 50, $"started {started}");
        Assert.Equal(started, results.Count);
    }
}
