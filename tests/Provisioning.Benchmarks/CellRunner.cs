using System.Diagnostics;

namespace Provisioning.Benchmarks;

/// <summary>How to measure one cell. Only <see cref="Run"/> is timed, and it measures itself.</summary>
internal sealed class Trial
{
    /// <summary>Once before the warm-ups (open master connections, write inputs).</summary>
    public Func<CancellationToken, Task>? Setup { get; init; }
    /// <summary>Before every run, warm-ups included (wipe remote state, close masters for a cold run).</summary>
    public Func<CancellationToken, Task>? Prepare { get; init; }
    /// <summary>One run: returns its wall clock; throws <see cref="VerificationException"/> when the work was not all done.</summary>
    public required Func<CancellationToken, Task<TimeSpan>> Run { get; init; }
    /// <summary>Untimed runs before the timed ones; null: the --warmup option.</summary>
    public int? Warmups { get; init; }
    /// <summary>Always, at the end (close masters the tool left behind).</summary>
    public Func<CancellationToken, Task>? Cleanup { get; init; }
}

/// <summary>
/// Runs trials: setup, warm-ups, timed runs, cleanup. A failing tool makes its cell n/a with the error and never
/// stops the benchmark. A cell stops repeating once it used its time budget (keeping at least one timed run).
/// </summary>
internal sealed class CellRunner(BenchmarkOptions options, TextWriter log)
{
    /// <summary>Every cell measured so far, in order.</summary>
    public List<Cell> Cells { get; } = [];

    /// <summary>Measures <paramref name="trial"/> into a new cell and returns it.</summary>
    public async Task<Cell> MeasureAsync(string job, string tool, Temperature temperature, int hosts, Trial trial, CancellationToken ct)
    {
        var cell = new Cell(job, tool, temperature, hosts);
        Cells.Add(cell);
        var spent = Stopwatch.StartNew();
        Log($"{cell}: start");
        try
        {
            if (trial.Setup is not null) await trial.Setup(ct).ConfigureAwait(false);
            for (var i = 0; i < (trial.Warmups ?? options.Warmups); i++)
            {
                if (trial.Prepare is not null) await trial.Prepare(ct).ConfigureAwait(false);
                var w = await trial.Run(ct).ConfigureAwait(false);
                Log($"{cell}: warm-up {w.TotalSeconds:0.000} s");
                if (spent.Elapsed > options.CellBudget / 2) break;
            }
            for (var i = 0; i < options.Runs; i++)
            {
                if (i > 0 && spent.Elapsed > options.CellBudget)
                {
                    cell.Note = $"{i} of {options.Runs} runs (time budget {options.CellBudget.TotalSeconds:0} s)";
                    break;
                }
                if (trial.Prepare is not null) await trial.Prepare(ct).ConfigureAwait(false);
                var t = await trial.Run(ct).ConfigureAwait(false);
                cell.Add(t);
                Log($"{cell}: run {i + 1}/{options.Runs} {t.TotalSeconds:0.000} s");
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            cell.Fail("interrupted");
            throw;
        }
        catch (Exception e)
        {
            cell.Fail(Describe(e));
            Log($"{cell}: n/a: {cell.Error}");
        }
        finally
        {
            if (trial.Cleanup is not null)
            {
                try
                {
                    await trial.Cleanup(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    Log($"{cell}: cleanup failed: {Describe(e)}");
                }
            }
        }
        return cell;
    }

    /// <summary>Adds a cell measured by hand (the journal suite alternates two cells) so the report shows it.</summary>
    public Cell Register(Cell cell)
    {
        Cells.Add(cell);
        return cell;
    }

    /// <summary>Records a cell that cannot be measured at all (a tool is missing), so the report says why.</summary>
    public Cell Skip(string job, string tool, Temperature temperature, int hosts, string reason)
    {
        var cell = new Cell(job, tool, temperature, hosts);
        cell.Fail(reason);
        Cells.Add(cell);
        Log($"{cell}: n/a: {reason}");
        return cell;
    }

    /// <summary>Writes a timestamped progress line.</summary>
    public void Log(string message) => log.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");

    /// <summary>A one-line reason for the report: the exception's own message, its type when that says more.</summary>
    public static string Describe(Exception e) => e switch
    {
        VerificationException => e.Message,
        NotImplementedException => $"not implemented yet: {e.TargetSite?.DeclaringType?.Name}.{e.TargetSite?.Name}"
            + (e.Message == new NotImplementedException().Message ? "" : $" ({e.Message})"),
        AggregateException { InnerException: { } inner } => Describe(inner),
        _ => $"{e.GetType().Name}: {e.Message}",
    };
}
