using Provisioning.Core.Journal;

namespace Provisioning.Benchmarks;

/// <summary>
/// Issue 3's journal cost: a warm `hostname` run on N agents without a recorder and with one (RunJournal.BeginRun,
/// as Invoke-RemoteCommand does), timed from BeginRun to CompleteAsync. The two kinds of run alternate so that
/// drift on a shared machine hits both alike; more runs than elsewhere, because the effect looked for is small.
/// </summary>
internal sealed class JournalSuite(BenchmarkContext context)
{
    /// <summary>The job name in cells and the report.</summary>
    public const string Job = "journal";

    /// <summary>Row labels.</summary>
    public const string Without = "engine warm, no journal", With = "engine warm, journal";

    /// <summary>Measures and records both cells.</summary>
    public async Task RunAsync(int n, CancellationToken ct)
    {
        var engine = context.Engine;
        var machines = engine.Testbed.Machines.Take(n).ToArray();
        var runs = Math.Max(context.Options.Runs, 5);
        var without = context.Runner.Register(new Cell(Job, Without, Temperature.Warm, n));
        var with = context.Runner.Register(new Cell(Job, With, Temperature.Warm, n));
        RunJournal? journal = null;
        try
        {
            journal = RunJournal.Open(engine.Testbed.JournalPath);
            async Task<TimeSpan> Journaled(CancellationToken c)
            {
                var watch = System.Diagnostics.Stopwatch.StartNew();
                await using var recorder = journal.BeginRun("Invoke-RemoteCommand",
                    new Dictionary<string, object?> { ["Command"] = "hostname", ["ThrottleLimit"] = n }, engine.Testbed.Name, n);
                await engine.RunHostnameAsync(machines, recorder, c).ConfigureAwait(false);
                await recorder.CompleteAsync(RunStatus.Succeeded, c).ConfigureAwait(false);
                return watch.Elapsed;
            }
            // Warm-up of both paths: opens the masters, JITs the journal, creates the database.
            await engine.RunHostnameAsync(machines, null, ct).ConfigureAwait(false);
            await Journaled(ct).ConfigureAwait(false);
            for (var i = 0; i < runs; i++)
            {
                without.Add(await engine.RunHostnameAsync(machines, null, ct).ConfigureAwait(false));
                with.Add(await Journaled(ct).ConfigureAwait(false));
                context.Runner.Log($"{Job} N={n}: pair {i + 1}/{runs}: {without.Seconds[^1]:0.000} s / {with.Seconds[^1]:0.000} s");
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            var reason = CellRunner.Describe(e);
            without.Fail(reason);
            with.Fail(reason);
            context.Runner.Log($"{Job} N={n}: n/a: {reason}");
        }
        finally
        {
            journal?.Dispose();
            await engine.CloseConnectionsQuietlyAsync(context.Runner.Log).ConfigureAwait(false);
        }
    }
}
