using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Local;
using Provisioning.Core.Transfer;
using Provisioning.Core.Transport;
using Provisioning.IntegrationTests.Commands;
using static Provisioning.IntegrationTests.TransferTestKit;

namespace Provisioning.IntegrationTests.Execution;

/// <summary>
/// Every capability goes through one host-operation pipeline, so the same fault reads the same whatever the host
/// was asked to do: a command, a push or a fetch. Real sshd agents, on a testbed of their own.
/// </summary>
public sealed partial class OperationParityTests(OperationParityTests.ParityTestbed fixture) : IClassFixture<OperationParityTests.ParityTestbed>
{
    private const long BigFile = 160L * 1024 * 1024;

    /// <summary>Two agents whose master connections the tests kill.</summary>
    public sealed class ParityTestbed : IAsyncLifetime
    {
        public Testbed Testbed { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            Testbed = await LocalProvider.StartAsync(new LocalTestbedOptions { Count = 2, Name = "parity", Transport = TransportKind.OpenSsh }, timeout.Token);
        }

        public async Task DisposeAsync() => await Testbed.RemoveAsync();
    }

    private Testbed Testbed => fixture.Testbed;

    [Fact]
    public async Task An_unreachable_host_is_Unreachable_with_the_same_error_for_a_command_a_push_and_a_fetch()
    {
        var real = Testbed.Machines[0];
        var dead = new AgentMachine("dead-1", "127.0.0.1", 0, [], real.Connection with { Port = ClosedLoopbackPort() });
        var options = ((TransportRouter)Testbed.Transport).OpenSsh.Options;
        await using var testbed = new Testbed("dead", TestbedLoader.ProviderName, Testbed.StateDirectory, [dead], new Dictionary<string, IReadOnlyList<string>>(),
            new OpenSshTransport(new OpenSshOptions { ConfigFile = options.ConfigFile, ControlDirectory = options.ControlDirectory + "-dead", ConnectTimeout = TimeSpan.FromSeconds(5) }));
        using var local = new ScratchFolder();
        var file = local.File("a.txt", "a\n");

        IHostOutcome command = Assert.Single(await DrainAsync(new RemoteCommandRunner().Operation(new RemoteCommandSpec { Command = "true" }).Stream([dead], null, CancellationToken.None)));
        IHostOutcome push = Assert.Single(await DrainAsync(new AgentFileSender().Operation(new FileSendSpec { Path = file, Destination = "in/" }).Stream([dead], null, CancellationToken.None)));
        IHostOutcome fetch = Assert.Single(await DrainAsync(new AgentFileFetcher().Operation(new FileFetchSpec { Path = "out/*.txt", Destination = local.Path + "/home" }).Stream([dead], null, CancellationToken.None)));

        Assert.All(new[] { command, push, fetch }, r =>
        {
            Assert.Equal(HostStatus.Unreachable, r.Status);
            Assert.Equal(ErrorKind.HostUnreachable, r.Error!.Kind);
            Assert.StartsWith($"dead-1 ({dead.Endpoint}) is unreachable: ", r.Error.Message);
            Assert.Contains("Connection refused", r.Error.Message);
        });
    }

    [Fact]
    public async Task A_command_whose_master_connection_is_killed_is_ConnectionLost()
    {
        var machine = Testbed.Machines[0];
        var marker = RemoteProcessProbe.UniqueShortSleepSeconds();
        await WarmAsync(machine);
        var run = DrainAsync(new RemoteCommandRunner().Operation(new RemoteCommandSpec { Command = $"sleep {marker}; sleep {marker}; echo done" }).Stream([machine], null, CancellationToken.None));
        await KillMasterWhenAsync(machine, () => RemoteProcessProbe.Count($"sleep {marker}") > 0, run);
        AssertLost(Assert.Single(await run.WaitAsync(TimeSpan.FromSeconds(60))));
    }

    [Fact]
    public async Task A_push_whose_master_connection_is_killed_is_ConnectionLost()
    {
        var machine = Testbed.Machines[1];
        using var local = new ScratchFolder();
        var source = Path.Combine(local.Path, "big.bin");
        WriteRandomFile(source, BigFile);
        await WarmAsync(machine);
        var run = DrainAsync(new AgentFileSender().Operation(new FileSendSpec { Path = source, Destination = "in/big.bin" }).Stream([machine], null, CancellationToken.None));
        await KillMasterWhenAsync(machine, () => TemporaryFiles(WorkPath(machine, "in")).Any(f => new FileInfo(f).Length > 64 * 1024), run);
        AssertLost(Assert.Single(await run.WaitAsync(TimeSpan.FromSeconds(60))));
        Assert.False(File.Exists(WorkPath(machine, "in/big.bin")), "a partial file appeared at the destination");
    }

    [Fact]
    public async Task A_fetch_whose_master_connection_is_killed_is_ConnectionLost()
    {
        var machine = Testbed.Machines[0];
        Directory.CreateDirectory(WorkPath(machine, "out"));
        WriteRandomFile(WorkPath(machine, "out/trace.bin"), BigFile, seed: 5);
        using var local = new ScratchFolder();
        await WarmAsync(machine);
        var run = DrainAsync(new AgentFileFetcher().Operation(new FileFetchSpec { Path = "out/trace.bin", Destination = local.Path }).Stream([machine], null, CancellationToken.None));
        await KillMasterWhenAsync(machine, () => TemporaryFiles(local.Path).Length > 0, run);
        var results = await run.WaitAsync(TimeSpan.FromSeconds(60));
        AssertLost(Assert.Single(results));
        Assert.Null(results[0].LocalPath);
    }

    private static void AssertLost(IHostOutcome r)
    {
        Assert.True(r.Status == HostStatus.Unreachable, $"{r.Status} {r.Error?.Kind}: {r.Error?.Message}");
        Assert.True(r.Error?.Kind == ErrorKind.ConnectionLost, $"{r.Status} {r.Error?.Kind}: {r.Error?.Message}");
        Assert.Contains(r.Machine.Name, r.Error!.Message);
    }

    // The master is opened by a first command, so the work under test runs over it as a multiplexed session.
    private static async Task WarmAsync(AgentMachine machine) =>
        Assert.True(Assert.Single(await DrainAsync(new RemoteCommandRunner().Operation(new RemoteCommandSpec { Command = "true" }).Stream([machine], null, CancellationToken.None))).Succeeded);

    /// <summary>SIGKILLs the machine's ssh master as soon as <paramref name="condition"/> holds (the work is under way).</summary>
    private async Task KillMasterWhenAsync<T>(AgentMachine machine, Func<bool> condition, Task<List<T>> work)
    {
        var pid = MasterPid(machine);
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (work.IsCompleted) Assert.Fail("the work finished before its master could be killed: " + string.Join("; ", work.Result));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the work never started");
            await Task.Delay(1);
        }
        Process.GetProcessById(pid).Kill();
    }

    private int MasterPid(AgentMachine machine)
    {
        var transport = ((TransportRouter)Testbed.Transport).OpenSsh;
        var check = new ProcessStartInfo("ssh") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-F", transport.Options.ConfigFile!, "-S", transport.ControlPath(machine), "-O", "check", machine.Address }) check.ArgumentList.Add(a);
        using var process = Process.Start(check)!;
        var said = process.StandardError.ReadToEnd() + process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var match = MasterRunning().Match(said);
        Assert.True(match.Success, $"no master for {machine.Name}: {said}");
        return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"Master running \(pid=(\d+)\)")]
    private static partial Regex MasterRunning();

    private static int ClosedLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
