namespace Provisioning.Benchmarks;

/// <summary>
/// Issue 2's benchmark: `hostname` on N agents, for each N. The engine cold (masters closed before each run) and
/// warm (masters open); parallel-ssh and clush (cold: they do not multiplex); Ansible tuned, cold and warm; and the
/// floor, a bash loop that starts `ssh -n host hostname` in the background for every host over warm ControlMaster sockets.
/// </summary>
internal sealed class CommandSuite(BenchmarkContext context)
{
    /// <summary>The job name in cells and the report.</summary>
    public const string Job = "cmd";

    /// <summary>Row labels, shared with the report.</summary>
    public const string Engine = "Provisioning engine", EngineOpenSsh = "Provisioning engine on OpenSSH", Pssh = "parallel-ssh", Clush = "clush",
        Ansible = "Ansible (tuned)", Floor = "floor: ssh loop over warm masters";

    /// <summary>Sequential commands to one host, per transport (the persistent shell's per-command cost).</summary>
    public const string SequentialJob = "cmd-seq", SequentialCount = "200";

    /// <summary>Measures every tool for every N.</summary>
    public async Task RunAsync(IReadOnlyList<int> sizes, CancellationToken ct)
    {
        var openSsh = context.Engine.OnOpenSsh();
        await MeasureSequentialAsync(context.Engine, Engine, ct).ConfigureAwait(false);
        await MeasureSequentialAsync(openSsh, EngineOpenSsh, ct).ConfigureAwait(false);
        foreach (var n in sizes)
        {
            await MeasureEngineAsync(context.Engine, Engine, n, ct).ConfigureAwait(false);
            await MeasureEngineAsync(openSsh, EngineOpenSsh, n, ct).ConfigureAwait(false);
            await MeasurePeersAsync(context.Workspace.Hosts(n), ct).ConfigureAwait(false);
        }
    }

    private async Task MeasureSequentialAsync(EngineUnderTest engine, string label, CancellationToken ct)
    {
        var machine = engine.Testbed.Machines[0];
        var count = int.Parse(SequentialCount, System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            await context.Runner.MeasureAsync(SequentialJob, label, Temperature.Warm, 1, new Trial
            {
                Prepare = c => engine.RunSequentialAsync(machine, 3, c),
                Run = c => engine.RunSequentialAsync(machine, count, c),
            }, ct).ConfigureAwait(false);
        }
        finally
        {
            await engine.CloseConnectionsQuietlyAsync(context.Runner.Log).ConfigureAwait(false);
        }
    }

    private async Task MeasureEngineAsync(EngineUnderTest engine, string label, int n, CancellationToken ct)
    {
        var machines = engine.Testbed.Machines.Take(n).ToArray();
        var probe = MemoryProbe.Start();
        Cell warm;
        try
        {
            await context.Runner.MeasureAsync(Job, label, Temperature.Cold, n, new Trial
            {
                Prepare = engine.CloseConnectionsAsync,
                Run = c => engine.RunHostnameAsync(machines, null, c),
            }, ct).ConfigureAwait(false);
            warm = await context.Runner.MeasureAsync(Job, label, Temperature.Warm, n, new Trial
            {
                Run = c => engine.RunHostnameAsync(machines, null, c),
            }, ct).ConfigureAwait(false);
        }
        finally
        {
            await probe.DisposeAsync().ConfigureAwait(false);
        }
        var (masters, mastersMiB) = engine.ControlDirectory is { } dir ? MemoryProbe.ResidentOfProcessesMentioning(dir) : (0, 0);
        if (label == Engine && (warm.Ok || warm.Seconds.Count > 0))
            context.Findings.Memory.Add(new MemoryReading(n, probe.PeakMegabytes, masters, mastersMiB));
        // Leave the machine quiet for the peers.
        await engine.CloseConnectionsQuietlyAsync(context.Runner.Log).ConfigureAwait(false);
    }

    private async Task MeasurePeersAsync(PeerHosts hosts, CancellationToken ct)
    {
        var ws = context.Workspace;
        var n = hosts.Count;
        var sshOptions = $"-F {ws.SshConfig}";

        await context.MeasurePeerAsync("parallel-ssh", Job, Pssh, Temperature.Cold, n, new Trial
        {
            Run = async c =>
            {
                var r = await context.RunPeerAsync("parallel-ssh",
                    ["-h", hosts.HostsFile, "-p", $"{n}", "-t", "0", "-x", sshOptions, "-i", "hostname"], c).ConfigureAwait(false);
                PeerOutput.RequireAll(PeerOutput.PsshSucceeded(r.Stdout), hosts, r);
                return r.Elapsed;
            },
        }, ct).ConfigureAwait(false);

        await context.MeasurePeerAsync("clush", Job, Clush, Temperature.Cold, n, new Trial
        {
            Run = async c =>
            {
                var r = await context.RunPeerAsync("clush",
                    ["-S", "-w", hosts.CommaList, "-f", $"{n}", "-o", sshOptions, "hostname"], c).ConfigureAwait(false);
                PeerOutput.RequireAll(PeerOutput.ClushAnswered(r.Stdout, hosts), hosts, r);
                return r.Elapsed;
            },
        }, ct).ConfigureAwait(false);

        async Task<TimeSpan> AnsibleRun(CancellationToken c)
        {
            var r = await context.RunPeerAsync("ansible",
                ["-i", hosts.InventoryFile, "all", "-f", $"{n}", "-m", "command", "-a", "hostname"], c, ws.AnsibleEnvironment).ConfigureAwait(false);
            PeerOutput.RequireAll(PeerOutput.AnsibleCommandSucceeded(r.Stdout), hosts, r);
            return r.Elapsed;
        }
        await context.MeasurePeerAsync("ansible", Job, Ansible, Temperature.Cold, n, new Trial
        {
            Prepare = ws.CloseAnsibleMastersAsync,
            Run = AnsibleRun,
            Cleanup = ws.CloseAnsibleMastersAsync,
        }, ct).ConfigureAwait(false);
        await context.MeasurePeerAsync("ansible", Job, Ansible, Temperature.Warm, n, new Trial
        {
            // The warm-up run opens the masters (ControlPersist); the timed runs reuse them.
            Setup = ws.CloseAnsibleMastersAsync,
            Run = AnsibleRun,
            Cleanup = ws.CloseAnsibleMastersAsync,
        }, ct).ConfigureAwait(false);

        await context.MeasurePeerAsync("ssh", Job, Floor, Temperature.Warm, n, new Trial
        {
            Setup = c => ws.OpenMastersAsync(hosts, c),
            Run = async c =>
            {
                var r = await ExternalProcess.RunAsync("/bin/bash", [ws.Script("floor-cmd.sh"), hosts.HostsFile], context.Options.RunTimeout, c).ConfigureAwait(false);
                var lines = PeerOutput.NonEmptyLines(r.Stdout);
                if (r.ExitCode != 0 || lines != n)
                    throw new VerificationException($"{lines}/{n} hosts answered; {r.Describe()}");
                return r.Elapsed;
            },
            Cleanup = ws.CloseMastersAsync,
        }, ct).ConfigureAwait(false);
    }
}
