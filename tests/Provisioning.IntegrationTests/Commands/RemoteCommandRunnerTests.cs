using System.Net;
using System.Net.Sockets;
using Provisioning.Core.Execution;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;

namespace Provisioning.IntegrationTests.Commands;

/// <summary>Invoke-RemoteCommand's engine against real sshd agents of a Local testbed.</summary>
[Collection("LocalTestbed")]
public sealed class RemoteCommandRunnerTests
{
    private readonly LocalTestbedFixture _fixture;

    public RemoteCommandRunnerTests(LocalTestbedFixture fixture) => _fixture = fixture;

    private Testbed Testbed => _fixture.Testbed;

    private static async Task<List<RemoteCommandResult>> RunAsync(IReadOnlyList<AgentMachine> machines, RemoteCommandSpec spec, CancellationToken ct = default)
    {
        var results = new List<RemoteCommandResult>();
        await foreach (var r in new RemoteCommandRunner().Operation(spec).Stream(machines, null, ct).ReadAllAsync(CancellationToken.None)) results.Add(r);
        return results;
    }

    [Fact]
    public async Task Every_agent_runs_the_command_and_reports_its_own_output()
    {
        Assert.True(Testbed.Machines.Count >= 8);
        var results = await RunAsync(Testbed.Machines, new RemoteCommandSpec { Command = "echo {{ name }} $(pwd)" });

        Assert.Equal(Testbed.Machines.Count, results.Count);
        Assert.All(results, r =>
        {
            Assert.True(r.Succeeded, r.Stderr);
            Assert.Equal(0, r.ExitCode);
            Assert.Equal(HostStatus.Succeeded, r.Status);
            Assert.Null(r.Error);
            Assert.Equal($"{r.Machine.Name} {r.Machine.WorkDir}", r.Stdout.Trim());
            Assert.Equal($"echo {r.Machine.Name} $(pwd)", r.Command);
            Assert.True(r.Duration > TimeSpan.Zero);
        });
    }

    [Fact]
    public async Task A_non_zero_exit_is_a_failed_result_with_stderr_and_an_error()
    {
        var results = await RunAsync(Testbed.Machines, new RemoteCommandSpec { Command = "echo out; echo 'warming up' >&2; echo 'bad thing' >&2; exit 3" });

        Assert.All(results, r =>
        {
            Assert.False(r.Succeeded);
            Assert.Equal(HostStatus.Failed, r.Status);
            Assert.Equal(3, r.ExitCode);
            Assert.Equal("out", r.Stdout.Trim());
            Assert.Equal("warming up\nbad thing", r.Stderr.Trim());
            Assert.Equal(ErrorKind.CommandFailed, r.Error!.Kind);
            // The error quotes stderr's last line: the reason, after whatever the command said before failing.
            Assert.Equal($"{r.Machine.Name}: command exited with code 3. bad thing", r.Error.Message);
        });
    }

    [Fact]
    public async Task Sudo_runs_as_root_in_the_working_directory_and_needs_no_sudo_when_the_login_is_root()
    {
        var machines = Testbed.Machines.Take(2).ToList();
        var results = await RunAsync(machines, new RemoteCommandSpec { Command = "echo $(id -u) $(pwd)", Sudo = true });

        Assert.All(results, r =>
        {
            if (Environment.UserName == "root" || r.Succeeded)
            {
                // The Local agents log in as the test's own user: as root, -Sudo must work even where sudo is missing.
                Assert.True(r.Succeeded, r.Error?.Message);
                Assert.Equal($"0 {r.Machine.WorkDir}", r.Stdout.Trim());
            }
            else
            {
                // Not root and sudo wants a password (or is missing): sudo -n fails rather than prompting.
                Assert.Equal(HostStatus.Failed, r.Status);
                Assert.Contains("sudo", r.Stderr);
            }
        });
    }

    [Fact]
    public async Task Only_the_hosts_that_fail_are_failed()
    {
        var results = await RunAsync(Testbed.Machines, new RemoteCommandSpec { Command = "test {{ index }} -ne 2" });
        Assert.Equal(Testbed.Machines.Count - 1, results.Count(r => r.Succeeded));
        Assert.Equal(Testbed.Machines[2].Name, Assert.Single(results, r => !r.Succeeded).Machine.Name);
    }

    [Fact]
    public async Task A_command_past_its_timeout_is_killed_on_the_host()
    {
        var marker = RemoteProcessProbe.UniqueSleepSeconds();
        var machines = Testbed.Machines.Take(3).ToList();
        var started = DateTime.UtcNow;

        var results = await RunAsync(machines, new RemoteCommandSpec { Command = $"sleep {marker} & sleep {marker}; echo never", Timeout = TimeSpan.FromSeconds(1.5) });

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20));
        Assert.All(results, r =>
        {
            Assert.Equal(HostStatus.TimedOut, r.Status);
            Assert.Null(r.ExitCode);
            Assert.Equal(ErrorKind.CommandTimedOut, r.Error!.Kind);
            Assert.DoesNotContain("never", r.Stdout);
        });
        Assert.Equal(0, await RemoteProcessProbe.WaitGoneAsync($"sleep {marker}", TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Cancellation_stops_every_host_and_kills_the_remote_processes()
    {
        var marker = RemoteProcessProbe.UniqueSleepSeconds();
        using var cts = new CancellationTokenSource();
        var run = RunAsync(Testbed.Machines, new RemoteCommandSpec { Command = $"sleep {marker}" }, cts.Token);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (RemoteProcessProbe.Count($"sleep {marker}") < Testbed.Machines.Count && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal(Testbed.Machines.Count, RemoteProcessProbe.Count($"sleep {marker}"));
        cts.Cancel();
        var results = await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.All(results, r => Assert.Equal(HostStatus.Cancelled, r.Status));
        Assert.Equal(0, await RemoteProcessProbe.WaitGoneAsync($"sleep {marker}", TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task An_unreachable_host_fails_alone_and_the_others_carry_on()
    {
        var closedPort = ClosedLoopbackPort();
        var machines = Testbed.Machines.Take(4).Select(m => Copy(m, m.Connection)).ToList();
        var dead = new AgentMachine("dead-1", "127.0.0.1", 4, Array.Empty<string>(), machines[0].Connection with { Port = closedPort });
        machines.Insert(2, dead);
        var mixed = new Testbed("mixed", "Static", _fixture.Testbed.StateDirectory, machines, new Dictionary<string, IReadOnlyList<string>>(),
            transport: new OpenSshTransport(SameOptions("mixed")));
        try
        {
            var results = await RunAsync(mixed.Machines, new RemoteCommandSpec { Command = "echo ok" });

            Assert.Equal(5, results.Count);
            var failed = Assert.Single(results, r => !r.Succeeded);
            Assert.Same(dead, failed.Machine);
            Assert.Equal(HostStatus.Unreachable, failed.Status);
            Assert.Equal(ErrorKind.HostUnreachable, failed.Error!.Kind);
            Assert.Contains("dead-1", failed.Error.Message);
            Assert.All(results.Where(r => r.Succeeded), r => Assert.Equal("ok", r.Stdout.Trim()));
        }
        finally
        {
            await mixed.RemoveAsync();
        }
    }

    [Fact]
    public async Task A_host_key_that_is_not_in_known_hosts_is_refused()
    {
        var empty = Path.Combine(_fixture.Testbed.StateDirectory, "empty_known_hosts");
        await File.WriteAllTextAsync(empty, "");
        var stranger = Copy(Testbed.Machines[0], Testbed.Machines[0].Connection with { KnownHostsFile = empty });
        var strict = new Testbed("strict", "Static", _fixture.Testbed.StateDirectory, new[] { stranger }, new Dictionary<string, IReadOnlyList<string>>(),
            transport: new OpenSshTransport(SameOptions("strict")));
        try
        {
            var result = Assert.Single(await RunAsync(strict.Machines, new RemoteCommandSpec { Command = "true" }));
            Assert.Equal(HostStatus.Unreachable, result.Status);
            Assert.Equal(ErrorKind.HostKeyVerificationFailed, result.Error!.Kind);
            Assert.Equal("", await File.ReadAllTextAsync(empty));
        }
        finally
        {
            await strict.RemoveAsync();
        }
    }

    [Fact]
    public async Task Templates_take_host_variables_and_objects_and_an_undefined_variable_fails_only_that_host()
    {
        var machines = Testbed.Machines.Take(3).ToList();
        var server = Testbed.Machines[0];
        machines[0].Variables["greeting"] = "hello world";
        machines[1].Variables["greeting"] = "it's";
        try
        {
            var results = await RunAsync(machines, new RemoteCommandSpec
            {
                Command = "printf '%s|%s|%s' {{ quote greeting }} {{ server.address }} {{ port }}",
                Variables = new Dictionary<string, object?> { ["server"] = server },
            });

            var byName = results.ToDictionary(r => r.Machine.Name);
            Assert.Equal($"hello world|{server.Address}|{machines[0].Port}", byName[machines[0].Name].Stdout);
            Assert.Equal($"it's|{server.Address}|{machines[1].Port}", byName[machines[1].Name].Stdout);
            var broken = byName[machines[2].Name];
            Assert.Equal(HostStatus.TemplateError, broken.Status);
            Assert.Equal(ErrorKind.TemplateVariableUndefined, broken.Error!.Kind);
            Assert.Contains("greeting", broken.Error.Message);
            Assert.Contains(machines[2].Name, broken.Error.Message);
        }
        finally
        {
            machines[0].Variables.Remove("greeting");
            machines[1].Variables.Remove("greeting");
        }
    }

    [Fact]
    public async Task A_script_travels_on_stdin_and_never_shows_in_the_process_list()
    {
        var secret = $"s3cr3t-{Guid.NewGuid():N}";
        var marker = RemoteProcessProbe.UniqueShortSleepSeconds();
        var machine = Testbed.Machines[1];
        var run = RunAsync(new[] { machine }, new RemoteCommandSpec { Script = $"TOKEN={secret}\nsleep {marker}\necho \"${{TOKEN#s3cr3t-}}\"", ScriptName = "job.sh" });

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (RemoteProcessProbe.Count($"sleep {marker}") == 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(0, RemoteProcessProbe.Count(secret));
        var result = Assert.Single(await run);

        Assert.True(result.Succeeded, result.Stderr);
        Assert.Equal(secret["s3cr3t-".Length..], result.Stdout.Trim());
        Assert.Equal("job.sh", result.Command);
    }

    [Fact]
    public async Task Warm_commands_reuse_one_master_connection_per_host()
    {
        var machine = Testbed.Machines[3];
        await RunAsync(new[] { machine }, new RemoteCommandSpec { Command = "true" });
        // OpenSSH keeps a master socket; SSH.NET keeps the connection in process.
        if (machine.Transport == "OpenSsh") Assert.True(File.Exists(((TransportRouter)Testbed.Transport).OpenSsh.ControlPath(machine)));

        var results = await RunAsync(Enumerable.Repeat(machine, 1).ToList(), new RemoteCommandSpec { Command = "echo $SSH_CONNECTION" });
        var again = await RunAsync(Enumerable.Repeat(machine, 1).ToList(), new RemoteCommandSpec { Command = "echo $SSH_CONNECTION" });
        // The same TCP connection (same client port) carries both commands.
        Assert.Equal(results[0].Stdout, again[0].Stdout);
    }

    [Fact]
    public async Task After_closing_every_master_the_testbed_connects_again()
    {
        var machines = Testbed.Machines.Take(2).ToList();
        await RunAsync(machines, new RemoteCommandSpec { Command = "true" });
        await Testbed.Transport.CloseAllAsync(CancellationToken.None);
        Assert.All(machines, m => Assert.False(File.Exists(((TransportRouter)Testbed.Transport).OpenSsh.ControlPath(m))));
        var before = await RunAsync(machines, new RemoteCommandSpec { Command = "echo $SSH_CONNECTION" });
        await Testbed.Transport.CloseAllAsync(CancellationToken.None);

        var results = await RunAsync(machines, new RemoteCommandSpec { Command = "echo $SSH_CONNECTION" });

        Assert.All(results, r => Assert.True(r.Succeeded, r.Error?.Message));
        // A new connection: another client port.
        Assert.All(results, r => Assert.NotEqual(before.Single(b => b.Name == r.Name).Stdout, r.Stdout));
    }

    private OpenSshOptions SameOptions(string name)
    {
        var options = ((TransportRouter)Testbed.Transport).OpenSsh.Options;
        return new OpenSshOptions
        {
            ConfigFile = options.ConfigFile,
            ControlDirectory = Path.Combine(Path.GetDirectoryName(options.ControlDirectory)!, name + Random.Shared.Next(1000, 9999)),
            ConnectTimeout = TimeSpan.FromSeconds(5),
        };
    }

    private static AgentMachine Copy(AgentMachine m, ConnectionSettings connection) =>
        new(m.Name, m.Address, m.Index, m.Roles, connection, new VariableDictionary(m.Variables));

    private static int ClosedLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
