using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;

namespace Provisioning.IntegrationTests.Journal;

/// <summary>
/// Where a YAML testbed's journal lives, seen from two "sessions" (two loads of the same file). The folder
/// naming itself is covered in Provisioning.Core.Tests (TestbedStateDirectoryTests, TestbedLoaderTests); this is
/// the journal's point of view: what one session records, the next one reads.
/// </summary>
public sealed class JournalLocationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("prov-journal-location-").FullName;

    private string StateRoot => Path.Combine(_directory, "state-root");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_second_load_of_the_same_file_finds_the_runs_of_the_first()
    {
        var file = Write("lab.yaml", "name: lab\nhosts: { a: , b: }\n");

        var firstSession = TestbedLoader.Load(file, StateRoot);
        var runId = await RecordRunAsync(firstSession);
        var secondSession = TestbedLoader.Load(file, StateRoot);

        Assert.Equal(firstSession.JournalPath, secondSession.JournalPath);
        Assert.Equal(TestbedStateDirectory.For(file, "lab", StateRoot), Path.GetDirectoryName(secondSession.JournalPath));
        using var journal = RunJournal.Open(secondSession.JournalPath);
        var run = Assert.Single(journal.GetRuns());
        Assert.Equal((runId, "lab", RunStatus.Succeeded), (run.Id, run.Testbed, run.Status));
        Assert.Equal(firstSession.JournalPath, run.JournalPath);

        // Another file with the same testbed name keeps its own journal.
        var other = TestbedLoader.Load(Write(Path.Combine("elsewhere", "lab.yaml"), "name: lab\nhosts: { a: }\n"), StateRoot);
        Assert.NotEqual(firstSession.JournalPath, other.JournalPath);
    }

    [Fact]
    public async Task State_dir_moves_the_journal_for_every_session()
    {
        var file = Write("lab.yaml", "name: lab\nstate_dir: ./lab-state\nhosts: { a: }\n");

        var firstSession = TestbedLoader.Load(file, StateRoot);
        var runId = await RecordRunAsync(firstSession);
        var secondSession = TestbedLoader.Load(file, StateRoot);

        var expected = Path.Combine(_directory, "lab-state", "journal.db");
        Assert.Equal(expected, firstSession.JournalPath);
        Assert.Equal(expected, secondSession.JournalPath);
        Assert.True(File.Exists(expected));
        Assert.False(Directory.Exists(TestbedStateDirectory.For(file, "lab", StateRoot)), "the default state folder was used despite state_dir");
        using var journal = RunJournal.Open(secondSession.JournalPath);
        Assert.Equal(runId, Assert.Single(journal.GetRuns()).Id);
    }

    private string Write(string relativePath, string yaml)
    {
        var path = Path.Combine(_directory, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, yaml);
        return path;
    }

    private static async Task<long> RecordRunAsync(Testbed testbed)
    {
        using var journal = RunJournal.Open(testbed.JournalPath);
        await using var recorder = journal.BeginRun("Invoke-RemoteCommand", new Dictionary<string, object?> { ["Command"] = "true" }, testbed.Name, testbed.Machines.Count);
        foreach (var machine in testbed.Machines)
            recorder.RecordStep(new StepRecord { Name = machine.Name, Step = "command", Detail = "true", ExitCode = 0, Status = "Succeeded" });
        await recorder.CompleteAsync(RunStatus.Succeeded);
        return recorder.RunId;
    }
}
