using Provisioning.Core.Execution;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transfer;
using static Provisioning.IntegrationTests.TransferTestKit;

namespace Provisioning.IntegrationTests;

/// <summary>Get-ExperimentResult's fetch engine against the shared 8-agent Local testbed.</summary>
[Collection("LocalTestbed")]
public sealed class TransferFetchTests(LocalTestbedFixture fixture)
{
    private readonly AgentFileFetcher _fetcher = new();
    private IReadOnlyList<AgentMachine> Machines => fixture.Testbed.Machines;

    private Task<List<ExperimentResult>> FetchAsync(FileFetchSpec spec, IReadOnlyList<AgentMachine>? machines = null, MemoryRunRecorder? recorder = null) =>
        DrainAsync(_fetcher.Operation(spec).Stream(machines ?? Machines, recorder, CancellationToken.None));

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    [Fact]
    public async Task A_glob_comes_home_into_one_folder_per_host_with_verified_checksums()
    {
        var folder = Unique("out");
        // Same file names on every host, different content: a shared folder would lose all but one.
        await Task.WhenAll(Machines.Select(m => RemoteAsync(m,
            $"mkdir -p {folder}/sub && echo \"iperf from $(hostname) {m.Name}\" > {folder}/iperf3.out && echo {m.Index} > {folder}/run.csv && printf 'x%.0s' $(seq 1 5000) > {folder}/sub/big.log && echo skip > {folder}/note.md")));
        using var local = new ScratchFolder();
        var recorder = new MemoryRunRecorder();

        var results = await FetchAsync(new FileFetchSpec { Path = $"{folder}/*.out", Destination = local.Path }, recorder: recorder);
        Assert.Equal(Machines.Count, results.Count);
        foreach (var r in results)
        {
            Assert.True(r.Succeeded, r.Error?.Message);
            Assert.Equal($"{folder}/iperf3.out", r.RemotePath);
            Assert.Equal(Path.Combine(local.Path, r.Machine.Name, folder, "iperf3.out"), r.LocalPath);
            Assert.Contains(r.Machine.Name, File.ReadAllText(r.LocalPath!));
            Assert.Equal(Sha256Of(r.LocalPath!), r.Sha256);
            Assert.Equal(Sha256Of(WorkPath(r.Machine, $"{folder}/iperf3.out")), r.Sha256);
            Assert.Equal(new FileInfo(r.LocalPath!).Length, r.Length);
            Assert.Equal(42, r.RunId);
        }
        Assert.Equal(Machines.Count, results.Select(r => r.Sha256).Distinct().Count());
        Assert.Empty(TemporaryFiles(local.Path));
        Assert.Equal(Machines.Count, recorder.Artifacts.Count);
        Assert.All(recorder.Steps, s => Assert.Equal("fetch", s.Step));
        Assert.Equal(results.Select(r => (r.Machine.Name, r.LocalPath, r.Sha256)).Order(),
            recorder.Artifacts.Select(a => (a.Name, (string?)a.LocalPath, a.Sha256)).Order());

        // A directory brings its whole tree.
        var tree = await FetchAsync(new FileFetchSpec { Path = folder, Destination = local.Path }, Machines.Take(2).ToArray());
        Assert.Equal(8, tree.Count);
        Assert.All(tree, r => Assert.True(r.Succeeded, r.Error?.Message));
        Assert.Equal(5000, new FileInfo(Path.Combine(local.Path, "agent-2", folder, "sub", "big.log")).Length);
    }

    [Fact]
    public async Task An_absolute_path_is_stored_under_the_host_folder_made_relative()
    {
        var host = Machines[1];
        var absolute = WorkPath(host, Unique("abs") + "/result.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(absolute)!);
        File.WriteAllText(absolute, "absolute\n");
        using var local = new ScratchFolder();

        var r = (await FetchAsync(new FileFetchSpec { Path = absolute, Destination = local.Path }, [host])).Single();
        Assert.True(r.Succeeded, r.Error?.Message);
        Assert.Equal(absolute, r.RemotePath);
        Assert.Equal(Path.Combine(local.Path, host.Name, absolute.TrimStart('/')), r.LocalPath);
        Assert.Equal("absolute\n", File.ReadAllText(r.LocalPath!));
    }

    [Fact]
    public async Task A_pattern_matching_nothing_is_an_error_for_that_host_only()
    {
        var folder = Unique("some");
        var withFile = Machines.Take(3).ToArray();
        foreach (var m in withFile)
        {
            Directory.CreateDirectory(WorkPath(m, folder));
            File.WriteAllText(WorkPath(m, $"{folder}/r.txt"), m.Name);
        }
        using var local = new ScratchFolder();

        var results = await FetchAsync(new FileFetchSpec { Path = $"{folder}/*.txt", Destination = local.Path }, Machines.Take(5).ToArray());
        Assert.Equal(5, results.Count);
        Assert.All(results.Where(r => withFile.Contains(r.Machine)), r => Assert.True(r.Succeeded, r.Error?.Message));
        var missing = results.Where(r => !withFile.Contains(r.Machine)).ToArray();
        Assert.Equal(2, missing.Length);
        Assert.All(missing, r =>
        {
            Assert.Equal(HostStatus.Failed, r.Status);
            Assert.Equal(ErrorKind.RemotePathNotFound, r.Error!.Kind);
            Assert.Null(r.LocalPath);
            Assert.Contains($"{folder}/*.txt", r.Error.Message);
            Assert.False(Directory.Exists(Path.Combine(local.Path, r.Machine.Name)));
        });
    }

    [Fact]
    public async Task A_remote_path_with_dotdot_is_refused_before_any_host_is_contacted()
    {
        using var local = new ScratchFolder();
        var viaVariable = await FetchAsync(new FileFetchSpec
        {
            Path = "results/{{ run }}/out.txt",
            Destination = local.Path,
            Variables = new Dictionary<string, object?> { ["run"] = "../../../etc" },
        }, Machines.Take(2).ToArray());
        Assert.All(viaVariable, r => Assert.Equal(ErrorKind.PathOutsideAllowedTree, r.Error!.Kind));

        var literal = await FetchAsync(new FileFetchSpec { Path = "../x", Destination = local.Path }, Machines.Take(1).ToArray());
        Assert.Equal(ErrorKind.PathOutsideAllowedTree, literal.Single().Error!.Kind);
        Assert.Empty(Directory.EnumerateFileSystemEntries(local.Path));
    }

    [Fact]
    public async Task A_host_name_that_is_not_a_plain_folder_name_is_refused_and_same_names_never_share_a_folder()
    {
        // A static testbed whose host names would escape the destination; nothing is contacted for them.
        var real = Machines[0];
        var odd = new[] { "../escape", "a/b", ".." }
            .Select((n, i) => new AgentMachine(n, real.Address, i, [], real.Connection))
            .ToArray();
        var twin = new AgentMachine(real.Name.ToUpperInvariant(), real.Address, 3, [], real.Connection);
        await using var other = new Testbed("other", "Static", Path.GetTempPath(), [.. odd, twin], new Dictionary<string, IReadOnlyList<string>>(), TestbedLoader.NewTransport());
        using var local = new ScratchFolder();
        var folder = Unique("twin");
        Directory.CreateDirectory(WorkPath(real, folder));
        File.WriteAllText(WorkPath(real, $"{folder}/f.txt"), "f");

        var results = await FetchAsync(new FileFetchSpec { Path = WorkPath(real, $"{folder}/f.txt"), Destination = local.Path }, [real, .. odd, twin]);
        Assert.True(results.Single(r => r.Machine == real).Succeeded);
        Assert.All(results.Where(r => odd.Contains(r.Machine)), r => Assert.Equal(ErrorKind.PathOutsideAllowedTree, r.Error!.Kind));
        Assert.Equal(ErrorKind.DestinationConflict, results.Single(r => r.Machine == twin).Error!.Kind);
        Assert.Equal(new[] { real.Name }, Directory.EnumerateDirectories(local.Path).Select(Path.GetFileName));
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(local.Path)!, "escape")));
    }

    [Fact]
    public async Task Fetching_again_replaces_the_local_copies_atomically()
    {
        var host = Machines[6];
        var folder = Unique("again");
        Directory.CreateDirectory(WorkPath(host, folder));
        File.WriteAllText(WorkPath(host, $"{folder}/v.txt"), "one\n");
        using var local = new ScratchFolder();
        var spec = new FileFetchSpec { Path = $"{folder}/v.txt", Destination = local.Path };

        var first = (await FetchAsync(spec, [host])).Single();
        File.WriteAllText(WorkPath(host, $"{folder}/v.txt"), "two\n");
        var second = (await FetchAsync(spec, [host])).Single();
        Assert.Equal(first.LocalPath, second.LocalPath);
        Assert.Equal("two\n", File.ReadAllText(second.LocalPath!));
        Assert.Empty(TemporaryFiles(local.Path));
    }
}
