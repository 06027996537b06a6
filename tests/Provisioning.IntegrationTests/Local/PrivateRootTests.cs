using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Provisioning.Core.Execution;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Local;
using static Provisioning.IntegrationTests.TransferTestKit;

namespace Provisioning.IntegrationTests.Local;

/// <summary>
/// Local agents that behave like separate machines: a private copy-on-write root and PID namespace each, as root on
/// Linux. Every check looks at the agents through ssh and at the controller directly, so "only on agent-1" is seen
/// from all three sides. Skipped, with the reason, where private roots cannot work (not root).
/// </summary>
public sealed class PrivateRootTests(PrivateRootTests.PrivateTestbed fixture) : IClassFixture<PrivateRootTests.PrivateTestbed>
{
    /// <summary>Three agents with private roots, or the reason there are none.</summary>
    public sealed class PrivateTestbed : IAsyncLifetime
    {
        public Testbed? Testbed { get; private set; }
        public string? Unavailable { get; private set; }

        public async Task InitializeAsync()
        {
            if (LinuxRoot() is { } why)
            {
                Unavailable = why;
                return;
            }
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            Testbed = await LocalProvider.StartAsync(new LocalTestbedOptions { Count = 3, Name = "private", Isolation = LocalIsolation.Private }, timeout.Token);
        }

        public async Task DisposeAsync()
        {
            if (Testbed is not null) await Testbed.RemoveAsync();
        }
    }

    /// <summary>Null as root on Linux; else why private roots cannot be tested here.</summary>
    internal static string? LinuxRoot() =>
        Environment.UserName == "root" || LinuxProcessesAreRoot() ? null : "private roots need root (CI runs as root)";

    private static bool LinuxProcessesAreRoot() => File.ReadAllLines("/proc/self/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t')[1] == "0");

    private Testbed Testbed
    {
        get
        {
            Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
            return fixture.Testbed!;
        }
    }

    private static async Task<RemoteCommandResult> RunAsync(AgentMachine machine, string command) =>
        Assert.Single(await DrainAsync(new RemoteCommandRunner().Operation(new RemoteCommandSpec { Command = command, Timeout = TimeSpan.FromSeconds(60) })
            .Stream([machine], null, CancellationToken.None)));

    private static async Task<string> OkAsync(AgentMachine machine, string command)
    {
        var r = await RunAsync(machine, command);
        Assert.True(r.Succeeded, $"{machine.Name}: {command}: {r.Status} {r.Stderr} {r.Error?.Message}");
        return r.Stdout.Trim();
    }

    [SkippableFact]
    public async Task A_package_installed_with_dpkg_on_one_agent_is_on_that_agent_only()
    {
        var (agent1, agent2) = (Testbed.Machines[0], Testbed.Machines[1]);
        var name = $"prov-test-{Guid.NewGuid():N}"[..18];
        var deb = BuildPackage(name, WorkPath(agent1, "."));

        await OkAsync(agent1, $"dpkg -i {Path.GetFileName(deb)} >/dev/null && dpkg -s {name} | grep -q 'Status: install ok installed' && cat /usr/share/{name}/hello");
        Assert.Equal("hello", await OkAsync(agent1, $"cat /usr/share/{name}/hello"));

        Assert.False((await RunAsync(agent2, $"dpkg -s {name}")).Succeeded, "the package is on agent-2 too");
        Assert.False((await RunAsync(agent2, $"test -e /usr/share/{name}")).Succeeded);
        Assert.False(Directory.Exists($"/usr/share/{name}"), "the package's files are on the controller");
        using var dpkg = Process.Start(new ProcessStartInfo("dpkg", ["-s", name]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        await dpkg.WaitForExitAsync();
        Assert.NotEqual(0, dpkg.ExitCode);
    }

    [SkippableFact]
    public async Task Users_and_files_at_absolute_paths_are_private_to_their_agent()
    {
        var (agent1, agent2) = (Testbed.Machines[0], Testbed.Machines[1]);
        var marker = $"prov{Guid.NewGuid():N}"[..12];
        await OkAsync(agent1, $"echo {marker} > /etc/{marker}.conf && mkdir -p /srv/{marker} && useradd -M {marker} && id -u {marker}");

        Assert.Equal(marker, await OkAsync(agent1, $"cat /etc/{marker}.conf"));
        Assert.False((await RunAsync(agent2, $"test -e /etc/{marker}.conf || test -e /srv/{marker}")).Succeeded, "agent-2 sees agent-1's files");
        Assert.False((await RunAsync(agent2, $"id {marker}")).Succeeded, "agent-2 has agent-1's user");
        Assert.False(File.Exists($"/etc/{marker}.conf"));
        Assert.False(Directory.Exists($"/srv/{marker}"));
        Assert.DoesNotContain(File.ReadLines("/etc/passwd"), l => l.StartsWith(marker + ":", StringComparison.Ordinal));
        // Its own /tmp, /proc and hostname, as a machine has.
        Assert.Equal("agent-1", await OkAsync(agent1, "hostname"));
        Assert.Equal("", await OkAsync(agent1, $"ls /tmp | grep -vxF {Path.GetFileName(Testbed.StateDirectory)} || true"));
        // Of the testbed's state folder, an agent sees its own folder and the keys sshd reads, not the others' or the layers.
        Assert.Equal("agent-1", await OkAsync(agent1, $"ls {Testbed.StateDirectory}/agents"));
        Assert.False((await RunAsync(agent1, $"test -e {Testbed.StateDirectory}/roots || test -e {Testbed.StateDirectory}/id_ed25519")).Succeeded);
    }

    [SkippableFact]
    public async Task Processes_are_seen_and_killed_on_their_own_agent_only()
    {
        var (agent1, agent2) = (Testbed.Machines[1], Testbed.Machines[2]);
        var seconds = $"7{Random.Shared.Next(1000, 9999)}.5";
        const string start = "setsid sleep {0} </dev/null >/dev/null 2>&1 & echo started";
        await OkAsync(agent1, string.Format(System.Globalization.CultureInfo.InvariantCulture, start, seconds));
        await OkAsync(agent2, string.Format(System.Globalization.CultureInfo.InvariantCulture, start, seconds));
        try
        {
            // ps on an agent sees a handful of processes: its sshd and the sessions, not this machine's.
            var count = int.Parse(await OkAsync(agent1, "ps -e --no-headers | wc -l"), System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(count, 2, 12);
            Assert.Equal("1", await OkAsync(agent1, $"pgrep -fc 'sleep {seconds}'"));

            await OkAsync(agent1, $"pkill -f 'sleep {seconds}'; sleep 0.2; ! pgrep -f 'sleep {seconds}'");
            Assert.Equal("1", await OkAsync(agent2, $"pgrep -fc 'sleep {seconds}'"));

            // kill -9 -1 on an agent reaches every process of that agent but its sshd, and nothing elsewhere.
            await OkAsync(agent1, string.Format(System.Globalization.CultureInfo.InvariantCulture, start, seconds));
            _ = await RunAsync(agent1, "kill -9 -1");
            Assert.Equal("1", await OkAsync(agent2, $"pgrep -fc 'sleep {seconds}'"));
            Assert.Equal("0", await OkAsync(agent1, $"pgrep -fc 'sleep {seconds}' || true"));
            Assert.Single(ProcessTable.WithCommandLineContaining($"sleep {seconds}"));
        }
        finally
        {
            await RunAsync(agent2, $"pkill -f 'sleep {seconds}'");
        }
    }

    /// <summary>A tiny package built here with dpkg-deb: one file, /usr/share/NAME/hello.</summary>
    internal static string BuildPackage(string name, string destination, string? depends = null)
    {
        var root = Directory.CreateTempSubdirectory("prov-deb-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "DEBIAN"));
            Directory.CreateDirectory(Path.Combine(root, "usr", "share", name));
            File.WriteAllText(Path.Combine(root, "usr", "share", name, "hello"), "hello\n");
            File.WriteAllText(Path.Combine(root, "DEBIAN", "control"),
                $"Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: Provisioning tests <tests@localhost>\n" +
                (depends is null ? "" : $"Depends: {depends}\n") + $"Description: a package the tests build\n");
            var deb = Path.Combine(Path.GetFullPath(destination), name + "_1.0_all.deb");
            using var build = Process.Start(new ProcessStartInfo("dpkg-deb", ["--build", "--root-owner-group", root, deb]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var err = build.StandardError.ReadToEnd();
            build.WaitForExit();
            Assert.True(build.ExitCode == 0, $"dpkg-deb failed: {err}");
            return deb;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}

/// <summary>A testbed whose agents are offline: they reach each other and nothing else.</summary>
public sealed class OfflineNetworkTests
{
    [SkippableFact]
    public async Task Offline_agents_reach_each_other_and_nothing_outside()
    {
        var why = PrivateRootTests.LinuxRoot();
        Skip.If(why is not null, why);
        // A listener on this machine's own loopback: outside the agents' namespace, so they must not reach it.
        using var outside = new TcpListener(IPAddress.Loopback, 0);
        outside.Start();
        var port = ((IPEndPoint)outside.LocalEndpoint).Port;

        var hostMounts = File.ReadAllLines("/proc/self/mountinfo");
        await using var testbed = await LocalProvider.StartAsync(new LocalTestbedOptions { Count = 2, Network = LocalNetwork.Offline }, CancellationToken.None);
        var (agent1, agent2) = (testbed.Machines[0], testbed.Machines[1]);
        var lifetime = LocalProvider.LifetimeOf(testbed)!;
        var holder = lifetime.Network!.Holder.Id;
        // Private roots by default as root: each agent's overlay is mounted in its own namespace, never in this one.
        Assert.Equal(LocalIsolation.Private, lifetime.Isolation);
        Assert.All(lifetime.Agents, a => Assert.Contains(File.ReadLines($"/proc/{a.ProcessId}/task/{a.ProcessId}/children")
            .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .SelectMany(child => File.ReadLines($"/proc/{child}/mountinfo")), m => m.Contains(" overlay ", StringComparison.Ordinal)));
        Assert.DoesNotContain(File.ReadLines("/proc/self/mountinfo"), m => m.Contains(testbed.StateDirectory, StringComparison.Ordinal));

        var clock = Stopwatch.StartNew();
        var blocked = await Run(agent1, $"timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}' && echo reached || echo blocked");
        Assert.Equal("blocked", blocked.Stdout.Trim());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"the failed connect took {clock.Elapsed}");
        Assert.Equal("1", (await Run(agent1, "ip -o link | wc -l")).Stdout.Trim()); // lo only

        var banner = await Run(agent2, $"timeout 5 bash -c 'exec 3<>/dev/tcp/{agent1.Address}/{agent1.Port} && head -c 7 <&3'");
        Assert.Equal("SSH-2.0", banner.Stdout.Trim());

        await testbed.RemoveAsync();
        Assert.False(Directory.Exists($"/proc/{holder}"), "the namespace holder is still running");
        Assert.Empty(ProcessTable.WithCommandLineContaining(testbed.StateDirectory));
        Assert.False(Directory.Exists(testbed.StateDirectory), "the upper layers are still there");
        Assert.Equal(hostMounts.Order(), File.ReadAllLines("/proc/self/mountinfo").Order());
    }

    [Fact]
    public async Task Offline_is_refused_with_a_reason_where_it_cannot_work()
    {
        // Namespaces turned off stands for a machine without them (the way a non-root user sees it).
        var e = await Assert.ThrowsAsync<Core.Errors.ProvisioningException>(() =>
            LocalProvider.StartAsync(new LocalTestbedOptions { Count = 1, Network = LocalNetwork.Offline, UseNamespaces = false }, CancellationToken.None));
        Assert.Equal(Core.Errors.ErrorKind.ProviderFailed, e.Kind);
        Assert.Contains("-Network Offline", e.Message);
    }

    [Fact]
    public async Task Private_is_refused_with_a_reason_where_it_cannot_work()
    {
        var e = await Assert.ThrowsAsync<Core.Errors.ProvisioningException>(() =>
            LocalProvider.StartAsync(new LocalTestbedOptions { Count = 1, Isolation = LocalIsolation.Private, UseNamespaces = false }, CancellationToken.None));
        Assert.Equal(Core.Errors.ErrorKind.ProviderFailed, e.Kind);
        Assert.Contains("-Isolation Private", e.Message);
        Assert.Contains("namespaces were turned off", e.Message);
    }

    [Fact]
    public async Task Without_private_roots_the_testbed_says_why_once()
    {
        await using var testbed = await LocalProvider.StartAsync(new LocalTestbedOptions { Count = 1, UseNamespaces = false }, CancellationToken.None);
        var note = Assert.Single(testbed.ProviderNotes);
        Assert.Contains("share this machine's root filesystem and processes", note);
        Assert.Equal(LocalIsolation.Shared, LocalProvider.LifetimeOf(testbed)!.Isolation);
    }

    private static async Task<RemoteCommandResult> Run(AgentMachine machine, string command)
    {
        var r = Assert.Single(await DrainAsync(new RemoteCommandRunner().Operation(new RemoteCommandSpec { Command = command, Timeout = TimeSpan.FromSeconds(30) })
            .Stream([machine], null, CancellationToken.None)));
        Assert.True(r.Succeeded, $"{machine.Name}: {command}: {r.Status} {r.Stderr} {r.Error?.Message}");
        return r;
    }
}
