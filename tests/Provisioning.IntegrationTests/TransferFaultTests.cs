using System.Diagnostics;
using Provisioning.Core.Execution;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Local;
using Provisioning.Core.Transfer;
using static Provisioning.IntegrationTests.TransferTestKit;

namespace Provisioning.IntegrationTests;

/// <summary>Bad input and faults of file transfers, each with its own error kind, against real sshd agents.</summary>
[Collection("LocalTestbed")]
public sealed class TransferFaultTests(LocalTestbedFixture fixture)
{
    private readonly AgentFileSender _sender = new();
    private IReadOnlyList<AgentMachine> Machines => fixture.Testbed.Machines;

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    [Fact]
    public void A_local_path_that_does_not_exist_fails_before_any_host_is_contacted()
    {
        using var local = new ScratchFolder();
        var missing = Assert.Throws<ProvisioningException>(() =>
            _sender.Operation(new FileSendSpec { Path = Path.Combine(local.Path, "nope.conf"), Destination = "x" }).Stream(Machines, null, CancellationToken.None));
        Assert.Equal(ErrorKind.LocalPathNotFound, missing.Kind);
        Assert.Contains("nope.conf", missing.Message);

        var noMatch = Assert.Throws<ProvisioningException>(() =>
            _sender.Plan(Machines, new FileSendSpec { Path = Path.Combine(local.Path, "*.conf"), Destination = "x" }));
        Assert.Equal(ErrorKind.LocalPathNotFound, noMatch.Kind);

        var noFolder = Assert.Throws<ProvisioningException>(() =>
            _sender.Plan(Machines, new FileSendSpec { Path = Path.Combine(local.Path, "gone", "*.conf"), Destination = "x" }));
        Assert.Equal(ErrorKind.LocalPathNotFound, noFolder.Kind);
    }

    [Fact]
    public async Task A_destination_that_a_host_name_or_variable_steers_out_with_dotdot_is_refused_for_that_host()
    {
        using var local = new ScratchFolder();
        var source = local.File("c.conf", "c\n");
        var real = Machines[0];
        var escaping = new AgentMachine("../../etc", real.Address, 0, [], real.Connection);
        await using var odd = new Testbed("odd", "Static", Path.GetTempPath(), [escaping], new Dictionary<string, IReadOnlyList<string>>(), TestbedLoader.NewTransport());
        var folder = Unique("drop");

        var results = await DrainAsync(_sender.Operation(new FileSendSpec { Path = source, Destination = folder + "/{{ name }}/c.conf" }).Stream([real, escaping], null, CancellationToken.None));
        Assert.True(results.Single(r => r.Machine == real).Succeeded);
        var refused = results.Single(r => r.Machine == escaping);
        Assert.True(refused.Error?.Kind == ErrorKind.PathOutsideAllowedTree, $"{refused.Status} {refused.Error?.Kind}: {refused.Error?.Message}");
        Assert.Contains("..", refused.Error!.Message);

        var viaVariable = await DrainAsync(_sender.Operation(new FileSendSpec
        {
            Path = source,
            Destination = folder + "/{{ sub }}/c.conf",
            Variables = new Dictionary<string, object?> { ["sub"] = "../../../tmp" },
        }).Stream([real], null, CancellationToken.None));
        Assert.Equal(ErrorKind.PathOutsideAllowedTree, viaVariable.Single().Error!.Kind);
    }

    [Fact]
    public async Task Permission_denied_provoked_with_an_immutable_directory_since_root_ignores_file_modes()
    {
        using var local = new ScratchFolder();
        var source = local.File("locked.conf", "x\n");
        var host = Machines[1];
        var folder = Unique("immutable");
        var directory = WorkPath(host, folder);
        Directory.CreateDirectory(directory);
        Run("chattr", "+i", directory);
        try
        {
            var r = (await DrainAsync(_sender.Operation(new FileSendSpec { Path = source, Destination = $"{folder}/locked.conf" }).Stream([host], null, CancellationToken.None))).Single();
            Assert.True(r.Status == HostStatus.Failed, $"{r.Status} {r.Error?.Kind}: {r.Error?.Message}");
            Assert.True(r.Error?.Kind == ErrorKind.PermissionDenied, $"{r.Status} {r.Error?.Kind}: {r.Error?.Message}");
            Assert.Contains("not permitted", r.Error!.Message);
        }
        finally
        {
            Run("chattr", "-i", directory);
        }
        Assert.Empty(Directory.EnumerateFileSystemEntries(directory));
    }

    [Fact]
    public async Task A_full_remote_disk_is_DiskFull_and_leaves_no_partial_file()
    {
        using var local = new ScratchFolder();
        var source = Path.Combine(local.Path, "big.bin");
        WriteRandomFile(source, 3 * 1024 * 1024);
        var host = Machines[2];
        var folder = Unique("tmpfs");
        // Mounted from the agent's own shell, so the tiny file system is in the agent's mount namespace.
        await RemoteAsync(host, $"mkdir -p {folder} && mount -t tmpfs -o size=1m tmpfs {folder}");
        try
        {
            var r = (await DrainAsync(_sender.Operation(new FileSendSpec { Path = source, Destination = $"{folder}/big.bin" }).Stream([host], null, CancellationToken.None))).Single();
            Assert.True(r.Status == HostStatus.Failed, $"{r.Status} {r.Error?.Kind}: {r.Error?.Message}");
            Assert.True(r.Error?.Kind == ErrorKind.DiskFull, $"{r.Status} {r.Error?.Kind}: {r.Error?.Message}");
            Assert.Contains("No space left on device", r.Error!.Message);
            Assert.Equal("", await RemoteAsync(host, $"ls -A {folder}"));
        }
        finally
        {
            await RemoteAsync(host, $"umount {folder} && rmdir {folder}");
        }
    }

    [Fact]
    public async Task Cancelling_a_push_kills_the_hosts_side_which_removes_its_temporary_file()
    {
        using var local = new ScratchFolder();
        var source = Path.Combine(local.Path, "big.bin");
        WriteRandomFile(source, 160L * 1024 * 1024, seed: 7);
        var host = Machines[3];
        var folder = Unique("cancel");
        using var cancel = new CancellationTokenSource();

        var run = DrainAsync(_sender.Operation(new FileSendSpec { Path = source, Destination = $"{folder}/big.bin" }).Stream([host], null, cancel.Token));
        await WhenAsync(() => TemporaryFiles(WorkPath(host, folder)).Any(f => new FileInfo(f).Length > 64 * 1024), run);
        cancel.Cancel();
        var r = (await run.WaitAsync(TimeSpan.FromSeconds(60))).Single();

        Assert.True(r.Status == HostStatus.Cancelled, $"{r.Status} {r.Error?.Kind}: {r.Error?.Message}");
        Assert.Equal(ErrorKind.Cancelled, r.Error!.Kind);
        Assert.False(File.Exists(WorkPath(host, $"{folder}/big.bin")));
        // The host's trap removes the temporary file once its shell gets the TERM; give it a moment.
        var clock = Stopwatch.StartNew();
        while (TemporaryFiles(WorkPath(host, folder)).Length > 0 && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(50);
        Assert.Empty(TemporaryFiles(WorkPath(host, folder)));
    }

    [Fact]
    public async Task Cancelling_a_fetch_leaves_no_partial_local_file()
    {
        var host = Machines[4];
        var folder = Unique("cfetch");
        Directory.CreateDirectory(WorkPath(host, folder));
        WriteRandomFile(WorkPath(host, $"{folder}/trace.bin"), 160L * 1024 * 1024, seed: 8);
        using var local = new ScratchFolder();
        using var cancel = new CancellationTokenSource();

        var run = DrainAsync(new AgentFileFetcher().Operation(new FileFetchSpec { Path = $"{folder}/trace.bin", Destination = local.Path }).Stream([host], null, cancel.Token));
        await WhenAsync(() => TemporaryFiles(local.Path).Any(f => new FileInfo(f).Length > 64 * 1024), run);
        cancel.Cancel();
        var results = await run.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.All(results, r => Assert.True(r.Status == HostStatus.Cancelled, $"{r.Status} {r.Error?.Kind}: {r.Error?.Message}"));
        Assert.Empty(TemporaryFiles(local.Path));
        Assert.False(File.Exists(Path.Combine(local.Path, host.Name, folder, "trace.bin")));
        File.Delete(WorkPath(host, $"{folder}/trace.bin"));
    }

    /// <summary>Returns once <paramref name="condition"/> holds, failing if the transfer ends first.</summary>
    private static async Task WhenAsync<T>(Func<bool> condition, Task<List<T>> transfer)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (transfer.IsCompleted) Assert.Fail("the transfer finished too early: " + string.Join("; ", transfer.Result));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the transfer never started");
            await Task.Delay(2);
        }
    }

    private static void Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)}: {stderr}");
    }
}

/// <summary>
/// A host that dies in the middle of a transfer: its sshd and everything under it are killed (as if the machine
/// went down), on a testbed of its own so the shared agents stay up.
/// </summary>
public sealed class TransferHostDeathTests(TransferHostDeathTests.DoomedTestbed doomed) : IClassFixture<TransferHostDeathTests.DoomedTestbed>
{
    private const long BigFile = 160L * 1024 * 1024;
    private Testbed Testbed => doomed.Testbed;

    /// <summary>Three agents of their own: each test kills one.</summary>
    public sealed class DoomedTestbed : IAsyncLifetime
    {
        private Testbed? _testbed;

        public Testbed Testbed => _testbed!;

        public async Task InitializeAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            _testbed = await LocalProvider.StartAsync(new LocalTestbedOptions { Count = 3, Name = "transfer-faults" }, timeout.Token);
        }

        public async Task DisposeAsync()
        {
            if (_testbed is not null) await _testbed.RemoveAsync();
        }
    }

    [Fact]
    public async Task A_host_dying_mid_push_is_ConnectionLost_with_no_partial_file_at_the_destination_and_others_complete()
    {
        using var local = new ScratchFolder();
        var source = Path.Combine(local.Path, "big.bin");
        WriteRandomFile(source, BigFile);
        var victim = Testbed["agent-1"]!;
        var survivor = Testbed["agent-2"]!;

        var run = DrainAsync(new AgentFileSender().Operation(new FileSendSpec { Path = source, Destination = "in/big.bin" }).Stream([victim, survivor], null, CancellationToken.None));
        await KillWhenAsync(victim, () => TemporaryFiles(WorkPath(victim, "in")).Any(f => new FileInfo(f).Length > 64 * 1024), run);
        var results = await run.WaitAsync(TimeSpan.FromSeconds(60));

        var lost = results.Single(r => r.Machine == victim);
        Assert.True(lost.Status == HostStatus.Unreachable, $"{lost.Status} {lost.Error?.Kind}: {lost.Error?.Message}");
        Assert.True(lost.Error?.Kind == ErrorKind.ConnectionLost, $"{lost.Status} {lost.Error?.Kind}: {lost.Error?.Message}");
        Assert.False(File.Exists(WorkPath(victim, "in/big.bin")), "a partial file appeared at the destination");
        var ok = results.Single(r => r.Machine == survivor);
        Assert.True(ok.Succeeded, ok.Error?.Message);
        Assert.Equal(BigFile, new FileInfo(WorkPath(survivor, "in/big.bin")).Length);
        Assert.Empty(TemporaryFiles(WorkPath(survivor, "in")));
    }

    [Fact]
    public async Task A_host_dying_mid_fetch_is_ConnectionLost_and_leaves_no_partial_local_file()
    {
        var victim = Testbed["agent-3"]!;
        Directory.CreateDirectory(WorkPath(victim, "out"));
        WriteRandomFile(WorkPath(victim, "out/trace.bin"), BigFile, seed: 3);
        using var local = new ScratchFolder();

        var run = DrainAsync(new AgentFileFetcher().Operation(new FileFetchSpec { Path = "out/trace.bin", Destination = local.Path }).Stream([victim], null, CancellationToken.None));
        await KillWhenAsync(victim, () => TemporaryFiles(local.Path).Any(f => new FileInfo(f).Length > 64 * 1024), run);
        var all = await run.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(all.Count == 1, string.Join("\n", all.Select(x => $"{x.Status} {x.Error?.Kind}: {x.Error?.Message}")));
        var r = all[0];

        Assert.True(r.Status == HostStatus.Unreachable, $"{r.Status} {r.Error?.Kind}: {r.Error?.Message}");
        Assert.True(r.Error?.Kind == ErrorKind.ConnectionLost, $"{r.Status} {r.Error?.Kind}: {r.Error?.Message}");
        Assert.Null(r.LocalPath);
        Assert.Empty(TemporaryFiles(local.Path));
        Assert.False(File.Exists(Path.Combine(local.Path, victim.Name, "out", "trace.bin")));
    }

    /// <summary>Kills the agent as soon as <paramref name="condition"/> holds (the transfer is under way).</summary>
    private async Task KillWhenAsync<T>(AgentMachine victim, Func<bool> condition, Task<List<T>> transfer)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (transfer.IsCompleted)
                Assert.Fail("the transfer finished before the host could be killed: " + string.Join("; ", transfer.Result));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the transfer never started");
            await Task.Delay(2);
        }
        LocalProvider.LifetimeOf(Testbed)!.Kill(victim.Name);
    }
}
