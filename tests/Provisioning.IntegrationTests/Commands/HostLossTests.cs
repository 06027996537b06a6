using Provisioning.Core.Execution;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Local;

namespace Provisioning.IntegrationTests.Commands;

/// <summary>
/// A host that dies while its command runs, on a testbed of its own (killing an agent of the shared fixture
/// would break the other tests).
/// </summary>
public sealed class HostLossTests : IAsyncLifetime
{
    private Testbed? _testbed;

    private Testbed Testbed => _testbed!;

    public async Task InitializeAsync() => _testbed = await LocalProvider.StartAsync(new LocalTestbedOptions { Count = 2 }, CancellationToken.None);

    public async Task DisposeAsync()
    {
        if (_testbed is not null) await _testbed.RemoveAsync();
    }

    private static async Task<List<RemoteCommandResult>> RunAsync(IReadOnlyList<AgentMachine> machines, string command)
    {
        var results = new List<RemoteCommandResult>();
        await foreach (var r in new RemoteCommandRunner().Operation(new RemoteCommandSpec { Command = command }).Stream(machines, null, CancellationToken.None).ReadAllAsync())
            results.Add(r);
        return results;
    }

    [Fact]
    public async Task A_command_that_itself_exits_255_is_a_failed_command_not_a_lost_host()
    {
        var result = Assert.Single(await RunAsync(new[] { Testbed.Machines[0] }, "exit 255"));
        Assert.Equal(HostStatus.Failed, result.Status);
        Assert.Equal(255, result.ExitCode);
        Assert.Equal(ErrorKind.CommandFailed, result.Error!.Kind);
    }

    [Fact]
    public async Task A_host_that_dies_mid_command_is_reported_lost_and_the_other_host_finishes()
    {
        var marker = RemoteProcessProbe.UniqueShortSleepSeconds();
        var victim = Testbed.Machines[1];
        var run = RunAsync(Testbed.Machines, $"sleep {marker}; sleep {marker}; echo done");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (RemoteProcessProbe.Count($"sleep {marker}") < 2 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(2, RemoteProcessProbe.Count($"sleep {marker}"));

        LocalProvider.LifetimeOf(Testbed)!.Kill(victim.Name);
        var results = (await run.WaitAsync(TimeSpan.FromSeconds(60))).ToDictionary(r => r.Machine.Name);

        Assert.True(results[Testbed.Machines[0].Name].Succeeded, results[Testbed.Machines[0].Name].Error?.Message);
        var lost = results[victim.Name];
        Assert.Equal(HostStatus.Unreachable, lost.Status);
        Assert.Equal(ErrorKind.ConnectionLost, lost.Error!.Kind);
        Assert.Contains(victim.Name, lost.Error.Message);
    }
}
