using System.Diagnostics;
using System.Text.Json;
using Provisioning.Core.Journal;
using Xunit.Abstractions;

namespace Provisioning.Core.Tests;

/// <summary>
/// The journal with more than one process: writers in other processes (the LoaderProbe, loading the engine from
/// the assembled module) and a writer that is killed mid-run.
/// </summary>
[Collection(JournalModuleCollection.Name)]
public sealed class JournalMultiProcessTests(JournalModuleFixture module, ITestOutputHelper output)
{
    [Fact]
    public async Task Two_processes_and_this_one_writing_one_journal_at_once_lose_nothing()
    {
        const int runs = 100, steps = 25;
        var folder = module.NewScratchFolder();
        var db = Path.Combine(folder, "journal.db");
        var go = Path.Combine(folder, "go");
        using (RunJournal.Open(db)) { } // schema in place, so the writers contend on data, not on creation

        var writers = new[] { StartWriter(db, runs, steps, go), StartWriter(db, runs, steps, go) };
        try
        {
            foreach (var writer in writers)
            {
                var first = await writer.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1));
                if (first != "ready") Assert.Fail($"writer said '{first}': {await writer.StandardError.ReadToEndAsync()}");
            }
            await File.WriteAllTextAsync(go, "");

            using (var journal = RunJournal.Open(db))
            {
                for (var r = 0; r < runs; r++)
                {
                    await using var run = journal.BeginRun("Invoke-RemoteCommand",
                        new Dictionary<string, object?> { ["Writer"] = Environment.ProcessId }, "bed", steps);
                    Parallel.For(0, steps, i => run.RecordStep(new StepRecord { Name = $"node{i}", Step = "command", Status = "Succeeded" }));
                    await run.CompleteAsync(RunStatus.Succeeded);
                }
            }

            foreach (var writer in writers)
            {
                var rest = await writer.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(2));
                var errors = await writer.StandardError.ReadToEndAsync();
                await writer.WaitForExitAsync();
                Assert.True(writer.ExitCode == 0, $"writer {writer.Id} exit {writer.ExitCode}: {rest} {errors}");
            }
        }
        finally
        {
            foreach (var writer in writers)
            {
                if (!writer.HasExited) writer.Kill(entireProcessTree: true);
                writer.Dispose();
            }
        }

        using var check = RunJournal.Open(db);
        var all = check.GetRuns();
        Assert.Equal(3 * runs, all.Count);
        Assert.All(all, r => Assert.Equal((RunStatus.Succeeded, steps, steps), (r.Status, r.StepCount, check.GetSteps(r.Id).Select(s => s.Name).Distinct().Count())));

        // The writers really overlapped: in id order, runs alternate between processes many times.
        var owners = all.OrderBy(r => r.Id).Select(r => JsonDocument.Parse(r.Parameters).RootElement.GetProperty("Writer").GetInt32()).ToList();
        Assert.Equal(3, owners.Distinct().Count());
        var switches = owners.Zip(owners.Skip(1)).Count(p => p.First != p.Second);
        output.WriteLine($"{all.Count} runs, {switches} switches between writers in id order");
        // At least A..B..A: a writer committed between two runs of another. More is typical, but a loaded
        // machine may schedule the processes in long slices.
        Assert.True(switches >= 2, $"only {switches} switches between writers: they did not run at the same time");
    }

    [Fact]
    public void A_writer_killed_mid_run_leaves_its_steps_and_an_Interrupted_run()
    {
        var db = Path.Combine(module.NewScratchFolder(), "journal.db");
        var run = module.RunProbe("write-journal", module.AssembledModule, db, "1", "30", "--crash");
        output.WriteLine(run.ToString());
        Assert.Contains("recorded", run.Stdout);
        Assert.Equal(137, run.ExitCode); // SIGKILL: no finally block, no Dispose ran
        var id = long.Parse(run.Stdout.Split('\n').Single(l => l.StartsWith("run ", StringComparison.Ordinal))[4..]);

        using var journal = RunJournal.Open(db);
        var r = Assert.Single(journal.GetRuns(id: id));
        Assert.Equal(RunStatus.Interrupted, r.Status);
        Assert.Null(r.EndTime);
        Assert.Equal(30, journal.GetSteps(id).Count);
    }

    private Process StartWriter(string db, int runs, int steps, string go) =>
        module.StartProbe("write-journal", module.AssembledModule, db, runs.ToString(), steps.ToString(), "--wait-for", go);
}
