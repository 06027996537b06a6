using System.Diagnostics;
using System.Security.Cryptography;

namespace Provisioning.Benchmarks;

/// <summary>
/// Issue 3's transfer benchmarks on the first T agents. Copy: push one large file to every agent. Fetch: bring
/// many small files home from every agent. Every run starts from wiped state and is checked file by file.
/// The helper masters (the floor's warm connections) stay open for the whole suite; the wipes and checks go over them.
/// </summary>
internal sealed class TransferSuite(BenchmarkContext context)
{
    /// <summary>Job names.</summary>
    public const string CopyJob = "copy", FetchJob = "fetch";

    /// <summary>Row labels, shared with the report.</summary>
    public const string Engine = "Provisioning engine", Pscp = "parallel-scp", Pslurp = "parallel-slurp",
        ClushCopy = "clush --copy", ClushRcopy = "clush --rcopy", AnsibleCopy = "Ansible copy (tuned)",
        AnsibleFetch = "Ansible fetch (tuned)", FloorScp = "floor: scp over warm masters",
        FloorCat = "floor: ssh cat over warm masters", FloorTar = "floor: ssh tar over warm masters";

    private PeerWorkspace Ws => context.Workspace;

    /// <summary>Remote folder for this benchmark's files (per run, so nothing else is touched).</summary>
    private string RemoteBase => "/tmp/" + Path.GetFileName(Ws.Root) + "-remote";

    /// <summary>Runs the selected parts.</summary>
    public async Task RunAsync(bool copy, bool fetch, CancellationToken ct)
    {
        var hosts = Ws.Hosts(Math.Min(context.Options.TransferHosts, context.Engine.Testbed.Machines.Count));
        await Ws.OpenMastersAsync(hosts, ct).ConfigureAwait(false);
        try
        {
            await Ws.OnEachOrThrowAsync(hosts, $"mkdir -p {RemoteBase}", ct).ConfigureAwait(false);
            if (Directory.Exists(RemoteBase))
                context.Findings.Notes.Add("The agents share the controller's filesystem (a Local testbed), so in the copy and fetch "
                    + "suites every agent reads and writes the same remote path; each tool still opens one transfer per agent.");
            context.Findings.Notes.Add("parallel-scp and parallel-slurp always run `scp -qC` (compression on): that is how pssh ships, "
                + "and what its users get.");
            if (copy) await CopyAsync(hosts, ct).ConfigureAwait(false);
            if (fetch) await FetchAsync(hosts, ct).ConfigureAwait(false);
        }
        finally
        {
            await Ws.OnEachAsync(hosts, $"rm -rf {RemoteBase}", CancellationToken.None, oneAtATime: true).ConfigureAwait(false);
            await Ws.CloseMastersAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task CopyAsync(PeerHosts hosts, CancellationToken ct)
    {
        var n = hosts.Count;
        var local = Path.Combine(Ws.Root, "blob.bin");
        await WriteRandomFileAsync(local, context.Options.CopyMebibytes * 1048576L, ct).ConfigureAwait(false);
        string expected;
        await using (var s = File.OpenRead(local)) expected = Convert.ToHexStringLower(await SHA256.HashDataAsync(s, ct).ConfigureAwait(false));
        var remoteDir = $"{RemoteBase}/push";
        var remote = $"{remoteDir}/blob.bin";
        var machines = context.Engine.Testbed.Machines.Take(n).ToArray();
        var sshOptions = $"-F {Ws.SshConfig}";

        Task Wipe(CancellationToken c) => Ws.OnEachOrThrowAsync(hosts, $"rm -rf {remoteDir} && mkdir -p {remoteDir}", c, oneAtATime: true);
        async Task Verify(CancellationToken c)
        {
            var sums = await Ws.OnEachAsync(hosts, $"sha256sum {remote}", c).ConfigureAwait(false);
            var bad = sums.FirstOrDefault(s => s.Outcome.ExitCode != 0 || !s.Outcome.Stdout.StartsWith(expected, StringComparison.Ordinal));
            if (bad.Outcome is not null)
                throw new VerificationException($"{bad.Agent.Alias}: {remote} missing or different ({bad.Outcome.Describe()})");
        }
        Trial PeerTrial(Func<CancellationToken, Task<ProcessOutcome>> run, Func<ProcessOutcome, ISet<string>?> answered) => new()
        {
            Prepare = Wipe,
            Run = async c =>
            {
                var r = await run(c).ConfigureAwait(false);
                if (answered(r) is { } set) PeerOutput.RequireAll(set, hosts, r);
                else if (r.ExitCode != 0) throw new VerificationException(r.Describe());
                await Verify(c).ConfigureAwait(false);
                return r.Elapsed;
            },
        };
        // The engine is idempotent: on agents that share one filesystem (a Local testbed's /tmp), a host that
        // finds the file another host just wrote would rightly skip it. So each host gets its own destination.
        var engineRemote = $"{remoteDir}/{{{{ name }}}}/blob.bin";
        async Task VerifyEngine(CancellationToken c)
        {
            var seen = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (_, outcome) in await Ws.OnEachAsync(hosts, $"sha256sum {remoteDir}/*/blob.bin", c).ConfigureAwait(false))
                foreach (var line in outcome.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    if (line.Split("  ", 2) is [var sum, var path]) seen[path.Trim()] = sum;
            var missing = machines.FirstOrDefault(m => !seen.TryGetValue($"{remoteDir}/{m.Name}/blob.bin", out var sum) || sum != expected);
            if (missing is not null)
                throw new VerificationException($"{missing.Name}: {remoteDir}/{missing.Name}/blob.bin missing or different");
        }
        Trial EngineTrial(bool cold) => new()
        {
            Prepare = async c =>
            {
                await Wipe(c).ConfigureAwait(false);
                if (cold) await context.Engine.CloseConnectionsAsync(c).ConfigureAwait(false);
            },
            Run = async c =>
            {
                var watch = Stopwatch.StartNew();
                await EngineFileTransfers.PushAsync(machines, local, engineRemote, c).ConfigureAwait(false);
                var elapsed = watch.Elapsed;
                await VerifyEngine(c).ConfigureAwait(false);
                return elapsed;
            },
        };

        await context.Runner.MeasureAsync(CopyJob, Engine, Temperature.Cold, n, EngineTrial(cold: true), ct).ConfigureAwait(false);
        await context.Runner.MeasureAsync(CopyJob, Engine, Temperature.Warm, n, EngineTrial(cold: false), ct).ConfigureAwait(false);
        await context.Engine.CloseConnectionsQuietlyAsync(context.Runner.Log).ConfigureAwait(false);

        await context.MeasurePeerAsync("parallel-scp", CopyJob, Pscp, Temperature.Cold, n, PeerTrial(
            c => context.RunPeerAsync("parallel-scp", ["-h", hosts.HostsFile, "-p", $"{n}", "-t", "0", "-x", sshOptions, local, remote], c),
            r => PeerOutput.PsshSucceeded(r.Stdout)), ct).ConfigureAwait(false);
        await context.MeasurePeerAsync("clush", CopyJob, ClushCopy, Temperature.Cold, n, PeerTrial(
            c => context.RunPeerAsync("clush", ["-S", "-w", hosts.CommaList, "-f", $"{n}", "-o", sshOptions, "--copy", local, "--dest", remoteDir + "/"], c),
            _ => null), ct).ConfigureAwait(false);
        Task<ProcessOutcome> RunAnsibleCopy(CancellationToken c) => context.RunPeerAsync("ansible",
            ["-i", hosts.InventoryFile, "all", "-f", $"{n}", "-m", "copy", "-a", $"src={local} dest={remote}"], c, Ws.AnsibleEnvironment);
        var ansibleCold = PeerTrial(RunAnsibleCopy, r => PeerOutput.AnsibleModuleSucceeded(r.Stdout));
        await context.MeasurePeerAsync("ansible", CopyJob, AnsibleCopy, Temperature.Cold, n, new Trial
        {
            Prepare = async c => { await Ws.CloseAnsibleMastersAsync(c).ConfigureAwait(false); await ansibleCold.Prepare!(c).ConfigureAwait(false); },
            Run = ansibleCold.Run,
            Cleanup = Ws.CloseAnsibleMastersAsync,
        }, ct).ConfigureAwait(false);
        var ansibleWarm = PeerTrial(RunAnsibleCopy, r => PeerOutput.AnsibleModuleSucceeded(r.Stdout));
        await context.MeasurePeerAsync("ansible", CopyJob, AnsibleCopy, Temperature.Warm, n, new Trial
        {
            Setup = Ws.CloseAnsibleMastersAsync,
            Prepare = ansibleWarm.Prepare,
            Run = ansibleWarm.Run,
            Cleanup = Ws.CloseAnsibleMastersAsync,
        }, ct).ConfigureAwait(false);
        await context.MeasurePeerAsync("scp", CopyJob, FloorScp, Temperature.Warm, n, PeerTrial(
            c => ExternalProcess.RunAsync("/bin/bash", [Ws.Script("floor-scp.sh"), hosts.HostsFile, local, remote], context.Options.RunTimeout, c),
            _ => null), ct).ConfigureAwait(false);
        await context.MeasurePeerAsync("ssh", CopyJob, FloorCat, Temperature.Warm, n, PeerTrial(
            c => ExternalProcess.RunAsync("/bin/bash", [Ws.Script("floor-cat.sh"), hosts.HostsFile, local, remote], context.Options.RunTimeout, c),
            _ => null), ct).ConfigureAwait(false);
        File.Delete(local);
    }

    private async Task FetchAsync(PeerHosts hosts, CancellationToken ct)
    {
        var n = hosts.Count;
        var files = context.Options.FetchFiles;
        var remoteDir = $"{RemoteBase}/results";
        // Built in a temporary folder and renamed into place, so agents sharing one filesystem do not race.
        await Ws.OnEachOrThrowAsync(hosts,
            $"set -e; if [ ! -d {remoteDir} ]; then t=$(mktemp -d {RemoteBase}/.results.XXXXXX); "
            + $"head -c {files * 1024} /dev/urandom | (cd $t && split -b 1024 -a 5 -d - f); "
            + $"mv -T $t {remoteDir} 2>/dev/null || rm -rf $t; fi", ct, oneAtATime: true).ConfigureAwait(false);
        var manifests = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var (agent, outcome) in await Ws.OnEachOrThrowAsync(hosts, $"cd {remoteDir} && sha256sum f*", ct).ConfigureAwait(false))
        {
            manifests[agent.Alias] = outcome.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split("  ", 2))
                .ToDictionary(p => p[1].Trim(), p => p[0], StringComparer.Ordinal);
            if (manifests[agent.Alias].Count != files)
                throw new VerificationException($"{agent.Alias}: {manifests[agent.Alias].Count} result files prepared, {files} wanted");
        }

        var machines = context.Engine.Testbed.Machines.Take(n).ToArray();
        var localRoot = Path.Combine(Ws.Root, "fetched");
        var sshOptions = $"-F {Ws.SshConfig}";
        var playbook = Path.Combine(Ws.Root, "fetch.yml");
        await File.WriteAllTextAsync(playbook, $$$"""
            - hosts: all
              gather_facts: false
              tasks:
                - name: list the result files
                  ansible.builtin.find:
                    paths: {{{remoteDir}}}
                  register: found
                - name: fetch them
                  ansible.builtin.fetch:
                    src: "{{ item.path }}"
                    dest: "{{{localRoot}}}/"
                  loop: "{{ found.files }}"
                  loop_control:
                    label: "{{ item.path | basename }}"
            """, ct).ConfigureAwait(false);

        Task Wipe(CancellationToken c)
        {
            if (Directory.Exists(localRoot)) Directory.Delete(localRoot, recursive: true);
            Directory.CreateDirectory(localRoot);
            return Task.CompletedTask;
        }
        // Each tool lays files out its own way (host/…, results.host/…); a host's files are found under the
        // top-level folder named after it, or ending in ".host".
        void Verify(Func<int, string> hostKey)
        {
            var top = Directory.EnumerateDirectories(localRoot).Select(Path.GetFileName).OfType<string>().ToArray();
            for (var i = 0; i < n; i++)
            {
                var key = hostKey(i);
                var manifest = manifests[hosts.Agents[i].Alias];
                // parallel-slurp 2.3.4 names the folder "host:None" (its port); clush --rcopy "results.host".
                var dir = top.FirstOrDefault(d => d == key || d.StartsWith(key + ":", StringComparison.Ordinal) || d.EndsWith("." + key, StringComparison.Ordinal))
                    ?? throw new VerificationException($"{key}: nothing fetched");
                var got = Directory.EnumerateFiles(Path.Combine(localRoot, dir), "*", SearchOption.AllDirectories)
                    .ToDictionary(f => Path.GetFileName(f.AsSpan()).ToString(), f => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f))), StringComparer.Ordinal);
                var wrong = manifest.FirstOrDefault(m => !got.TryGetValue(m.Key, out var sum) || sum != m.Value);
                if (wrong.Key is not null)
                    throw new VerificationException($"{key}: {got.Count}/{manifest.Count} files fetched, {wrong.Key} missing or different");
            }
        }
        Trial PeerTrial(Func<CancellationToken, Task<ProcessOutcome>> run, Func<ProcessOutcome, ISet<string>?> answered) => new()
        {
            Prepare = Wipe,
            Run = async c =>
            {
                var r = await run(c).ConfigureAwait(false);
                if (answered(r) is { } set) PeerOutput.RequireAll(set, hosts, r);
                else if (r.ExitCode != 0) throw new VerificationException(r.Describe());
                Verify(i => hosts.Agents[i].Alias);
                return r.Elapsed;
            },
        };
        Trial EngineTrial(bool cold) => new()
        {
            Prepare = async c =>
            {
                await Wipe(c).ConfigureAwait(false);
                if (cold) await context.Engine.CloseConnectionsAsync(c).ConfigureAwait(false);
            },
            Run = async c =>
            {
                var watch = Stopwatch.StartNew();
                await EngineFileTransfers.FetchAsync(machines, remoteDir, localRoot, c).ConfigureAwait(false);
                var elapsed = watch.Elapsed;
                Verify(i => machines[i].Name);
                return elapsed;
            },
        };

        await context.Runner.MeasureAsync(FetchJob, Engine, Temperature.Cold, n, EngineTrial(cold: true), ct).ConfigureAwait(false);
        await context.Runner.MeasureAsync(FetchJob, Engine, Temperature.Warm, n, EngineTrial(cold: false), ct).ConfigureAwait(false);
        await context.Engine.CloseConnectionsQuietlyAsync(context.Runner.Log).ConfigureAwait(false);

        await context.MeasurePeerAsync("parallel-slurp", FetchJob, Pslurp, Temperature.Cold, n, PeerTrial(
            c => context.RunPeerAsync("parallel-slurp",
                ["-h", hosts.HostsFile, "-p", $"{n}", "-t", "0", "-x", sshOptions, "-L", localRoot, "-r", remoteDir, "results"], c),
            r => PeerOutput.PsshSucceeded(r.Stdout)), ct).ConfigureAwait(false);
        await context.MeasurePeerAsync("clush", FetchJob, ClushRcopy, Temperature.Cold, n, PeerTrial(
            c => context.RunPeerAsync("clush", ["-S", "-w", hosts.CommaList, "-f", $"{n}", "-o", sshOptions, "--rcopy", remoteDir, "--dest", localRoot], c),
            _ => null), ct).ConfigureAwait(false);
        // Ansible fetches file by file (a module run and a transfer each): 200 files on 20 agents take about ten
        // minutes on two cores. So no warm-up run: a ping opens the masters instead, and the budget keeps one timed run.
        var ansible = PeerTrial(
            c => context.RunPeerAsync("ansible-playbook", ["-i", hosts.InventoryFile, "-f", $"{n}", playbook], c, Ws.AnsibleEnvironment,
                TimeSpan.FromTicks(Math.Max(context.Options.RunTimeout.Ticks, TimeSpan.FromMinutes(40).Ticks))),
            r => PeerOutput.AnsiblePlaybookSucceeded(r.Stdout));
        await context.MeasurePeerAsync("ansible-playbook", FetchJob, AnsibleFetch, Temperature.Warm, n, new Trial
        {
            Setup = async c =>
            {
                await Ws.CloseAnsibleMastersAsync(c).ConfigureAwait(false);
                var ping = await context.RunPeerAsync("ansible", ["-i", hosts.InventoryFile, "all", "-f", $"{n}", "-m", "ping"], c, Ws.AnsibleEnvironment)
                    .ConfigureAwait(false);
                PeerOutput.RequireAll(PeerOutput.AnsibleModuleSucceeded(ping.Stdout), hosts, ping);
            },
            Warmups = 0,
            Prepare = ansible.Prepare,
            Run = ansible.Run,
            Cleanup = Ws.CloseAnsibleMastersAsync,
        }, ct).ConfigureAwait(false);
        await context.MeasurePeerAsync("tar", FetchJob, FloorTar, Temperature.Warm, n, PeerTrial(
            c => ExternalProcess.RunAsync("/bin/bash", [Ws.Script("floor-tar.sh"), hosts.HostsFile, remoteDir, localRoot], context.Options.RunTimeout, c),
            _ => null), ct).ConfigureAwait(false);
    }

    private static async Task WriteRandomFileAsync(string path, long length, CancellationToken ct)
    {
        await using var f = File.Create(path);
        var buffer = new byte[1 << 20];
        for (long done = 0; done < length; done += buffer.Length)
        {
            RandomNumberGenerator.Fill(buffer);
            await f.WriteAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, length - done)), ct).ConfigureAwait(false);
        }
    }
}
