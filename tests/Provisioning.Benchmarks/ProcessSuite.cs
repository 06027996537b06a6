using System.Diagnostics;
using Provisioning.Core.Execution;
using Provisioning.Core.Processes;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Testbeds;

namespace Provisioning.Benchmarks;

/// <summary>
/// Issue 11's timings: Start-AgentProcess on N warm agents against a warm <c>true</c> on the same agents, and
/// -Follow of 100 lines a second from each of the transfer hosts, with how late the last line arrived.
/// </summary>
internal sealed class ProcessSuite(BenchmarkContext context)
{
    /// <summary>The job name in cells and the report.</summary>
    public const string Job = "process";

    /// <summary>Row labels, shared with the report.</summary>
    public const string Start = "Start-AgentProcess (warm)", True = "Invoke-RemoteCommand true (warm)", Follow = "follow 100 lines/s per agent",
        Bare = "bare detached start: setsid sh -c 'exec sleep' & (warm)";

    // The floor under any start that gives the process a session of its own: setsid, a shell, and the command, three
    // execs, with no registry, supervisor or exit window. Its sleep's length marks it for the cleanup.
    private const string BareCommand = "setsid sh -c 'exec sleep 60.25' </dev/null >/dev/null 2>&1 &";

    /// <summary>Lines each agent writes in the follow run (5 s at 100 a second).</summary>
    public const int FollowLines = 500;

    /// <summary>Measures both at <paramref name="n"/> agents, and the follow at <paramref name="followHosts"/>.</summary>
    public async Task RunAsync(int n, int followHosts, CancellationToken ct)
    {
        var machines = context.Engine.Testbed.Machines.Take(n).ToArray();
        await context.Runner.MeasureAsync(Job, True, Temperature.Warm, n, new Trial
        {
            Run = async c =>
            {
                var clock = Stopwatch.StartNew();
                var results = await Drain(new RemoteCommandRunner().Operation(new RemoteCommandSpec { Command = "true", ThrottleLimit = n }).Stream(machines, null, c), c);
                clock.Stop();
                Verify(results.Count(r => r.Succeeded), n, "answered");
                return clock.Elapsed;
            },
        }, ct).ConfigureAwait(false);
        await context.Runner.MeasureAsync(Job, Bare, Temperature.Warm, n, new Trial
        {
            Run = async c =>
            {
                var clock = Stopwatch.StartNew();
                var results = await Drain(new RemoteCommandRunner().Operation(new RemoteCommandSpec { Command = BareCommand, ThrottleLimit = n }).Stream(machines, null, c), c);
                clock.Stop();
                Verify(results.Count(r => r.Succeeded), n, "started the bare process");
                return clock.Elapsed;
            },
            Prepare = c => KillBare(machines, n, c),
            Cleanup = c => KillBare(machines, n, c),
        }, ct).ConfigureAwait(false);
        await context.Runner.MeasureAsync(Job, Start, Temperature.Warm, n, new Trial
        {
            Prepare = c => StopAll(machines, n, c),
            Run = async c =>
            {
                var clock = Stopwatch.StartNew();
                var results = await Drain(AgentProcesses.Start(new ProcessStartSpec { Name = "bench", Command = "exec sleep 60", ThrottleLimit = n, Force = true })
                    .Stream(machines, null, c), c);
                clock.Stop();
                Verify(results.Count(r => r.State == AgentProcessState.Running), n, "reported Running");
                return clock.Elapsed;
            },
            Cleanup = c => StopAll(machines, n, c),
        }, ct).ConfigureAwait(false);

        var followers = context.Engine.Testbed.Machines.Take(followHosts).ToArray();
        var late = new List<double>();
        var cell = await context.Runner.MeasureAsync(Job, Follow, Temperature.Warm, followHosts, new Trial
        {
            Warmups = 0,
            Prepare = c => StopAll(followers, followHosts, c),
            Run = async c =>
            {
                // Each line carries the agent's clock (this machine's: the agents are local), so lateness is exact.
                const string talker = "exec perl -MTime::HiRes=time,sleep -e '$| = 1; my $t = time; for my $i (1..500) { my $w = $t + $i / 100 - time; sleep $w if $w > 0; printf \"%d %.6f\\n\", $i, time }'";
                await Drain(AgentProcesses.Start(new ProcessStartSpec { Name = "talker", Command = talker, ThrottleLimit = followHosts, Force = true })
                    .Stream(followers, null, c), c);
                var clock = Stopwatch.StartNew();
                var counts = new Dictionary<string, int>();
                var worst = 0.0;
                await foreach (var batch in HostOperationRunner.Run(followers, AgentProcesses.Output(new ProcessSelection { Names = ["talker"], ThrottleLimit = followHosts },
                                   null, AgentProcessStream.Stdout, follow: true), null, c).ReadAllAsync(c).ConfigureAwait(false))
                {
                    var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
                    foreach (var line in batch.Results.Where(r => r.Error is null))
                    {
                        counts[line.Machine.Name] = counts.GetValueOrDefault(line.Machine.Name) + 1;
                        var f = line.Line.Split(' ');
                        if (f.Length == 2 && double.TryParse(f[1], System.Globalization.CultureInfo.InvariantCulture, out var written)) worst = Math.Max(worst, now - written);
                    }
                }
                clock.Stop();
                Verify(counts.Values.Count(v => v == FollowLines), followHosts, $"streamed all {FollowLines} lines");
                late.Add(worst);
                return clock.Elapsed;
            },
            Cleanup = c => StopAll(followers, followHosts, c),
        }, ct).ConfigureAwait(false);
        if (late.Count > 0)
            context.Findings.Notes.Add($"Follow ({followHosts} agents × 100 lines/s for 5 s): every line arrived; the latest arrived {late.Max() * 1000:0} ms after it was written (worst of {late.Count} runs).");
        _ = cell;
    }

    private static async Task KillBare(IReadOnlyList<AgentMachine> machines, int n, CancellationToken ct) =>
        await Drain(new RemoteCommandRunner().Operation(new RemoteCommandSpec { Command = "pkill -xf 'sleep 60.25' || true", ThrottleLimit = n }).Stream(machines, null, ct), ct).ConfigureAwait(false);

    private static async Task StopAll(IReadOnlyList<AgentMachine> machines, int n, CancellationToken ct) =>
        await Drain(AgentProcesses.Stop(new ProcessSelection { Names = ["bench", "talker"], ThrottleLimit = n }, TimeSpan.FromSeconds(1)).Stream(machines, null, ct), ct).ConfigureAwait(false);

    private static async Task<List<T>> Drain<T>(System.Threading.Channels.ChannelReader<T> reader, CancellationToken ct)
    {
        var list = new List<T>();
        await foreach (var item in reader.ReadAllAsync(ct).ConfigureAwait(false)) list.Add(item);
        return list;
    }

    private static void Verify(int ok, int n, string what)
    {
        if (ok != n) throw new VerificationException($"{ok}/{n} agents {what}");
    }
}
