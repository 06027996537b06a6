using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Provisioning.Core.Execution;
using Provisioning.Core.Packages;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Local;

namespace Provisioning.Benchmarks;

/// <summary>
/// Issue 10's timings: a package with 10 dependencies (built here, about 20 MiB in all) installed on N offline agents
/// (private roots, a network namespace with no route out) from the controller's cache, first run and unchanged re-run,
/// against Ansible's apt module with <c>deb:</c> files that its copy module sends first (tuned as the other suites tune it).
/// </summary>
internal sealed class PackageSuite(BenchmarkContext context)
{
    /// <summary>The job name in cells and the report.</summary>
    public const string Job = "package";

    /// <summary>Row labels, shared with the report.</summary>
    public const string EngineFirst = "Install-AgentPackage from the controller cache, first run", EngineAgain = "Install-AgentPackage, unchanged re-run",
        AnsibleFirst = "ansible-playbook copy + apt deb: (tuned), first run", AnsibleAgain = "ansible-playbook copy + apt deb: (tuned), unchanged re-run";

    private const int Dependencies = 10;
    private const long DependencyBytes = 2 * 1024 * 1024;
    private const string Prefix = "provbench";

    /// <summary>Measures the engine and Ansible at <paramref name="n"/> offline agents.</summary>
    public async Task RunAsync(int n, CancellationToken ct)
    {
        var folder = Directory.CreateTempSubdirectory("prov-bench-packages-").FullName;
        Testbed? testbed = null;
        try
        {
            context.Runner.Log($"package suite: building {Dependencies + 1} packages and starting {n} offline private-root agents");
            var debs = Enumerable.Range(1, Dependencies).Select(i => Build(folder, $"{Prefix}-dep{i}", null, DependencyBytes)).ToList();
            debs.Add(Build(folder, $"{Prefix}-app", string.Join(", ", Enumerable.Range(1, Dependencies).Select(i => $"{Prefix}-dep{i}")), 0));
            var cachePath = Path.Combine(folder, "cache");
            var cache = PackageCache.Open(cachePath);
            var index = new StringBuilder();
            foreach (var (name, file) in debs)
            {
                var sha = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file))).ToLowerInvariant();
                var size = new FileInfo(file).Length;
                var relative = $"apt/bench/{Path.GetFileName(file)}";
                Directory.CreateDirectory(Path.Combine(cachePath, "apt", "bench"));
                File.Copy(file, Path.Combine(cachePath, relative), overwrite: true);
                cache.Add(new PackageCacheEntry { Manager = PackageManager.Apt, Name = name, Version = "1.0", Architecture = "all", Sha256 = sha, Size = size, File = relative });
                index.Append($"Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: bench <bench@localhost>\n")
                    .Append(name.EndsWith("-app", StringComparison.Ordinal) ? $"Depends: {string.Join(", ", Enumerable.Range(1, Dependencies).Select(i => $"{Prefix}-dep{i}"))}\n" : "")
                    .Append($"Filename: ./{Path.GetFileName(file)}\nSize: {size}\nSHA256: {sha}\nDescription: a benchmark package\n\n");
            }
            testbed = await LocalProvider.StartAsync(new LocalTestbedOptions { Count = n, Name = "bench-packages", Isolation = LocalIsolation.Private, Network = LocalNetwork.Offline }, ct).ConfigureAwait(false);
            var machines = testbed.Machines.ToArray();
            // The agents' lists know a repository nobody serves (port 9): they resolve offline, and only the cache has the files.
            var teach = $"echo 'deb [trusted=yes] http://127.0.0.1:9/ ./' > /etc/apt/sources.list.d/{Prefix}.list && " +
                        $"echo '{Convert.ToBase64String(Encoding.UTF8.GetBytes(index.ToString()))}' | base64 -d > '/var/lib/apt/lists/127.0.0.1:9_._Packages'";
            await Remote(machines, teach, ct).ConfigureAwait(false);
            var wipe = $"dpkg --purge {string.Join(' ', debs.Select(d => d.Name))} >/dev/null 2>&1; rm -rf /var/cache/apt/archives/{Prefix}-* /tmp/{Prefix}-debs";

            var engine = new EngineUnderTest(testbed);
            async Task<TimeSpan> Engine(PackageStatus expected, CancellationToken c)
            {
                var clock = Stopwatch.StartNew();
                var results = new List<PackageResult>();
                await foreach (var r in AgentPackages.Install(new PackageInstallSpec
                               {
                                   Names = [$"{Prefix}-app"], Source = PackageSource.Controller, CachePath = cachePath, ThrottleLimit = n,
                               }).Stream(machines, null, c).ReadAllAsync(c).ConfigureAwait(false))
                    results.Add(r);
                clock.Stop();
                var wrong = results.Where(r => r.Status != expected).ToArray();
                if (results.Count != n || wrong.Length > 0)
                    throw new VerificationException($"expected {n} hosts {expected}; got {results.Count}, e.g. {wrong.FirstOrDefault()?.Machine.Name}: {wrong.FirstOrDefault()?.Status} {wrong.FirstOrDefault()?.Message}");
                return clock.Elapsed;
            }
            await context.Runner.MeasureAsync(Job, EngineFirst, Temperature.Warm, n, new Trial
            {
                Prepare = c => Remote(machines, wipe, c),
                Run = c => Engine(PackageStatus.Installed, c),
            }, ct).ConfigureAwait(false);
            await context.Runner.MeasureAsync(Job, EngineAgain, Temperature.Warm, n, new Trial
            {
                Setup = async c => { await Remote(machines, wipe, c).ConfigureAwait(false); await Engine(PackageStatus.Installed, c).ConfigureAwait(false); },
                Run = c => Engine(PackageStatus.AlreadyPresent, c),
                Cleanup = c => Remote(machines, wipe, c),
            }, ct).ConfigureAwait(false);
            await engine.CloseConnectionsQuietlyAsync(context.Runner.Log).ConfigureAwait(false);

            await using var ws = PeerWorkspace.Create(machines.Select(AgentEndpoint.From).ToArray(), engine.ExtraSshOptions, engine.SshConfigFile);
            var peers = context with { Workspace = ws };
            var playbook = Path.Combine(ws.Root, "packages.yml");
            File.WriteAllText(playbook, $$$"""
                - hosts: all
                  gather_facts: false
                  tasks:
                    - copy: { src: "{{ item }}", dest: /tmp/{{{Prefix}}}-debs/ }
                      loop: [{{{string.Join(", ", debs.Select(d => $"\"{d.File}\""))}}}]
                    - apt: { deb: "/tmp/{{{Prefix}}}-debs/{{ item }}" }
                      loop: [{{{string.Join(", ", debs.Select(d => $"\"{Path.GetFileName(d.File)}\""))}}}]
                """);
            var hosts = ws.Hosts(n);
            async Task<TimeSpan> Ansible(bool unchanged, CancellationToken c)
            {
                // Ansible's apt module reloads apt's cache for every file: minutes, not seconds, so it gets a longer leash.
                var r = await peers.RunPeerAsync("ansible-playbook", ["-i", hosts.InventoryFile, "-f", $"{n}", playbook], c, ws.AnsibleEnvironment,
                    TimeSpan.FromMinutes(30)).ConfigureAwait(false);
                PeerOutput.RequireAll(unchanged ? PeerOutput.AnsiblePlaybookUnchanged(r.Stdout) : PeerOutput.AnsiblePlaybookSucceeded(r.Stdout), hosts, r);
                return r.Elapsed;
            }
            await peers.MeasurePeerAsync("ansible-playbook", Job, AnsibleFirst, Temperature.Warm, n, new Trial
            {
                // Warm: Ansible's masters are opened by a trivial module run first.
                Setup = async c => await peers.RunPeerAsync("ansible", ["-i", hosts.InventoryFile, "-f", $"{n}", "all", "-m", "raw", "-a", "true"], c, ws.AnsibleEnvironment).ConfigureAwait(false),
                Prepare = c => Remote(machines, wipe, c),
                Warmups = 0,
                Run = c => Ansible(unchanged: false, c),
            }, ct).ConfigureAwait(false);
            await peers.MeasurePeerAsync("ansible-playbook", Job, AnsibleAgain, Temperature.Warm, n, new Trial
            {
                Setup = async c => { await Remote(machines, wipe, c).ConfigureAwait(false); await Ansible(unchanged: false, c).ConfigureAwait(false); },
                Run = c => Ansible(unchanged: true, c),
                Warmups = 0,
                Cleanup = async c => { await Remote(machines, wipe, c).ConfigureAwait(false); await ws.CloseAnsibleMastersAsync(c).ConfigureAwait(false); },
            }, ct).ConfigureAwait(false);
        }
        finally
        {
            if (testbed is not null) await testbed.RemoveAsync().ConfigureAwait(false);
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task Remote(IReadOnlyList<AgentMachine> machines, string command, CancellationToken ct)
    {
        var failed = new List<string>();
        await foreach (var r in new RemoteCommandRunner().Operation(new RemoteCommandSpec { Command = command, ThrottleLimit = machines.Count })
                           .Stream(machines, null, ct).ReadAllAsync(ct).ConfigureAwait(false))
            if (!r.Succeeded) failed.Add($"{r.Machine.Name}: {r.Error?.Message}");
        if (failed.Count > 0) throw new VerificationException($"setup failed on {failed.Count} agents; {failed[0]}");
    }

    private static (string Name, string File) Build(string folder, string name, string? depends, long payload)
    {
        var root = Path.Combine(folder, "build-" + name);
        Directory.CreateDirectory(Path.Combine(root, "DEBIAN"));
        Directory.CreateDirectory(Path.Combine(root, "usr", "share", name));
        File.WriteAllText(Path.Combine(root, "DEBIAN", "control"),
            $"Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: bench <bench@localhost>\n{(depends is null ? "" : $"Depends: {depends}\n")}Description: a benchmark package\n");
        if (payload > 0)
        {
            var bytes = new byte[payload];
            new Random(name.Length * 7919 + name[^1]).NextBytes(bytes);
            File.WriteAllBytes(Path.Combine(root, "usr", "share", name, "payload"), bytes);
        }
        File.WriteAllText(Path.Combine(root, "usr", "share", name, "hello"), $"hello from {name}\n");
        var output = Path.Combine(folder, $"{name}_1.0_all.deb");
        var start = new ProcessStartInfo("dpkg-deb", ["-Znone", "--build", "--root-owner-group", root, output]) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var p = Process.Start(start)!;
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new VerificationException($"dpkg-deb: {error}");
        Directory.Delete(root, recursive: true);
        return (name, output);
    }
}
