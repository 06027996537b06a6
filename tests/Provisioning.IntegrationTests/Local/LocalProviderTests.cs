using System.Diagnostics;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Local;

namespace Provisioning.IntegrationTests.Local;

/// <summary>Starting, failing and stopping Local testbeds of their own (small ones: the machine has 2 cores).</summary>
public sealed class LocalProviderTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Remove_stops_every_sshd_and_its_sessions_and_deletes_the_state()
    {
        var testbed = await Start(new LocalTestbedOptions { Count = 3 });
        var state = testbed.StateDirectory;
        Assert.Equal(3, ProcessTable.WithCommandLineContaining(state).Count(p => p.Contains("sshd -D")));

        // A session in progress: its sshd children and remote command must go too.
        var marker = $"sleep 3{Random.Shared.Next(100, 999)}";
        using var session = Process.Start(PlainSsh.StartInfo(testbed.Machines[0], $"echo started; exec {marker}"))!;
        Assert.Equal("started", await session.StandardOutput.ReadLineAsync());
        Assert.NotEmpty(ProcessTable.WithCommandLineContaining(marker));

        var clock = Stopwatch.StartNew();
        await testbed.RemoveAsync();
        // Bounded, not fast: a hang is the defect; speed is the benchmark's business.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"Remove took {clock.Elapsed}");

        Assert.True(testbed.IsRemoved);
        Assert.Empty(ProcessTable.WithCommandLineContaining(state));
        Assert.Empty(ProcessTable.WithCommandLineContaining(marker));
        Assert.False(Directory.Exists(state));
        Assert.True(session.WaitForExit(5000));
        await testbed.RemoveAsync(); // twice is harmless
    }

    [Fact]
    public async Task A_given_state_folder_keeps_what_the_provider_did_not_create()
    {
        var state = Directory.CreateTempSubdirectory("prov-given-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(state, "journal.db"), "keep me");
            var testbed = await Start(new LocalTestbedOptions { Count = 1, StateDirectory = state });
            Assert.Equal(state, testbed.StateDirectory);
            Assert.Equal(0, (await PlainSsh.RunAsync(testbed.Machines[0], "true")).ExitCode);
            await testbed.RemoveAsync();

            Assert.Empty(ProcessTable.WithCommandLineContaining(state));
            Assert.Equal(new[] { "journal.db" }, Directory.GetFileSystemEntries(state).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [Fact]
    public async Task A_long_state_path_keeps_control_sockets_short_enough()
    {
        var state = Path.Combine(Path.GetTempPath(), "prov-" + new string('l', 90));
        var testbed = await Start(new LocalTestbedOptions { Count = 1, StateDirectory = state });
        var control = ((Provisioning.Core.Transport.TransportRouter)testbed.Transport).OpenSsh.Options.ControlDirectory;
        try
        {
            Assert.False(control.StartsWith(state, StringComparison.Ordinal));
            // ssh binds "<dir>/<40 hex>.<16 random>" first: that must fit in a unix socket path (107 bytes).
            Assert.True(control.Length + 1 + 40 + 17 <= 107, control);
            string[] master = ["-o", "ControlMaster=auto", "-o", $"ControlPath={control}/%C", "-o", "ControlPersist=30"];
            var r = await PlainSsh.RunAsync(testbed.Machines[0], "true", extraArguments: master);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Single(Directory.GetFileSystemEntries(control));
            r = await PlainSsh.RunAsync(testbed.Machines[0], "echo warm", extraArguments: master); // over the master
            Assert.Equal("warm\n", r.Stdout);
        }
        finally
        {
            await testbed.RemoveAsync();
        }
        Assert.False(Directory.Exists(control));
        Assert.False(Directory.Exists(state));
        Assert.Empty(ProcessTable.WithCommandLineContaining(control));
    }

    [Fact]
    public async Task Agents_work_without_namespaces()
    {
        await using var testbed = await Start(new LocalTestbedOptions { Count = 2, UseNamespaces = false });
        Assert.False(LocalProvider.LifetimeOf(testbed)!.Isolated);
        foreach (var m in testbed.Machines)
        {
            var r = await PlainSsh.RunAsync(m, $"hostname; cd '{m.WorkDir}' && pwd");
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal($"{Environment.MachineName}\n{m.WorkDir}\n", r.Stdout);
        }
    }

    [Fact]
    public async Task Concurrent_testbeds_get_different_addresses()
    {
        var started = await Task.WhenAll(Start(new LocalTestbedOptions { Count = 2 }), Start(new LocalTestbedOptions { Count = 2 }));
        try
        {
            var a = started[0].Machines.Select(m => $"{m.Address}:{m.Port}").ToArray();
            var b = started[1].Machines.Select(m => $"{m.Address}:{m.Port}").ToArray();
            Assert.Empty(a.Intersect(b));
            Assert.Empty(started[0].Machines.Select(m => m.Address).Intersect(started[1].Machines.Select(m => m.Address)));
            Assert.Equal(0, (await PlainSsh.RunAsync(started[1].Machines[1], "true")).ExitCode);
        }
        finally
        {
            foreach (var t in started) await t.RemoveAsync();
        }
    }

    [Fact]
    public async Task The_crash_guard_stops_the_agents_when_the_owner_dies_without_removing_them()
    {
        var testbed = await Start(new LocalTestbedOptions { Count = 2 });
        var lifetime = LocalProvider.LifetimeOf(testbed)!;
        var marker = $"sleep 4{Random.Shared.Next(100, 999)}";
        using var session = Process.Start(PlainSsh.StartInfo(testbed.Machines[1], $"echo started; exec {marker}"))!;
        try
        {
            Assert.Equal("started", await session.StandardOutput.ReadLineAsync());
            Assert.Equal(2, ProcessTable.WithCommandLineContaining(testbed.StateDirectory).Count(p => p.Contains("sshd -D")));
            // What the kernel does to the guard's pipe when this process dies.
            lifetime.Guard!.SimulateOwnerDeath();
            Assert.True(lifetime.Guard.WaitForExit(TimeSpan.FromSeconds(10)));
            Assert.DoesNotContain(ProcessTable.WithCommandLineContaining(testbed.StateDirectory), p => p.Contains("sshd"));
            Assert.Empty(ProcessTable.WithCommandLineContaining(marker));
            Assert.False(Directory.Exists(testbed.StateDirectory));
            Assert.True(session.WaitForExit(5000));
        }
        finally
        {
            await testbed.RemoveAsync();
            if (!session.HasExited) session.Kill();
        }
    }

    [Fact]
    public async Task Cancelling_the_start_leaves_nothing_behind()
    {
        var state = Path.Combine(Path.GetTempPath(), $"prov-cancel-{Guid.NewGuid():N}"[..20]);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            LocalProvider.StartAsync(new LocalTestbedOptions { Count = 2, StateDirectory = state }, cancelled.Token));
        Assert.False(Directory.Exists(state));
        Assert.Empty(ProcessTable.WithCommandLineContaining(state));
    }

    [Fact]
    public async Task A_failing_agent_stops_the_others_and_quotes_its_log()
    {
        var scratch = Directory.CreateTempSubdirectory("prov-fail-").FullName;
        try
        {
            // Runs the real sshd for every agent but agent-2, which dies with a message in its log.
            var wrapper = Path.Combine(scratch, "sshd");
            File.WriteAllText(wrapper, """
                #!/bin/sh
                case "$*" in
                *agents/agent-2/*) echo "simulated failure of agent-2" >&2; exit 3 ;;
                esac
                exec /usr/sbin/sshd "$@"
                """);
            File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var state = Path.Combine(scratch, "state");

            var e = await Assert.ThrowsAsync<ProvisioningException>(() =>
                Start(new LocalTestbedOptions { Count = 3, StateDirectory = state, SshdPath = wrapper }));
            Assert.Equal(ErrorKind.ProviderFailed, e.Kind);
            Assert.Contains("agent-2", e.Message);
            Assert.Contains("simulated failure of agent-2", e.Message);
            Assert.Empty(ProcessTable.WithCommandLineContaining(state));
            Assert.False(Directory.Exists(state));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public async Task A_missing_sshd_names_the_package_to_install()
    {
        var e = await Assert.ThrowsAsync<ProvisioningException>(() =>
            LocalProvider.StartAsync(new LocalTestbedOptions { Count = 1, SshdPath = "/nonexistent/sbin/sshd" }, CancellationToken.None));
        Assert.Equal(ErrorKind.DependencyMissing, e.Kind);
        Assert.Contains("openssh-server", e.Message);
        Assert.Contains("apt-get install openssh-server", e.Message);
    }

    [Fact]
    public async Task A_missing_ssh_keygen_names_the_package_to_install()
    {
        var e = await Assert.ThrowsAsync<ProvisioningException>(() =>
            LocalProvider.StartAsync(new LocalTestbedOptions { Count = 1, SshKeygenPath = "/nonexistent/bin/ssh-keygen" }, CancellationToken.None));
        Assert.Equal(ErrorKind.DependencyMissing, e.Kind);
        Assert.Contains("openssh-client", e.Message);
    }

    [Theory]
    [InlineData(4, 2, 3, "ask for 5 agents")]
    [InlineData(4, -1, 1, "cannot be negative")]
    public async Task Role_counts_that_do_not_fit_are_rejected_before_anything_starts(int count, int servers, int clients, string expected)
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => LocalProvider.StartAsync(new LocalTestbedOptions
        {
            Count = count,
            Roles = new Dictionary<string, int> { ["server"] = servers, ["client"] = clients },
        }, CancellationToken.None));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public async Task Role_names_differing_only_in_case_are_rejected()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => LocalProvider.StartAsync(new LocalTestbedOptions
        {
            Count = 4,
            Roles = new Dictionary<string, int> { ["server"] = 1, ["Server"] = 1 },
        }, CancellationToken.None));
        Assert.Contains("given twice", e.Message);
    }

    [Fact]
    public async Task A_killed_agent_is_unreachable_while_the_others_answer()
    {
        await using var testbed = await Start(new LocalTestbedOptions { Count = 2 });
        LocalProvider.LifetimeOf(testbed)!.Kill("agent-1");

        var dead = await PlainSsh.RunAsync(testbed.Machines[0], "true");
        Assert.Equal(255, dead.ExitCode);
        Assert.Contains("Connection refused", dead.Stderr);
        Assert.Equal(0, (await PlainSsh.RunAsync(testbed.Machines[1], "true")).ExitCode);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(LocalProvider.MaxCount + 1)]
    public async Task Count_out_of_range_is_rejected(int count)
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            LocalProvider.StartAsync(new LocalTestbedOptions { Count = count }, CancellationToken.None));
    }

    private static async Task<Testbed> Start(LocalTestbedOptions options)
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        return await LocalProvider.StartAsync(options, timeout.Token);
    }
}
