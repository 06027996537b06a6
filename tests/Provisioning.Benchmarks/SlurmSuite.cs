using System.Diagnostics;
using Provisioning.Core.Execution;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Slurm;
using Provisioning.Core.Transport;

namespace Provisioning.Benchmarks;

/// <summary>
/// Issue 14's timings: <c>hostname</c> on every node of a one-machine Slurm cluster (tests/tools/slurm-cluster.sh, in
/// multiple-slurmd mode) through the Slurm transport, as one step for all nodes and as a step per node, next to the
/// engine's SSH fan-out over the same number of Local agents; and the same at a larger emulated cluster size, with the
/// controller's memory.
/// </summary>
internal sealed class SlurmSuite(BenchmarkContext context)
{
    /// <summary>The job name in cells and the report.</summary>
    public const string Job = "slurm";
    /// <summary>Row labels, shared with the report.</summary>
    public const string OneStep = "Slurm transport, one step for all nodes";
    /// <inheritdoc cref="OneStep"/>
    public const string StepPerNode = "Slurm transport, a step per node";
    /// <inheritdoc cref="OneStep"/>
    public const string SshFanOut = "SSH fan-out over Local agents (engine, warm)";
    /// <inheritdoc cref="OneStep"/>
    public const string Allocate = "allocate (salloc) and release";

    /// <summary>Measures each cluster size in <paramref name="sizes"/>.</summary>
    public async Task RunAsync(IReadOnlyList<int> sizes, CancellationToken ct)
    {
        foreach (var n in sizes) await RunSizeAsync(n, ct).ConfigureAwait(false);
    }

    private async Task RunSizeAsync(int n, CancellationToken ct)
    {
        var folder = Path.Combine(Path.GetTempPath(), "prov-bench-slurm-" + Guid.NewGuid().ToString("N")[..6]);
        var script = Path.Combine(AppContext.BaseDirectory, "tools", "slurm-cluster.sh");
        context.Runner.Log($"starting a Slurm cluster of {n} nodes");
        var clock = Stopwatch.StartNew();
        var started = await ExternalProcess.RunAsync("/bin/sh", [script, "start", folder, n.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            TimeSpan.FromMinutes(5), ct).ConfigureAwait(false);
        if (started.ExitCode != 0)
        {
            context.Findings.Notes.Add($"Slurm suite at {n} nodes skipped: the cluster did not start ({started.Stderr.Trim()}).");
            await ExternalProcess.RunAsync("/bin/sh", [script, "stop", folder], TimeSpan.FromMinutes(2), CancellationToken.None).ConfigureAwait(false);
            return;
        }
        var clusterStart = clock.Elapsed;
        var environment = new Dictionary<string, string> { ["SLURM_CONF"] = Path.Combine(folder, "slurm.conf") };
        Testbed? testbed = null;
        try
        {
            await context.Runner.MeasureAsync(Job, Allocate, Temperature.Cold, n, new Trial
            {
                Run = async c =>
                {
                    var t = Stopwatch.StartNew();
                    var tb = await SlurmProvider.StartAsync(new SlurmTestbedOptions { Nodes = n, Environment = environment, TimeLimit = "30" }, c).ConfigureAwait(false);
                    await tb.RemoveAsync(c).ConfigureAwait(false);
                    return t.Elapsed;
                },
            }, ct).ConfigureAwait(false);

            testbed = await SlurmProvider.StartAsync(new SlurmTestbedOptions { Nodes = n, Environment = environment, TimeLimit = "60" }, ct).ConfigureAwait(false);
            var machines = testbed.Machines;
            var transport = (SlurmTransport)testbed.Transport;
            await using var memory = MemoryProbe.Start();
            await context.Runner.MeasureAsync(Job, OneStep, Temperature.Warm, n, new Trial
            {
                Run = c => TimedAsync(machines, "hostname", n, c, () => transport.StepsLaunched, expectedSteps: 1),
            }, ct).ConfigureAwait(false);
            var peak = memory.PeakMegabytes;
            await context.Runner.MeasureAsync(Job, StepPerNode, Temperature.Warm, n, new Trial
            {
                // The node's name in the text makes each rendered command different, so each node gets its own step.
                Run = c => TimedAsync(machines, "hostname # {{ name }}", n, c, () => transport.StepsLaunched, expectedSteps: n),
            }, ct).ConfigureAwait(false);
            context.Findings.Notes.Add($"Slurm, {n} nodes (multiple-slurmd on this machine, cluster started in {clusterStart.TotalSeconds:0.0} s): " +
                $"the controller's working set peaked at {peak:0} MB during the one-step runs.");

            var agents = context.Engine.Testbed.Machines.Take(n).ToArray();
            if (agents.Length == n)
            {
                await context.Runner.MeasureAsync(Job, SshFanOut, Temperature.Warm, n, new Trial
                {
                    Setup = c => TimedAsync(agents, "hostname", n, c, null, 0),
                    Run = c => TimedAsync(agents, "hostname", n, c, null, 0),
                }, ct).ConfigureAwait(false);
            }
            else
            {
                context.Runner.Skip(Job, SshFanOut, Temperature.Warm, n, $"only {context.Engine.Testbed.Machines.Count} Local agents run (--sizes sets how many)");
            }
        }
        finally
        {
            if (testbed is not null) await testbed.RemoveAsync(CancellationToken.None).ConfigureAwait(false);
            await ExternalProcess.RunAsync("/bin/sh", [script, "stop", folder], TimeSpan.FromMinutes(2), CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task<TimeSpan> TimedAsync(IReadOnlyList<AgentMachine> machines, string command, int n, CancellationToken ct,
        Func<int>? steps, int expectedSteps)
    {
        var before = steps?.Invoke() ?? 0;
        var clock = Stopwatch.StartNew();
        var ok = 0;
        var reader = new RemoteCommandRunner().Operation(new RemoteCommandSpec { Command = command, Timeout = TimeSpan.FromMinutes(2) })
            .Stream(machines, null, ct);
        await foreach (var r in reader.ReadAllAsync(ct).ConfigureAwait(false))
            if (r.Succeeded && r.Stdout.Trim().Length > 0) ok++;
        clock.Stop();
        if (ok != n) throw new VerificationException($"{ok} of {n} hosts answered");
        if (steps is not null && steps() - before != expectedSteps)
            throw new VerificationException($"{steps() - before} steps were launched, not {expectedSteps}");
        return clock.Elapsed;
    }
}
