using System.Diagnostics;
using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.Packages;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Local;
using static Provisioning.IntegrationTests.TransferTestKit;

namespace Provisioning.IntegrationTests.Packages;

/// <summary>
/// Two offline agents (private roots, a network namespace with no route out) and a repository only the controller
/// reaches: packages go from the controller's cache to agents that have no network at all, and nothing comes from the
/// internet (the packages are built by the tests).
/// </summary>
public sealed class OfflinePackageFixture : IAsyncLifetime
{
    public string Tag { get; } = "p" + Guid.NewGuid().ToString("N")[..6];
    public string Folder { get; } = Directory.CreateTempSubdirectory("prov-packages-").FullName;
    public Testbed Testbed { get; private set; } = null!;
    internal DebRepository Repository { get; private set; } = null!;
    public bool Usable { get; private set; }

    public string P(string name) => $"{Tag}-{name}";

    public async Task InitializeAsync()
    {
        Usable = Environment.UserName == "root" && File.Exists("/usr/bin/dpkg-deb") && File.Exists("/usr/bin/apt-get");
        if (!Usable) return;
        Repository = new DebRepository(Folder,
        [
            new TestDeb(P("lib"), PayloadBytes: 64 * 1024), new TestDeb(P("app"), Depends: P("lib")), new TestDeb(P("solo")),
            new TestDeb(P("broken"), Postinst: "echo 'the broken postinst says no' >&2; exit 1"),
            new TestDeb(P("after")), new TestDeb(P("locked")), new TestDeb(P("auto")),
            new TestDeb(P("provlib")), new TestDeb(P("prov"), Depends: P("provlib")), new TestDeb(P("provauto")),
        ]);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Testbed = await LocalProvider.StartAsync(new LocalTestbedOptions { Count = 2, Name = "packages", Isolation = LocalIsolation.Private, Network = LocalNetwork.Offline }, timeout.Token);
        foreach (var machine in Testbed.Machines) await Repository.TeachAsync(machine);
    }

    public async Task DisposeAsync()
    {
        if (Testbed is not null) await Testbed.RemoveAsync();
        Repository?.Dispose();
        Directory.Delete(Folder, recursive: true);
    }
}

public sealed class AgentPackageTests(OfflinePackageFixture fixture) : IClassFixture<OfflinePackageFixture>
{
    private IReadOnlyList<AgentMachine> Machines => fixture.Testbed.Machines;

    [SkippableFact]
    public async Task A_package_and_its_dependency_go_from_the_controller_to_offline_agents_once()
    {
        Skip.IfNot(fixture.Usable, "needs root, dpkg-deb and apt (a Debian controller and agents)");
        var cache = Path.Combine(fixture.Folder, "cache-controller");
        var app = fixture.P("app");
        Assert.Contains("unreachable", await Shell(Machines[0], $"timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/{fixture.Repository.Port}' 2>/dev/null && echo reachable || echo unreachable"));

        var downloadsBefore = fixture.Repository.Requests;
        var plan = await Install(new PackageInstallSpec { Names = [app], CachePath = cache, Check = true });
        Assert.All(plan, r => Assert.Equal(PackageStatus.Planned, r.Status));
        Assert.All(plan, r => Assert.Contains(fixture.P("lib"), r.Message));
        Assert.All(plan, r => Assert.True(r.BytesSent > 64 * 1024, $"{r.BytesSent} bytes planned"));
        Assert.Equal("missing", await Shell(Machines[0], $"dpkg-query -W {app} >/dev/null 2>&1 && echo there || echo missing"));
        Assert.Equal(downloadsBefore, fixture.Repository.Requests);

        var first = await Install(new PackageInstallSpec { Names = [app], CachePath = cache });
        Assert.Equal(2, first.Count);
        foreach (var r in first)
        {
            Assert.True(r.Status == PackageStatus.Installed, $"{r.Machine.Name}: {r.Status} {r.Message}");
            Assert.Equal(PackageSource.Controller, r.Source);
            Assert.Equal("1.0", r.Version);
            Assert.True(r.BytesSent > 64 * 1024, $"{r.BytesSent} bytes sent");
            Assert.Equal($"hello from {fixture.P("lib")}", await Shell(r.Machine, $"cat /usr/share/{fixture.P("lib")}/hello"));
            Assert.Equal("", await Shell(r.Machine, "dpkg --audit"));
        }
        Assert.Equal(downloadsBefore + 2, fixture.Repository.Requests); // each file downloaded once, for both hosts
        Assert.False(File.Exists($"/usr/share/{app}/hello"), "the package reached the controller's own root");
        var manifest = File.ReadAllText(Path.Combine(cache, PackageCache.ManifestName));
        Assert.Contains($"\"name\": \"{fixture.P("lib")}\"", manifest);
        Assert.Contains("\"release\": \"", manifest);

        var again = await Install(new PackageInstallSpec { Names = [app], CachePath = cache });
        Assert.All(again, r => Assert.Equal(PackageStatus.AlreadyPresent, r.Status));
        Assert.All(again, r => Assert.Equal(0, r.BytesSent));

        var listed = await Drain(AgentPackages.Get(new PackageQuerySpec { Names = [fixture.Tag + "-*"], Manager = PackageManager.Apt }));
        Assert.Equal(4, listed.Count(p => p.Name == app || p.Name == fixture.P("lib")));

        var removed = await Drain(AgentPackages.Uninstall(new PackageRemoveSpec { Names = [app] }), Machines.Take(1));
        Assert.Equal(PackageStatus.Removed, Assert.Single(removed).Status);
        var absent = await Drain(AgentPackages.Uninstall(new PackageRemoveSpec { Names = [app] }), Machines.Take(1));
        Assert.Equal(PackageStatus.AlreadyAbsent, Assert.Single(absent).Status);
    }

    [SkippableFact]
    public async Task A_tampered_cache_file_is_refused_and_nothing_is_installed()
    {
        Skip.IfNot(fixture.Usable, "needs root, dpkg-deb and apt");
        var cache = Path.Combine(fixture.Folder, "cache-tampered");
        var solo = fixture.P("solo");
        var saved = await Drain(AgentPackages.Save(new PackageSaveSpec { Names = [solo], CachePath = cache }), Machines.Take(1));
        Assert.Equal(PackageStatus.Saved, Assert.Single(saved).Status);
        var file = Directory.GetFiles(cache, $"{solo}_*.deb", SearchOption.AllDirectories).Single();
        var bytes = File.ReadAllBytes(file);
        bytes[^10] ^= 0xff;
        File.WriteAllBytes(file, bytes);

        var result = Assert.Single(await Install(new PackageInstallSpec { Names = [solo], CachePath = cache, Source = PackageSource.Controller }, Machines.Take(1)));
        Assert.Equal(PackageStatus.Failed, result.Status);
        Assert.Equal(ErrorKind.PackageCacheHashMismatch, result.Error?.Kind);
        Assert.Contains(file, result.Error!.Message);
        Assert.Equal("missing", await Shell(Machines[0], $"dpkg-query -W {solo} >/dev/null 2>&1 && echo there || echo missing"));
        Assert.Equal("", await Shell(Machines[0], $"ls /var/cache/apt/archives | grep {solo} || true"));
    }

    [SkippableFact]
    public async Task A_package_no_source_has_is_named_with_the_host_and_its_release()
    {
        Skip.IfNot(fixture.Usable, "needs root, dpkg-deb and apt");
        var missing = fixture.P("nowhere");
        var results = await Install(new PackageInstallSpec { Names = [missing, fixture.P("auto")], CachePath = Path.Combine(fixture.Folder, "cache-missing") });
        var failed = results.Where(r => r.Name == missing).ToArray();
        Assert.Equal(2, failed.Length);
        foreach (var r in failed)
        {
            Assert.Equal(ErrorKind.PackageNotFound, r.Error?.Kind);
            Assert.Equal(HostStatus.Failed, r.HostStatus);
            Assert.Contains(missing, r.Error!.Message);
            Assert.Contains(r.Machine.Name, r.Error.Message);
            Assert.Contains("bookworm", r.Error.Message);
        }
    }

    [SkippableFact]
    public async Task Saved_packages_install_later_with_the_controller_offline_too()
    {
        Skip.IfNot(fixture.Usable, "needs root, dpkg-deb and apt");
        var folder = Directory.CreateTempSubdirectory("prov-save-").FullName;
        try
        {
            using var repository = new DebRepository(folder, [new TestDeb(fixture.P("savedlib")), new TestDeb(fixture.P("saved"), Depends: fixture.P("savedlib"))]);
            foreach (var machine in Machines) await repository.TeachAsync(machine);
            var cache = Path.Combine(folder, "cache");
            var saved = await Drain(AgentPackages.Save(new PackageSaveSpec { Names = [fixture.P("saved")], CachePath = cache }), Machines.Take(1));
            Assert.Equal(2, saved.Count(r => r.Status == PackageStatus.Saved));
            repository.GoOffline();

            var installed = await Install(new PackageInstallSpec { Names = [fixture.P("saved")], CachePath = cache, Source = PackageSource.Controller });
            Assert.All(installed, r => Assert.True(r.Status == PackageStatus.Installed, $"{r.Machine.Name}: {r.Status} {r.Message}"));
            Assert.Equal(2, repository.Requests); // the two files of the save, nothing since
            foreach (var machine in Machines)
                Assert.Equal($"hello from {fixture.P("savedlib")}", await Shell(machine, $"cat /usr/share/{fixture.P("savedlib")}/hello"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [SkippableFact]
    public async Task The_agent_installs_from_its_own_repository_and_auto_sees_it_can()
    {
        Skip.IfNot(fixture.Usable, "needs root, dpkg-deb and apt");
        var local = fixture.P("local");
        // A repository of the agents' own (a file: source on their disk) that the controller's repository does not mirror.
        using var own = new DebRepository(Path.Combine(fixture.Folder, "own"), [new TestDeb(local)]);
        foreach (var machine in Machines) await own.CopyAsFileRepositoryAsync(machine, "/srv/prov-repo", local);
        var agent = Assert.Single(await Install(new PackageInstallSpec { Names = [local], Source = PackageSource.Agent }, Machines.Take(1)));
        Assert.True(agent.Status == PackageStatus.Installed, $"{agent.Status}: {agent.Message}");
        Assert.Equal(PackageSource.Agent, agent.Source);
        Assert.Equal(0, agent.BytesSent);

        var auto = Assert.Single(await Install(new PackageInstallSpec { Names = [local], CachePath = Path.Combine(fixture.Folder, "cache-auto") }, Machines.Skip(1)));
        Assert.True(auto.Status == PackageStatus.Installed, $"{auto.Status}: {auto.Message}");
        Assert.Equal(PackageSource.Agent, auto.Source);
    }

    [SkippableFact]
    public async Task A_failing_maintainer_script_is_reported_and_the_database_stays_usable()
    {
        Skip.IfNot(fixture.Usable, "needs root, dpkg-deb and apt");
        var cache = Path.Combine(fixture.Folder, "cache-broken");
        try
        {
            var broken = Assert.Single(await Install(new PackageInstallSpec { Names = [fixture.P("broken")], CachePath = cache }, Machines.Take(1)));
            Assert.Equal(PackageStatus.Failed, broken.Status);
            Assert.True(broken.Error?.Kind is ErrorKind.PackagePartiallyInstalled or ErrorKind.PackageInstallFailed, $"{broken.Error?.Kind}: {broken.Message}");
            Assert.True(broken.Message.Contains("post-installation", StringComparison.Ordinal) && broken.Message.Contains("the broken postinst says no", StringComparison.Ordinal), broken.Message);

            var after = Assert.Single(await Install(new PackageInstallSpec { Names = [fixture.P("after")], CachePath = cache }, Machines.Take(1)));
            Assert.True(after.Status == PackageStatus.Installed, $"{after.Status}: {after.Message}");
        }
        finally
        {
            await Shell(Machines[0], $"dpkg --purge {fixture.P("broken")} >/dev/null 2>&1 || true");
        }
    }

    [SkippableFact]
    public async Task A_package_database_held_by_another_apt_is_waited_for_then_reported()
    {
        Skip.IfNot(fixture.Usable, "needs root, dpkg-deb and apt");
        var machine = Machines[1];
        // Holds dpkg's frontend lock as apt does (an fcntl lock), for longer than the lock timeout.
        await Shell(machine, "nohup python3 -c \"import fcntl,time; f=open('/var/lib/dpkg/lock-frontend','w'); fcntl.lockf(f, fcntl.LOCK_EX); open('/tmp/prov-locked','w').close(); time.sleep(20)\" >/dev/null 2>&1 & " +
                             "for i in $(seq 50); do [ -e /tmp/prov-locked ] && break; sleep 0.1; done");
        try
        {
            var clock = Stopwatch.StartNew();
            var result = Assert.Single(await Install(new PackageInstallSpec { Names = [fixture.P("locked")], CachePath = Path.Combine(fixture.Folder, "cache-locked"), LockTimeout = TimeSpan.FromSeconds(2) }, [machine]));
            Assert.Equal(PackageStatus.Failed, result.Status);
            Assert.True(result.Error?.Kind == ErrorKind.PackageDatabaseLocked, $"{result.Error?.Kind}: {result.Message}");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(18), $"gave up after {clock.Elapsed}, not after the 2 s lock timeout");
        }
        finally
        {
            await Shell(machine, "pkill -f prov-locked || true; rm -f /tmp/prov-locked");
        }
    }

    [SkippableFact]
    public async Task A_wheel_from_a_local_folder_installs_into_an_offline_virtual_environment_with_its_dependency()
    {
        Skip.IfNot(fixture.Usable, "needs root, dpkg-deb and apt");
        var machine = Machines[0];
        var venv = await machine.Testbed!.Transport.ExecuteAsync(machine, new Core.Transport.RemoteExecutionRequest { Command = "python3 -m venv /opt/prov-venv", Timeout = TimeSpan.FromSeconds(60) }, CancellationToken.None);
        Skip.If(venv.ExitCode != 0, $"python3 -m venv does not work on this machine (python3-venv): {venv.Stderr}");
        var wheels = Directory.CreateDirectory(Path.Combine(fixture.Folder, "wheels")).FullName;
        var name = fixture.Tag + "_tiny";
        TestWheel.Build(wheels, name, "1.0", fixture.Tag + "_dep");
        TestWheel.Build(wheels, fixture.Tag + "_dep", "2.0");
        machine.Variables[AgentPackages.PipExecutableVariable] = "/opt/prov-venv/bin/pip";
        try
        {
            var spec = new PackageInstallSpec { Names = [name], Manager = PackageManager.Pip, CachePath = wheels };
            var first = Assert.Single(await Install(spec, [machine]));
            Assert.True(first.Status == PackageStatus.Installed, $"{first.Status}: {first.Message}");
            Assert.Equal(PackageSource.Controller, first.Source);
            Assert.True(first.BytesSent > 0);
            Assert.Equal($"{name} 1.0 {fixture.Tag}_dep 2.0", await Shell(machine, $"/opt/prov-venv/bin/python -c 'import {name}, {fixture.Tag}_dep; print({name}.VALUE, {fixture.Tag}_dep.VALUE)'"));

            var again = Assert.Single(await Install(spec, [machine]));
            Assert.Equal(PackageStatus.AlreadyPresent, again.Status);
            Assert.Equal(0, again.BytesSent);

            var listed = await Drain(AgentPackages.Get(new PackageQuerySpec { Names = [fixture.Tag + "*"], Manager = PackageManager.Pip }), [machine]);
            Assert.Equal(2, listed.Count);
            var removed = Assert.Single(await Drain(AgentPackages.Uninstall(new PackageRemoveSpec { Names = [name], Manager = PackageManager.Pip }), [machine]));
            Assert.Equal(PackageStatus.Removed, removed.Status);
        }
        finally
        {
            machine.Variables.Remove(AgentPackages.PipExecutableVariable);
        }
    }

    [SkippableFact]
    public async Task A_provision_package_task_installs_on_offline_agents_from_the_controller()
    {
        Skip.IfNot(fixture.Usable, "needs root, dpkg-deb and apt");
        var package = fixture.P("prov");
        var document = Core.Provision.ProvisionDocumentReader.Read($$"""
            steps:
              - name: software
                tasks:
                  - package: { name: {{package}}, source: controller, cache: ./cache-provision }
            """, Path.Combine(fixture.Folder, "offline.yaml"), fixture.Folder);
        var spec = new Core.Provision.ProvisionSpec { Document = document };
        var first = await DrainAsync(Core.Provision.Provisioner.Operation(spec).Stream(Machines.ToList(), null, CancellationToken.None));
        var tasks = first.OfType<Core.Provision.ProvisionResult>().ToArray();
        Assert.Equal(2, tasks.Length);
        Assert.All(tasks, t => Assert.True(t.TaskStatus == Core.Provision.ProvisionTaskStatus.Changed, $"{t.Machine.Name}: {t.TaskStatus} {t.Message}"));
        foreach (var machine in Machines) Assert.Equal($"hello from {fixture.P("provlib")}", await Shell(machine, $"cat /usr/share/{fixture.P("provlib")}/hello"));
        Assert.True(File.Exists(Path.Combine(fixture.Folder, "cache-provision", PackageCache.ManifestName)));

        var again = await DrainAsync(Core.Provision.Provisioner.Operation(spec).Stream(Machines.ToList(), null, CancellationToken.None));
        Assert.All(again.OfType<Core.Provision.ProvisionResult>(), t => Assert.Equal(Core.Provision.ProvisionTaskStatus.Ok, t.TaskStatus));

        // source: auto finds the agents' repository unreachable and takes the controller's cache as well.
        var auto = Core.Provision.ProvisionDocumentReader.Read($$"""
            steps:
              - name: software
                tasks:
                  - package: { name: {{fixture.P("provauto")}}, source: auto, cache: ./cache-provision }
            """, Path.Combine(fixture.Folder, "auto.yaml"), fixture.Folder);
        var autoRun = await DrainAsync(Core.Provision.Provisioner.Operation(new Core.Provision.ProvisionSpec { Document = auto }).Stream(Machines.ToList(), null, CancellationToken.None));
        Assert.All(autoRun.OfType<Core.Provision.ProvisionResult>(), t => Assert.True(t.TaskStatus == Core.Provision.ProvisionTaskStatus.Changed, $"{t.Machine.Name}: {t.TaskStatus} {t.Message}"));

        var bad = Assert.Throws<Core.Errors.TestbedFormatException>(() => Core.Provision.ProvisionDocumentReader.Read(
            "steps:\n  - name: s\n    tasks:\n      - package: { name: x, source: internet }\n", "bad.yaml", fixture.Folder));
        Assert.Contains("source", bad.Message);
        Assert.Contains("bad.yaml:4", bad.Message);
    }

    [SkippableFact]
    public async Task A_packed_npm_tarball_installs_globally_on_an_offline_agent_once()
    {
        Skip.IfNot(fixture.Usable && File.Exists("/usr/bin/npm"), "needs root, apt and npm");
        var machine = Machines[1];
        var name = fixture.P("npm");
        var tarball = Path.Combine(fixture.Folder, $"{name}-1.0.0.tgz");
        using (var file = File.Create(tarball))
        using (var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Fastest))
        using (var tar = new System.Formats.Tar.TarWriter(gzip, System.Formats.Tar.TarEntryFormat.Pax))
        {
            foreach (var (entry, text) in new[] { ("package/package.json", $$"""{ "name": "{{name}}", "version": "1.0.0", "main": "index.js" }"""), ("package/index.js", "module.exports = 42;\n") })
            {
                tar.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, entry)
                {
                    DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)),
                    Mode = (UnixFileMode)0b110_100_100,
                });
            }
        }
        var first = Assert.Single(await Install(new PackageInstallSpec { Paths = [tarball] }, [machine]));
        Assert.True(first.Status == PackageStatus.Installed, $"{first.Status}: {first.Message}");
        Assert.Equal(PackageManager.Npm, first.Manager);
        Assert.Equal("1.0.0", first.Version);
        Assert.Equal("42", await Shell(machine, $"cd / && node -e \"console.log(require('$(npm root -g)/{name}'))\""));

        var again = Assert.Single(await Install(new PackageInstallSpec { Paths = [tarball] }, [machine]));
        Assert.Equal(PackageStatus.AlreadyPresent, again.Status);
        Assert.Equal(0, again.BytesSent);
        Assert.Single(await Drain(AgentPackages.Get(new PackageQuerySpec { Names = [name], Manager = PackageManager.Npm }), [machine]));
        var removed = Assert.Single(await Drain(AgentPackages.Uninstall(new PackageRemoveSpec { Names = [name], Manager = PackageManager.Npm }), [machine]));
        Assert.Equal(PackageStatus.Removed, removed.Status);
    }

    private Task<List<PackageResult>> Install(PackageInstallSpec spec, IEnumerable<AgentMachine>? machines = null) => Drain(AgentPackages.Install(spec), machines);

    private async Task<List<T>> Drain<T>(HostOperation<T> operation, IEnumerable<AgentMachine>? machines = null) where T : HostOutcome =>
        await DrainAsync(operation.Stream((machines ?? Machines).ToList(), null, CancellationToken.None));

    private static async Task<string> Shell(AgentMachine machine, string command) => (await RemoteAsync(machine, command)).Trim();
}
