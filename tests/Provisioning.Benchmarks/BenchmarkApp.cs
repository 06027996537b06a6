using System.Diagnostics;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Local;

namespace Provisioning.Benchmarks;

/// <summary>
/// Starts the agents (a Local testbed, the same engine the cmdlets use, or existing agents from --agents), points
/// the peers at them, runs the selected suites and prints the markdown report. A failing tool becomes n/a in the
/// report; only a benchmark without any agents stops early.
/// </summary>
internal static class BenchmarkApp
{
    /// <summary>Runs the benchmark; returns the process exit code (0 done, 2 bad usage or no agents, 130 interrupted).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            return await RunCoreAsync(args).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C before any agent started (while installing peers): nothing to clean up.
            return 130;
        }
    }

    private static async Task<int> RunCoreAsync(string[] args)
    {
        BenchmarkOptions options;
        try
        {
            options = BenchmarkOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 2;
        }
        if (options.ShowHelp)
        {
            Console.WriteLine(BenchmarkOptions.Usage);
            return 0;
        }

        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // First Ctrl+C: stop measuring and clean up (agents, masters); a second one kills us.
            if (cts.IsCancellationRequested) return;
            e.Cancel = true;
            cts.Cancel();
        };
        var ct = cts.Token;
        var started = DateTimeOffset.Now;
        var clock = Stopwatch.StartNew();
        var runner = new CellRunner(options, Console.Error);

        var tools = await PeerTools.PrepareAsync(options.InstallPeers, runner.Log, ct).ConfigureAwait(false);
        var stateDirectory = Directory.CreateTempSubdirectory("prov-bench-state-").FullName;
        Testbed testbed;
        string agentsText;
        try
        {
            var startWatch = Stopwatch.StartNew();
            if (options.AgentsFile is { } file)
            {
                testbed = ExternalAgents.Load(file, stateDirectory);
                agentsText = $"{testbed.Machines.Count} existing agents listed in {file}";
            }
            else
            {
                runner.Log($"starting a Local testbed of {options.AgentsNeeded} agents");
                testbed = await LocalProvider.StartAsync(new LocalTestbedOptions
                {
                    Count = options.AgentsNeeded,
                    Name = "bench",
                }, ct).ConfigureAwait(false);
                agentsText = $"Local testbed (`LocalProvider.StartAsync`), {testbed.Machines.Count} sshd agents on loopback, "
                    + $"started in {startWatch.Elapsed.TotalSeconds:0.0} s";
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"No agents to benchmark against: {CellRunner.Describe(e)}\n"
                + "Use --agents FILE to measure existing agents instead.").ConfigureAwait(false);
            TryDelete(stateDirectory);
            return 2;
        }

        var findings = new Findings();
        var interrupted = false;
        string sshText;
        try
        {
            var engine = new EngineUnderTest(testbed);
            var usable = testbed.Machines.Count;
            var sizes = options.Sizes.Where(n => n <= usable).ToArray();
            if (sizes.Length < options.Sizes.Count && (options.Suites & (Suite.Command | Suite.Journal)) != 0)
                findings.Notes.Add($"Only {usable} agents are available: sizes above {usable} were skipped.");
            var extra = engine.ExtraSshOptions.Where(o => !o.StartsWith("Control", StringComparison.OrdinalIgnoreCase)).ToArray();
            sshText = "the engine's address, port, user, key and known_hosts for each agent; BatchMode; strict host key checking; "
                + (extra.Length > 0 ? $"the engine transport's extra options ({string.Join(", ", extra)})" : "OpenSSH's default algorithms")
                + (engine.SshConfigFile is { } cfg ? $"; then the engine's ssh_config ({cfg}) is included" : "");
            await using var workspace = PeerWorkspace.Create(testbed.Machines.Select(AgentEndpoint.From).ToArray(), engine.ExtraSshOptions,
                engine.SshConfigFile);
            var context = new BenchmarkContext(engine, workspace, tools, options, runner, findings);
            try
            {
                if (options.Suites.HasFlag(Suite.Command) && sizes.Length > 0)
                    await new CommandSuite(context).RunAsync(sizes, ct).ConfigureAwait(false);
                if ((options.Suites & (Suite.Copy | Suite.Fetch)) != 0)
                    await RunGuardedAsync(runner, "transfer suites", () => new TransferSuite(context)
                        .RunAsync(options.Suites.HasFlag(Suite.Copy), options.Suites.HasFlag(Suite.Fetch), ct)).ConfigureAwait(false);
                if (options.Suites.HasFlag(Suite.Journal))
                    await new JournalSuite(context).RunAsync(Math.Min(options.Sizes.Max(), usable), ct).ConfigureAwait(false);
                if (options.Suites.HasFlag(Suite.Process))
                    await RunGuardedAsync(runner, "process suite", () => new ProcessSuite(context).RunAsync(sizes.Max(), Math.Min(options.TransferHosts, usable), ct)).ConfigureAwait(false);
                if (options.Suites.HasFlag(Suite.Provision))
                    await RunGuardedAsync(runner, "provision suite", () => new ProvisionSuite(context).RunAsync(sizes.Max(), ct)).ConfigureAwait(false);
                if (options.Suites.HasFlag(Suite.Package))
                    await RunGuardedAsync(runner, "package suite", () => new PackageSuite(context).RunAsync(options.TransferHosts, ct)).ConfigureAwait(false);
                if (options.Suites.HasFlag(Suite.Slurm))
                    await RunGuardedAsync(runner, "slurm suite", () => new SlurmSuite(context).RunAsync(options.SlurmNodes, ct)).ConfigureAwait(false);
                if (options.Suites.HasFlag(Suite.Agents))
                    await RunGuardedAsync(runner, "agents suite", () => new AgentsSuite(context).RunAsync(options.Sizes.Max(), ct)).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                interrupted = true;
                runner.Log("interrupted: cleaning up");
            }
        }
        finally
        {
            runner.Log("removing the testbed");
            try
            {
                await testbed.RemoveAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                runner.Log($"removing the testbed failed: {CellRunner.Describe(e)}");
            }
            TryDelete(stateDirectory);
        }

        var facts = new RunFacts(started, clock.Elapsed, MachineInfo.Describe(), await PeerTools.VersionsAsync().ConfigureAwait(false),
            agentsText, sshText, interrupted);
        var report = new MarkdownReport(options, facts, runner.Cells, findings).Write();
        Console.Out.Write(report);
        if (options.OutputPath is { } output)
        {
            await File.WriteAllTextAsync(output, report, CancellationToken.None).ConfigureAwait(false);
            runner.Log($"report written to {output}");
        }
        return interrupted ? 130 : 0;
    }

    /// <summary>Runs a suite whose setup may fail as a whole (helper masters, remote folders): logs it and carries on.</summary>
    private static async Task RunGuardedAsync(CellRunner runner, string what, Func<Task> suite)
    {
        try
        {
            await suite().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            runner.Log($"{what} failed: {CellRunner.Describe(e)}");
            runner.Skip(what, "setup", Temperature.Warm, 0, CellRunner.Describe(e));
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for /tmp cleaning.
        }
    }
}
