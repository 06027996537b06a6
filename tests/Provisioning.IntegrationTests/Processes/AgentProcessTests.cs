using System.Diagnostics;
using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.Processes;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Local;
using Provisioning.Core.Transport;
using static Provisioning.IntegrationTests.TransferTestKit;

namespace Provisioning.IntegrationTests.Processes;

/// <summary>
/// Experiment processes on real agents with private roots and PID namespaces (as root): supervised on the agent,
/// outliving the connection, found again by another controller. Processes of one agent are invisible to the others,
/// so "still running there" is checked through the agent itself.
/// </summary>
public sealed class AgentProcessTests(AgentProcessTests.ProcessTestbed fixture) : IClassFixture<AgentProcessTests.ProcessTestbed>
{
    /// <summary>Eight agents: the follow test streams from all of them.</summary>
    public sealed class ProcessTestbed : IAsyncLifetime
    {
        public Testbed Testbed { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            Testbed = await LocalProvider.StartAsync(new LocalTestbedOptions { Count = 8, Name = "processes" }, timeout.Token);
        }

        public async Task DisposeAsync() => await Testbed.RemoveAsync();
    }

    private Testbed Testbed => fixture.Testbed;

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    private static async Task<List<AgentProcess>> Do(HostOperation<AgentProcess> operation, params AgentMachine[] machines) =>
        await DrainAsync(operation.Stream(machines, null, CancellationToken.None));

    private static Task<List<AgentProcess>> Start(string name, string command, AgentMachine machine, Func<ProcessStartSpec, ProcessStartSpec>? tweak = null)
    {
        var spec = new ProcessStartSpec { Name = name, Command = command };
        return Do(AgentProcesses.Start(tweak?.Invoke(spec) ?? spec), machine);
    }

    private static ProcessSelection Named(string name) => new() { Names = [name] };

    private static async Task<string> Shell(AgentMachine machine, string command)
    {
        var r = Assert.Single(await DrainAsync(new RemoteCommandRunner().Operation(new RemoteCommandSpec { Command = command }).Stream([machine], null, CancellationToken.None)));
        Assert.True(r.Succeeded, $"{command}: {r.Status} {r.Stderr}");
        return r.Stdout.Trim();
    }

    private static async Task<AgentProcess> WaitEnded(AgentMachine machine, string name, TimeSpan within) =>
        Assert.Single(await Do(AgentProcesses.Wait(Named(name), within, TimeSpan.FromMilliseconds(200)), machine));

    [Fact]
    public async Task A_started_process_runs_detached_with_its_logs_and_is_reported_Running()
    {
        var machine = Testbed.Machines[0];
        var name = Unique("run");
        var started = Assert.Single(await Start(name, "echo hello from {{ name }}; echo to stderr >&2; exec sleep 30", machine));
        Assert.True(started.Succeeded, started.Error?.Message);
        Assert.Equal(AgentProcessState.Running, started.State);
        Assert.Equal(name, started.ProcessName);
        Assert.NotNull(started.Pid);
        Assert.Equal(1, started.Run);

        var listed = Assert.Single(await Do(AgentProcesses.Get(Named(name)), machine));
        Assert.Equal(AgentProcessState.Running, listed.State);
        Assert.Equal(started.Pid, listed.Pid);
        Assert.Equal($"hello from {machine.Name}", await Shell(machine, $"cat {listed.StdoutPath}"));
        Assert.Equal("to stderr", await Shell(machine, $"cat {listed.StderrPath}"));
        // Its own session and process group, apart from the ssh session that started it.
        Assert.Equal("apart", await Shell(machine, $"[ \"$(ps -o sid= -p {started.Pid})\" != \"$(ps -o sid= -p $$)\" ] && echo apart"));

        var again = Assert.Single(await Start(name, "sleep 1", machine));
        Assert.Equal(HostStatus.Failed, again.Status);
        Assert.Equal(ErrorKind.ProcessAlreadyRunning, again.Error!.Kind);
        var replaced = Assert.Single(await Start(name, "exec sleep 31", machine, s => new ProcessStartSpec { Name = s.Name, Command = s.Command, Force = true, ForceGrace = TimeSpan.FromSeconds(1) }));
        Assert.True(replaced.Succeeded, replaced.Error?.Message);
        Assert.NotEqual(started.Pid, replaced.Pid);
        Assert.Equal("1", await Shell(machine, "pgrep -xc sleep || true"));

        var stopped = Assert.Single(await Do(AgentProcesses.Stop(Named(name), TimeSpan.FromSeconds(1)), machine));
        Assert.Equal(AgentProcessState.Killed, stopped.State);
        Assert.Equal("0", await Shell(machine, "pgrep -xc sleep || true"));
    }

    [Fact]
    public async Task A_command_that_exits_at_once_is_Exited_with_its_code_and_stderr_not_Running()
    {
        var machine = Testbed.Machines[1];
        var r = Assert.Single(await Start(Unique("oops"), "echo 'cannot open config' >&2; exit 4", machine));
        Assert.Equal(AgentProcessState.Exited, r.State);
        Assert.Equal(4, r.ExitCode);
        Assert.Equal(HostStatus.Failed, r.Status);
        Assert.Equal(ErrorKind.ProcessExited, r.Error!.Kind);
        Assert.Contains("cannot open config", r.Error.Message);
    }

    [Fact]
    public async Task A_command_that_fails_within_the_exit_window_but_after_the_host_answered_is_Exited_not_Running()
    {
        // The host answers the start as soon as the supervisor has recorded the run (a few ms); the controller reads it
        // again when the window has passed, so a command that fails 40 ms in is still caught.
        var machine = Testbed.Machines[1];
        var r = Assert.Single(await Start(Unique("late"), "sleep 0.04; echo 'port in use' >&2; exit 5", machine));
        Assert.Equal(AgentProcessState.Exited, r.State);
        Assert.Equal(5, r.ExitCode);
        Assert.Equal(ErrorKind.ProcessExited, r.Error!.Kind);
        Assert.Contains("port in use", r.Error.Message);
        Assert.True(r.Duration >= ProcessScripts.ExitWindow * 0.9, $"the start took {r.Duration.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task A_crash_loop_with_OnFailure_and_MaxRestarts_3_ends_Exited_after_exactly_3_restarts()
    {
        var machine = Testbed.Machines[2];
        var name = Unique("crash");
        await Start(name, "sleep 0.1; echo crash >&2; exit 7", machine,
            s => new ProcessStartSpec { Name = s.Name, Command = s.Command, Restart = AgentProcessRestart.OnFailure, MaxRestarts = 3, RestartDelay = TimeSpan.FromMilliseconds(100) });
        var done = await WaitEnded(machine, name, TimeSpan.FromSeconds(30));
        Assert.True(done.Succeeded, done.Error?.Message);
        Assert.Equal(AgentProcessState.Exited, done.State);
        Assert.Equal(7, done.ExitCode);
        Assert.Equal(3, done.Restarts);
        Assert.Equal(4, done.Run);
        Assert.Equal("crash", done.StderrHead);
        Assert.Equal("4", await Shell(machine, $"ls ~/.local/state/provisioning/processes/{name}/ | grep -c '^run-.*\\.err$'"));
    }

    [Fact]
    public async Task A_run_past_its_timeout_is_killed_with_its_children_and_reported_TimedOut()
    {
        var machine = Testbed.Machines[3];
        var name = Unique("slow");
        var marker = $"4{Random.Shared.Next(100, 999)}.5";
        await Start(name, $"sleep {marker} & sleep {marker}", machine, s => new ProcessStartSpec { Name = s.Name, Command = s.Command, Timeout = TimeSpan.FromSeconds(1) });
        var done = await WaitEnded(machine, name, TimeSpan.FromSeconds(20));
        Assert.Equal(AgentProcessState.TimedOut, done.State);
        // The supervisor records the timeout as it sends TERM; the children are gone a moment later.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        string left;
        while ((left = await Shell(machine, $"pgrep -fc 'sleep {marker}' || true")) != "0" && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Equal("0", left);
    }

    [Fact]
    public async Task Stop_kills_a_runaway_tree_with_a_setsid_grandchild_and_leaves_the_same_command_on_another_agent()
    {
        var (victim, bystander) = (Testbed.Machines[4], Testbed.Machines[5]);
        var name = Unique("runaway");
        var marker = $"5{Random.Shared.Next(100, 999)}.5";
        // Children, and a grandchild that leaves the session and process group (and ignores TERM).
        var runaway = $"sleep {marker} & sh -c 'sleep {marker} & setsid sh -c \"trap \\\"\\\" TERM; sleep {marker}; sleep {marker}\" & wait' & wait";
        foreach (var machine in new[] { victim, bystander })
            Assert.Equal(AgentProcessState.Running, Assert.Single(await Start(name, runaway, machine)).State);
        await Task.Delay(300);
        Assert.Equal("3", await Shell(victim, $"pgrep -fxc 'sleep {marker}'"));

        var stopped = Assert.Single(await Do(AgentProcesses.Stop(Named(name), TimeSpan.FromSeconds(1)), victim));
        Assert.Equal(AgentProcessState.Killed, stopped.State);
        Assert.Equal("0", await Shell(victim, $"pgrep -fc 'sleep {marker}' || true"));
        Assert.Equal("3", await Shell(bystander, $"pgrep -fxc 'sleep {marker}'"));
        Assert.Equal(AgentProcessState.Running, Assert.Single(await Do(AgentProcesses.Get(Named(name)), bystander)).State);
        await Do(AgentProcesses.Stop(Named(name), TimeSpan.FromSeconds(1)), bystander);
    }

    [Fact]
    public async Task A_stale_entry_whose_pid_now_belongs_to_another_program_is_never_killed()
    {
        var machine = Testbed.Machines[6];
        var name = Unique("stale");
        var marker = $"6{Random.Shared.Next(100, 999)}.5";
        var other = await Shell(machine, $"setsid sleep {marker} </dev/null >/dev/null 2>&1 & echo $!");
        // A registry entry that claims that pid for a supervisor and a run, with start times that are not its own.
        await Shell(machine, $"d=~/.local/state/provisioning/processes/{name}; mkdir -p $d && printf 's_state=Running\\ns_pid={other}\\ns_pid_start=1\\ns_sup={other}\\ns_sup_start=1\\ns_run=1\\n' > $d/state");
        var stopped = Assert.Single(await Do(AgentProcesses.Stop(Named(name), TimeSpan.FromSeconds(1)), machine));
        Assert.NotEqual(AgentProcessState.Running, stopped.State); // its supervisor is gone: the entry is stale
        Assert.Equal("1", await Shell(machine, $"pgrep -fc 'sleep {marker}'"));
        await Shell(machine, $"kill {other}");
    }

    [Fact]
    public async Task Processes_survive_their_connection_and_another_controller_finds_them()
    {
        var machine = Testbed.Machines[7];
        var name = Unique("daemon");
        await Start(name, "exec sleep 60", machine, s => new ProcessStartSpec { Name = s.Name, Command = s.Command, Restart = AgentProcessRestart.Always, RestartDelay = TimeSpan.FromMilliseconds(100) });
        await Testbed.Transport.CloseAllAsync(CancellationToken.None);   // the controller disconnects

        // Another controller: a testbed of its own, with its own transport, on the same agent.
        var options = ((TransportRouter)Testbed.Transport).OpenSsh.Options;
        var twin = new AgentMachine(machine.Name, machine.Address, 0, [], machine.Connection);
        await using var other = new Testbed("other-controller", TestbedLoader.ProviderName, Testbed.StateDirectory, [twin], new Dictionary<string, IReadOnlyList<string>>(),
            new OpenSshTransport(new OpenSshOptions { ConfigFile = options.ConfigFile, ControlDirectory = options.ControlDirectory + "-other" }));
        var found = Assert.Single(await Do(AgentProcesses.Get(Named(name)), twin));
        Assert.Equal(AgentProcessState.Running, found.State);

        // Still supervised: killed from outside, it is started again.
        await Shell(twin, $"kill {found.Pid}");
        await Task.Delay(1000);
        var restarted = Assert.Single(await Do(AgentProcesses.Get(Named(name)), twin));
        Assert.Equal(AgentProcessState.Running, restarted.State);
        Assert.Equal(1, restarted.Restarts);
        Assert.NotEqual(found.Pid, restarted.Pid);
        Assert.Equal(AgentProcessState.Killed, Assert.Single(await Do(AgentProcesses.Stop(Named(name), TimeSpan.FromSeconds(1)), twin)).State);
    }

    [Fact]
    public async Task Follow_streams_every_agents_lines_in_order_while_they_are_written()
    {
        var name = Unique("talk");
        var machines = Testbed.Machines.ToArray();
        await DrainAsync(AgentProcesses.Start(new ProcessStartSpec { Name = name, Command = "i=1; while [ $i -le 20 ]; do echo \"{{ name }} $i\"; i=$((i + 1)); sleep 0.05; done" })
            .Stream(machines, null, CancellationToken.None));
        var clock = Stopwatch.StartNew();
        var batches = await DrainAsync(HostOperationRunner.Run(machines, AgentProcesses.Output(Named(name), null, AgentProcessStream.Stdout, follow: true), null, CancellationToken.None));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30));

        Assert.Contains(batches, b => !b.Final);  // lines came while the hosts were still working
        Assert.Equal(machines.Length, batches.Count(b => b.Final));
        var lines = batches.SelectMany(b => b.Results).ToList();
        Assert.All(lines, l => Assert.Null(l.Error));
        foreach (var machine in machines)
        {
            var own = lines.Where(l => l.Machine == machine).Select(l => l.Line).ToArray();
            Assert.Equal(Enumerable.Range(1, 20).Select(i => $"{machine.Name} {i}"), own);
        }
        var tail = Assert.Single(await DrainAsync(AgentProcesses.Output(Named(name), 1, AgentProcessStream.Stdout, follow: false).Stream([machines[0]], null, CancellationToken.None)));
        Assert.Equal($"{machines[0].Name} 20", tail.Line);
    }
}
