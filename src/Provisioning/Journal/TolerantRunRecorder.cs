using Provisioning.Core.Journal;

namespace Provisioning.Journal;

/// <summary>
/// Wraps the journal's recorder so that a failure to record a step (called by the engine on worker threads)
/// is reported once as a warning instead of turning into that host's failure.
/// </summary>
internal sealed class TolerantRunRecorder : IRunRecorder
{
    private readonly IRunRecorder _inner;
    private readonly Action<string> _warn;
    private int _warned;

    /// <summary>Wraps <paramref name="inner"/>; <paramref name="warn"/> must be thread-safe.</summary>
    public TolerantRunRecorder(IRunRecorder inner, Action<string> warn)
    {
        _inner = inner;
        _warn = warn;
    }

    /// <inheritdoc />
    public long RunId => _inner.RunId;

    /// <inheritdoc />
    public string JournalPath => _inner.JournalPath;

    /// <inheritdoc />
    public void RecordStep(StepRecord step) => Guard(() => _inner.RecordStep(step), step.Name);

    /// <inheritdoc />
    public void RecordArtifact(ArtifactRecord artifact) => Guard(() => _inner.RecordArtifact(artifact), artifact.Name);

    /// <inheritdoc />
    public Task CompleteAsync(RunStatus status, CancellationToken cancellationToken = default) =>
        _inner.CompleteAsync(status, cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _inner.DisposeAsync();

    private void Guard(Action record, string host)
    {
        try
        {
            record();
        }
        catch (Exception ex)
        {
            if (Interlocked.Exchange(ref _warned, 1) == 0)
                _warn($"The journal could not record run {RunId} for {host} (later failures are not reported): {ex.Message}");
        }
    }
}
