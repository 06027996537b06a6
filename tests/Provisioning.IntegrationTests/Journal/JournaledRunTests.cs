using System.Diagnostics;
using Provisioning.Core.Execution;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;
using Provisioning.IntegrationTests.Commands;

namespace Provisioning.IntegrationTests.Journal;

/// <summary>
/// The engine recording into a real journal while it runs commands on real sshd agents: what a run and its
/// steps hold, an interrupted run, and rerunning what failed.
/// </summary>
[Collection("LocalTestbed")]
public sealed class JournaledRunTests : IDisposable
{
    private readonly LocalTestbedFixture _fixture;
    private readonly string _directory = Directory.CreateTempSubdirectory("prov-journal-it-").FullName;
    private readonly RunJournal _journal;

    public JournaledRunTests(LocalTestbedFixture fixture)
    {
        _fixture = fixture;
        _journal = RunJournal.Open(Path.Combine(_directory, "journal.db"));
    }

    private Testbed Testbed => _fixture.Testbed;

    public void Dispose()
    {
        _journal.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_run_where_some_hosts_fail_records_every_host_and_is_Failed()
    {
        const string template = "echo out-{{ name }}; echo err-{{ index }} >&2; case {{ index }} in 1|4|7) exit 4;; esac";
        var machines = Testbed.Machines;
        var recorder = Begin(template, machines.Count);

        var results = await RunAsync(machines, new RemoteCommandSpec { Command = template }, recorder);
        await recorder.CompleteAsync(results.All(r => r.Succeeded) ? RunStatus.Succeeded : RunStatus.Failed);
        await recorder.DisposeAsync();

        var run = Assert.Single(_journal.GetRuns());
        Assert.Equal(recorder.RunId, run.Id);
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("Invoke-RemoteCommand", run.Cmdlet);
        Assert.Equal(Testbed.Name, run.Testbed);
        Assert.Equal(machines.Count, run.HostCount);
        Assert.Equal(machines.Count, run.StepCount);
        Assert.Equal(3, run.FailedStepCount);
        Assert.NotNull(run.EndTime);
        Assert.True(run.EndTime >= run.StartTime);

        var steps = _journal.GetSteps(run.Id);
        Assert.Equal(machines.Select(m => m.Name).Order(), steps.Select(s => s.Name).Order());
        var resultsByName = results.ToDictionary(r => r.Machine.Name);
        foreach (var step in steps)
        {
            var machine = Testbed[step.Name]!;
            var result = resultsByName[step.Name];
            var fails = machine.Index % 3 == 1;
            Assert.Equal(run.Id, result.RunId);
            Assert.Equal(run.Id, step.RunId);
            Assert.Equal(machine.Address, step.Address);
            Assert.Equal("command", step.Step);
            Assert.Equal($"echo out-{machine.Name}; echo err-{machine.Index} >&2; case {machine.Index} in 1|4|7) exit 4;; esac", step.Detail);
            Assert.Equal(fails ? 4 : 0, step.ExitCode);
            Assert.Equal($"out-{machine.Name}\n", step.Stdout);
            Assert.Equal($"err-{machine.Index}\n", step.Stderr);
            Assert.False(step.OutputTruncated);
            Assert.Equal(fails ? nameof(HostStatus.Failed) : nameof(HostStatus.Succeeded), step.Status);
            Assert.Equal(!fails, step.Succeeded);
            if (fails) Assert.Contains(machine.Name, step.Error);
            else Assert.Null(step.Error);
            Assert.True(step.Duration > TimeSpan.Zero);
            Assert.True((step.Duration - result.Duration).Duration() < TimeSpan.FromMilliseconds(1), $"{step.Duration} vs {result.Duration}");
            Assert.True((step.StartTime - result.StartTime).Duration() < TimeSpan.FromMilliseconds(1), $"{step.StartTime:O} vs {result.StartTime:O}");
        }

        var failed = _journal.GetSteps(run.Id, failedOnly: true);
        Assert.Equal(new[] { 1, 4, 7 }.Select(i => machines[i].Name).Order(), failed.Select(s => s.Name).Order());
    }

    [Fact]
    public async Task Ctrl_C_mid_run_leaves_the_finished_hosts_recorded_and_the_run_Interrupted()
    {
        var marker = RemoteProcessProbe.UniqueSleepSeconds();
        var template = "if [ {{ index }} -lt 4 ]; then true; else sleep " + marker + "; fi";
        var machines = Testbed.Machines;
        var recorder = Begin(template, machines.Count);
        using var stop = new CancellationTokenSource();
        var run = RunAsync(machines, new RemoteCommandSpec { Command = template }, recorder, stop.Token);

        // The fast hosts reach the journal while the slow ones still sleep and the run is still open.
        var deadline = Stopwatch.StartNew();
        while ((_journal.GetSteps(recorder.RunId).Count < 4 || RemoteProcessProbe.Count($"sleep {marker}") < 4) && deadline.Elapsed < TimeSpan.FromSeconds(30))
            await Task.Delay(50);
        Assert.Equal(4, _journal.GetSteps(recorder.RunId).Count);
        Assert.Equal(4, RemoteProcessProbe.Count($"sleep {marker}"));
        Assert.Equal(RunStatus.Running, _journal.GetRuns(id: recorder.RunId).Single().Status);

        // What the cmdlet does on Ctrl+C: cancel, let the engine kill and finish its hosts, then let go of the
        // recorder without completing it.
        stop.Cancel();
        var results = await run.WaitAsync(TimeSpan.FromSeconds(30));
        await recorder.DisposeAsync();

        var interrupted = _journal.GetRuns(id: recorder.RunId).Single();
        Assert.Equal(RunStatus.Interrupted, interrupted.Status);
        Assert.NotNull(interrupted.EndTime);
        var steps = _journal.GetSteps(recorder.RunId).ToDictionary(s => s.Name);
        foreach (var machine in machines.Take(4))
        {
            Assert.Equal(nameof(HostStatus.Succeeded), steps[machine.Name].Status);
            Assert.Equal(0, steps[machine.Name].ExitCode);
        }
        // A slow host is either recorded as cancelled or not at all; never as a success.
        foreach (var machine in machines.Skip(4))
        {
            Assert.Equal(HostStatus.Cancelled, results.Single(r => r.Machine == machine).Status);
            if (steps.TryGetValue(machine.Name, out var step)) Assert.Equal(nameof(HostStatus.Cancelled), step.Status);
        }
        Assert.Equal(0, await RemoteProcessProbe.WaitGoneAsync($"sleep {marker}", TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Rerunning_what_failed_runs_only_the_failed_hosts()
    {
        const string template = "test {{ index }} -ne 2 && test {{ index }} -ne 5";
        var first = Begin(template, Testbed.Machines.Count);
        var firstResults = await RunAsync(Testbed.Machines, new RemoteCommandSpec { Command = template }, first);
        await first.CompleteAsync(firstResults.All(r => r.Succeeded) ? RunStatus.Succeeded : RunStatus.Failed);
        await first.DisposeAsync();

        // Get-ExperimentResult -Failed | Get-AgentMachine: failed step names select machines by name.
        var failedNames = _journal.GetSteps(first.RunId, failedOnly: true).Select(s => s.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var rerun = Testbed.Machines.Where(m => failedNames.Contains(m.Name)).ToList();
        Assert.Equal(new[] { Testbed.Machines[2], Testbed.Machines[5] }, rerun);

        const string fix = "echo rerun {{ name }}";
        var second = Begin(fix, rerun.Count);
        var secondResults = await RunAsync(rerun, new RemoteCommandSpec { Command = fix }, second);
        await second.CompleteAsync(secondResults.All(r => r.Succeeded) ? RunStatus.Succeeded : RunStatus.Failed);
        await second.DisposeAsync();

        var runs = _journal.GetRuns(last: 2);
        Assert.Equal(new[] { second.RunId, first.RunId }, runs.Select(r => r.Id));
        Assert.Equal((RunStatus.Succeeded, 2, 2, 0), (runs[0].Status, runs[0].HostCount, runs[0].StepCount, runs[0].FailedStepCount));
        Assert.Equal((RunStatus.Failed, 2), (runs[1].Status, runs[1].FailedStepCount));
        var steps = _journal.GetSteps(second.RunId);
        Assert.Equal(rerun.Select(m => m.Name).Order(), steps.Select(s => s.Name).Order());
        Assert.All(steps, s => Assert.Equal($"rerun {s.Name}\n", s.Stdout));
        Assert.Empty(_journal.GetSteps(second.RunId, failedOnly: true));
    }

    private IRunRecorder Begin(string command, int hostCount) =>
        _journal.BeginRun("Invoke-RemoteCommand", new Dictionary<string, object?> { ["Command"] = command }, Testbed.Name, hostCount);

    private static async Task<List<RemoteCommandResult>> RunAsync(IReadOnlyList<AgentMachine> machines, RemoteCommandSpec spec, IRunRecorder recorder, CancellationToken ct = default)
    {
        var results = new List<RemoteCommandResult>();
        await foreach (var r in new RemoteCommandRunner().Operation(spec).Stream(machines, recorder, ct).ReadAllAsync(CancellationToken.None)) results.Add(r);
        return results;
    }
}
