using System.Collections.Concurrent;
using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;

namespace Provisioning.Journal;

/// <summary>
/// Journals one cmdlet call in its testbed's journal. The journal is provenance, not the work itself: every
/// failure to open, record or close it becomes a warning (collected here, written by the cmdlet on the
/// pipeline thread) and never fails or blocks the command.
/// </summary>
internal sealed class RunRecording
{
    private static readonly TimeSpan CompleteLimit = TimeSpan.FromSeconds(10);

    private readonly ConcurrentQueue<string> _warnings = new();
    private readonly RunJournal? _journal;
    private readonly IRunRecorder? _recorder;
    private int _completed;

    private RunRecording(Testbed testbed, string cmdlet, IReadOnlyDictionary<string, object?> parameters, int hostCount)
    {
        try
        {
            _journal = RunJournal.Open(testbed.JournalPath);
            var inner = _journal.BeginRun(cmdlet, parameters, testbed.Name, hostCount);
            _recorder = new TolerantRunRecorder(inner, Warn);
        }
        catch (Exception ex)
        {
            Warn($"The run is not journaled: the journal '{testbed.JournalPath}' could not be opened: {ex.Message}");
            _journal?.Dispose();
            _journal = null;
        }
    }

    /// <summary>The recorder to hand to the engine, or null when the journal is unavailable.</summary>
    public IRunRecorder? Recorder => _recorder;

    /// <summary>Opens the testbed's journal and starts a run row.</summary>
    public static RunRecording Begin(Testbed testbed, string cmdlet, IReadOnlyDictionary<string, object?> parameters, int hostCount) =>
        new(testbed, cmdlet, parameters, hostCount);

    /// <summary>Flushes the recorded steps and closes the run with <paramref name="status"/> (bounded, at most once).</summary>
    public void Complete(RunStatus status)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0) return;
        try
        {
            if (_recorder is not null)
            {
                using var limit = new CancellationTokenSource(CompleteLimit);
                _recorder.CompleteAsync(status, limit.Token).GetAwaiter().GetResult();
                _recorder.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        catch (Exception ex)
        {
            Warn($"The journal could not close run {_recorder?.RunId}: {ex.Message}");
        }
        finally
        {
            try
            {
                _journal?.Dispose();
            }
            catch (Exception ex)
            {
                Warn($"The journal could not be closed: {ex.Message}");
            }
        }
    }

    /// <summary>Warnings gathered so far (from any thread); each is returned once.</summary>
    public IEnumerable<string> TakeWarnings()
    {
        while (_warnings.TryDequeue(out var warning)) yield return warning;
    }

    private void Warn(string message) => _warnings.Enqueue(message);
}
