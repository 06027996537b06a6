using System.Collections;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Provisioning.Core.Errors;
using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;
using Xunit.Abstractions;

namespace Provisioning.Core.Tests;

public sealed class JournalTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("provisioning-journal-").FullName;

    private string DbPath => Path.Combine(_folder, "state", "journal.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private static StepRecord Step(string host, string status = "Succeeded", int? exit = 0, string stdout = "", int n = 0) => new()
    {
        Name = host,
        Address = $"127.0.0.{n + 1}",
        Step = "command",
        Detail = $"echo {host}",
        ExitCode = exit,
        Stdout = stdout,
        Stderr = status == "Succeeded" ? "" : "boom",
        StartTime = new DateTimeOffset(2025, 1, 2, 3, 4, 5, 678, TimeSpan.FromHours(1)),
        Duration = TimeSpan.FromMilliseconds(12.3456),
        Status = status,
        Error = status == "Succeeded" ? null : $"{host}: exit {exit}",
    };

    private SqliteConnection Raw()
    {
        var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();
        return connection;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    [Fact]
    public void An_allocation_is_recorded_with_its_release()
    {
        using var journal = RunJournal.Open(DbPath);
        journal.RecordAllocation("lab", "Slurm", "4242", 16, owned: true);
        journal.RecordAllocation("lab", "Slurm", "77", 2, owned: false);
        journal.RecordRelease("4242");
        var all = journal.GetAllocations();
        Assert.Equal(["4242", "77"], all.Select(a => a.JobId));
        Assert.Equal(16, all[0].Nodes);
        Assert.True(all[0].Owned);
        Assert.NotNull(all[0].ReleaseTime);
        Assert.False(all[1].Owned);
        Assert.Null(all[1].ReleaseTime);
    }

    [Fact]
    public async Task A_journal_of_schema_1_is_upgraded_and_keeps_its_runs()
    {
        using (var journal = RunJournal.Open(DbPath)) await journal.BeginRun("Invoke-RemoteCommand", new Dictionary<string, object?>(), "lab", 1).DisposeAsync();
        using (var raw = Raw())
        {
            Scalar(raw, "DROP TABLE allocations;");
            Scalar(raw, "PRAGMA user_version = 1;");
        }
        using var upgraded = RunJournal.Open(DbPath);
        Assert.Single(upgraded.GetRuns());
        Assert.Empty(upgraded.GetAllocations());
        using var check = Raw();
        Assert.Equal(2L, Scalar(check, "PRAGMA user_version;"));
    }

    [Fact]
    public void Opening_creates_a_versioned_wal_schema_readable_by_its_owner_only()
    {
        using (RunJournal.Open(DbPath)) { }
        using var raw = Raw();
        Assert.Equal(2L, Scalar(raw, "PRAGMA user_version;"));
        Assert.Equal("wal", Scalar(raw, "PRAGMA journal_mode;"));
        foreach (var table in new[] { "runs", "steps", "artifacts", "allocations" })
            Assert.Equal(1L, Scalar(raw, $"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}';"));
        Assert.Equal("steps", Scalar(raw, "SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND name = 'steps_run_id';"));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(DbPath));
        // Opening again (a new session) keeps what is there.
        using (var journal = RunJournal.Open(DbPath)) Assert.Empty(journal.GetRuns());
    }

    [Fact]
    public async Task A_run_round_trips_with_its_steps_and_artifacts()
    {
        long id;
        var before = DateTimeOffset.Now;
        using (var journal = RunJournal.Open(DbPath))
        {
            await using var run = journal.BeginRun("Invoke-RemoteCommand", new Dictionary<string, object?> { ["Command"] = "hostname" }, "bed", 3);
            id = run.RunId;
            run.RecordStep(Step("a", n: 0, stdout: "a\n"));
            run.RecordStep(Step("b", "Failed", 2, n: 1));
            run.RecordStep(Step("c", "Unreachable", null, n: 2));
            run.RecordArtifact(new ArtifactRecord { Name = "a", RemotePath = "/tmp/x", LocalPath = "/res/a/x", Length = 42, Sha256 = new string('f', 64) });
            await run.CompleteAsync(RunStatus.Failed);
        }

        using var reopened = RunJournal.Open(DbPath);
        var r = Assert.Single(reopened.GetRuns());
        Assert.Equal(id, r.Id);
        Assert.Equal("Invoke-RemoteCommand", r.Cmdlet);
        Assert.Equal("bed", r.Testbed);
        Assert.Equal(Environment.UserName, r.User);
        Assert.Equal(RunStatus.Failed, r.Status);
        Assert.Equal(3, r.HostCount);
        Assert.Equal(3, r.StepCount);
        Assert.Equal(2, r.FailedStepCount);
        Assert.Equal(DbPath, r.JournalPath);
        Assert.InRange(r.StartTime, before.AddSeconds(-1), DateTimeOffset.Now);
        Assert.NotNull(r.EndTime);
        Assert.True(r.EndTime >= r.StartTime);
        Assert.Equal("hostname", JsonDocument.Parse(r.Parameters).RootElement.GetProperty("Command").GetString());

        var steps = reopened.GetSteps(id);
        Assert.Equal(["a", "b", "c"], steps.Select(s => s.Name));
        var expected = Step("b", "Failed", 2, n: 1);
        var b = steps[1];
        Assert.Equal(id, b.RunId);
        Assert.Equal(expected.Address, b.Address);
        Assert.Equal(expected.Step, b.Step);
        Assert.Equal(expected.Detail, b.Detail);
        Assert.Equal(2, b.ExitCode);
        Assert.Equal("boom", b.Stderr);
        Assert.Equal(expected.StartTime, b.StartTime);
        Assert.Equal(expected.StartTime.Offset, b.StartTime.Offset);
        Assert.Equal(expected.Duration, b.Duration);
        Assert.Equal("Failed", b.Status);
        Assert.Equal("b: exit 2", b.Error);
        Assert.False(b.Succeeded);
        Assert.Equal("a\n", steps[0].Stdout);
        Assert.True(steps[0].Succeeded);
        Assert.Null(steps[0].Error);
        Assert.Null(steps[2].ExitCode);
        Assert.Equal(RunJournal.DefaultOutputCapBytes, b.OutputCapBytes);
        Assert.False(b.OutputTruncated);

        var artifact = Assert.Single(reopened.GetArtifacts(id));
        Assert.Equal(("a", "/tmp/x", "/res/a/x", 42L, new string('f', 64), id),
            (artifact.Name, artifact.RemotePath, artifact.LocalPath, artifact.Length, artifact.Sha256, artifact.RunId));
    }

    [Fact]
    public async Task Failed_only_returns_every_step_that_did_not_succeed()
    {
        using var journal = RunJournal.Open(DbPath);
        await using var run = journal.BeginRun("Invoke-RemoteCommand", new Dictionary<string, object?>(), "bed", 5);
        run.RecordStep(Step("ok1"));
        run.RecordStep(Step("bad", "Failed", 1));
        run.RecordStep(Step("ok2"));
        run.RecordStep(Step("late", "TimedOut", null));
        run.RecordStep(Step("gone", "Unreachable", null));
        await run.CompleteAsync(RunStatus.Failed);
        Assert.Equal(["bad", "late", "gone"], journal.GetSteps(run.RunId, failedOnly: true).Select(s => s.Name));
        Assert.Equal(5, journal.GetSteps(run.RunId).Count);
    }

    [Fact]
    public async Task Runs_come_newest_first_and_can_be_limited_or_picked()
    {
        using var journal = RunJournal.Open(DbPath);
        var ids = new List<long>();
        foreach (var cmdlet in new[] { "Invoke-RemoteCommand", "Send-AgentFile", "Get-ExperimentResult" })
        {
            await using var run = journal.BeginRun(cmdlet, new Dictionary<string, object?>(), "bed", 1);
            ids.Add(run.RunId);
            await run.CompleteAsync(RunStatus.Succeeded);
        }
        Assert.Equal(ids.AsEnumerable().Reverse(), journal.GetRuns().Select(r => r.Id));
        Assert.Equal([ids[2], ids[1]], journal.GetRuns(last: 2).Select(r => r.Id));
        Assert.Equal("Send-AgentFile", Assert.Single(journal.GetRuns(id: ids[1])).Cmdlet);
    }

    [Fact]
    public void Unknown_runs_are_RunNotFound()
    {
        using var journal = RunJournal.Open(DbPath);
        Assert.Equal(ErrorKind.RunNotFound, Assert.Throws<ProvisioningException>(() => journal.GetRuns(id: 42)).Kind);
        Assert.Equal(ErrorKind.RunNotFound, Assert.Throws<ProvisioningException>(() => journal.GetSteps(42)).Kind);
        Assert.Equal(ErrorKind.RunNotFound, Assert.Throws<ProvisioningException>(() => journal.GetArtifacts(42)).Kind);
    }

    [Fact]
    public async Task Secrets_in_parameters_are_redacted_at_any_depth()
    {
        var secure = new System.Security.SecureString();
        secure.AppendChar('x');
        var machine = new AgentMachine("node7", "127.0.0.7", 0, [], new ConnectionSettings());
        var parameters = new Dictionary<string, object?>
        {
            ["Command"] = "deploy {{ server }}",
            ["Password"] = "p4ss",
            ["ApiToken"] = "t0ken",
            ["ClientSecret"] = "s3cret",
            ["Credential"] = "cr3d",
            ["SshKey"] = "k3y",
            ["Variable"] = new Hashtable { ["server"] = "srv1", ["db_PASSWORD"] = "nested-p4ss", ["deep"] = new Hashtable { ["auth_token"] = "deep-t0ken" } },
            ["Anything"] = secure,
            ["ThrottleLimit"] = 32,
            ["InputObject"] = new[] { machine },
            ["Sudo"] = true,
            ["Nothing"] = null,
        };
        using var journal = RunJournal.Open(DbPath);
        await using (journal.BeginRun("Invoke-RemoteCommand", parameters, "bed", 1)) { }
        var json = journal.GetRuns().Single().Parameters;
        output.WriteLine(json);
        foreach (var secret in new[] { "p4ss", "t0ken", "s3cret", "cr3d", "k3y" }) Assert.DoesNotContain(secret, json);

        var root = JsonDocument.Parse(json).RootElement;
        foreach (var key in new[] { "Password", "ApiToken", "ClientSecret", "Credential", "SshKey", "Anything" })
            Assert.Equal("***", root.GetProperty(key).GetString());
        Assert.Equal("***", root.GetProperty("Variable").GetProperty("db_PASSWORD").GetString());
        Assert.Equal("***", root.GetProperty("Variable").GetProperty("deep").GetProperty("auth_token").GetString());
        Assert.Equal("srv1", root.GetProperty("Variable").GetProperty("server").GetString());
        Assert.Equal("deploy {{ server }}", root.GetProperty("Command").GetString());
        Assert.Equal(32, root.GetProperty("ThrottleLimit").GetInt32());
        Assert.Equal("node7", root.GetProperty("InputObject")[0].GetString());
        Assert.True(root.GetProperty("Sudo").GetBoolean());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("Nothing").ValueKind);
    }

    [Fact]
    public async Task A_run_disposed_without_completion_is_Interrupted_and_keeps_its_steps()
    {
        using var journal = RunJournal.Open(DbPath);
        var run = journal.BeginRun("Invoke-RemoteCommand", new Dictionary<string, object?>(), "bed", 4);
        run.RecordStep(Step("a"));
        run.RecordStep(Step("b", "Cancelled", null));
        await run.DisposeAsync();
        var r = journal.GetRuns().Single();
        Assert.Equal(RunStatus.Interrupted, r.Status);
        Assert.NotNull(r.EndTime);
        Assert.Equal(2, journal.GetSteps(r.Id).Count);
        Assert.Throws<InvalidOperationException>(() => run.RecordStep(Step("c")));
    }

    [Fact]
    public async Task Steps_reach_the_database_while_the_run_is_still_going()
    {
        using var journal = RunJournal.Open(DbPath);
        // Twice: the first pass pays for JIT and the first connections; the second is what a session sees.
        for (var pass = 1; pass <= 2; pass++)
        {
            await using var run = journal.BeginRun("Invoke-RemoteCommand", new Dictionary<string, object?>(), "bed", 2);
            run.RecordStep(Step("first"));
            var clock = Stopwatch.StartNew();
            while (journal.GetSteps(run.RunId).Count == 0)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "the step was not written while the run was open");
                await Task.Delay(1);
            }
            output.WriteLine($"pass {pass}: step visible to a reader after {clock.Elapsed.TotalMilliseconds:F1} ms");
            Assert.Equal(RunStatus.Running, journal.GetRuns(id: run.RunId).Single().Status);
            await run.CompleteAsync(RunStatus.Succeeded);
        }
    }

    [Fact]
    public async Task Output_past_the_cap_is_cut_on_a_character_boundary_and_flagged()
    {
        using var journal = RunJournal.Open(DbPath, outputCapBytes: 15);
        await using var run = journal.BeginRun("Invoke-RemoteCommand", new Dictionary<string, object?>(), "bed", 2);
        run.RecordStep(Step("big", stdout: new string('é', 100))); // 2 bytes each: 15 bytes hold 7 whole ones
        run.RecordStep(Step("small", stdout: "fits"));
        await run.CompleteAsync(RunStatus.Succeeded);
        var steps = journal.GetSteps(run.RunId);
        Assert.Equal(new string('é', 7), steps[0].Stdout);
        Assert.True(steps[0].OutputTruncated);
        Assert.Equal(15, steps[0].OutputCapBytes);
        Assert.Equal("fits", steps[1].Stdout);
        Assert.False(steps[1].OutputTruncated);
    }

    [Fact]
    public async Task A_running_run_whose_process_is_gone_reads_as_Interrupted()
    {
        using var journal = RunJournal.Open(DbPath);
        await using var live = journal.BeginRun("Invoke-RemoteCommand", new Dictionary<string, object?>(), "bed", 1);
        await using (var dead = journal.BeginRun("Send-AgentFile", new Dictionary<string, object?>(), "bed", 1))
        {
            // Pretend a crashed process (one that has exited) wrote the second run.
            using var exited = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
            exited.WaitForExit();
            using var raw = Raw();
            Scalar(raw, $"UPDATE runs SET writer_pid = {exited.Id} WHERE id = {dead.RunId};");
            var statuses = journal.GetRuns().ToDictionary(r => r.Id, r => r.Status);
            Assert.Equal(RunStatus.Running, statuses[live.RunId]);
            Assert.Equal(RunStatus.Interrupted, statuses[dead.RunId]);
            await dead.CompleteAsync(RunStatus.Succeeded);
        }
        await live.CompleteAsync(RunStatus.Succeeded);
    }

    [Fact]
    public void A_file_that_is_not_a_journal_is_JournalFailed()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DbPath)!);
        File.WriteAllText(DbPath, new string('x', 4096));
        var e = Assert.Throws<ProvisioningException>(() => RunJournal.Open(DbPath));
        Assert.Equal(ErrorKind.JournalFailed, e.Kind);
        Assert.Contains(DbPath, e.Message);
    }

    [Fact]
    public void A_journal_from_a_newer_module_is_refused()
    {
        using (RunJournal.Open(DbPath)) { }
        using (var raw = Raw()) Scalar(raw, "PRAGMA user_version = 99;");
        var e = Assert.Throws<ProvisioningException>(() => RunJournal.Open(DbPath));
        Assert.Equal(ErrorKind.JournalFailed, e.Kind);
        Assert.Contains("99", e.Message);
    }

    [Fact]
    public async Task Many_runs_recording_from_many_threads_lose_nothing()
    {
        const int runs = 8, steps = 200;
        await Task.WhenAll(Enumerable.Range(0, runs).Select(_ => Task.Run(async () =>
        {
            using var journal = RunJournal.Open(DbPath);
            await using var run = journal.BeginRun("Invoke-RemoteCommand", new Dictionary<string, object?>(), "bed", steps);
            Parallel.For(0, steps, i => run.RecordStep(Step($"h{i}", n: i)));
            await run.CompleteAsync(RunStatus.Succeeded);
        })));
        using var check = RunJournal.Open(DbPath);
        var all = check.GetRuns();
        Assert.Equal(runs, all.Count);
        Assert.All(all, r => Assert.Equal((RunStatus.Succeeded, steps), (r.Status, r.StepCount)));
        Assert.All(all, r => Assert.Equal(steps, check.GetSteps(r.Id).Select(s => s.Name).Distinct().Count()));
    }

    [Fact]
    public async Task A_100_host_run_records_every_step_and_logs_what_recording_cost()
    {
        using var journal = RunJournal.Open(DbPath);
        var steps = Enumerable.Range(0, 100).Select(i => Step($"node{i}", stdout: $"node{i}\n", n: i)).ToArray();
        var parameters = new Dictionary<string, object?> { ["Command"] = "hostname", ["ThrottleLimit"] = 32 };

        async Task<(double Total, double Record)> OneRun()
        {
            var total = Stopwatch.StartNew();
            await using var run = journal.BeginRun("Invoke-RemoteCommand", parameters, "bed", steps.Length);
            var record = Stopwatch.StartNew();
            foreach (var step in steps) run.RecordStep(step);
            record.Stop();
            await run.CompleteAsync(RunStatus.Succeeded);
            return (total.Elapsed.TotalMilliseconds, record.Elapsed.TotalMilliseconds);
        }

        await OneRun(); // warm-up: JIT, native library, pooled connection
        var samples = new List<(double Total, double Record)>();
        for (var i = 0; i < 9; i++) samples.Add(await OneRun());
        var total = samples.Select(s => s.Total).Order().ElementAt(samples.Count / 2);
        var record = samples.Select(s => s.Record).Order().ElementAt(samples.Count / 2);
        var opens = Enumerable.Range(0, 9).Select(_ =>
        {
            var clock = Stopwatch.StartNew();
            using (RunJournal.Open(DbPath)) { }
            return clock.Elapsed.TotalMilliseconds;
        }).Order().ToList();
        output.WriteLine($"100-step run, median of {samples.Count}: caller-visible total {total:F2} ms (BeginRun + 100 x RecordStep + CompleteAsync, which waits for the flush), RecordStep x100 {record:F3} ms; RunJournal.Open of an existing journal {opens[4]:F2} ms");
        Assert.Equal(10 * steps.Length, journal.GetRuns().Sum(r => r.StepCount));
        // The cost itself is measured by the benchmark (--only journal), not asserted here: timings on a
        // shared CI machine would make this test flaky.
    }
}
