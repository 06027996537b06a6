namespace Provisioning.Core.Journal;

/// <summary>
/// The testbed's run journal: an SQLite database (WAL) in the testbed's state folder. Safe for several
/// processes at once.
/// </summary>
public sealed class RunJournal : IDisposable
{
    private RunJournal(string path) => Path = path;

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Opens (creating if needed) the journal at <paramref name="path"/>.</summary>
    public static RunJournal Open(string path) => throw new NotImplementedException();

    /// <summary>Starts a run row and returns its recorder.</summary>
    public IRunRecorder BeginRun(string cmdlet, IReadOnlyDictionary<string, object?> parameters, string testbed, int hostCount) => throw new NotImplementedException();

    /// <summary>Runs, newest first; <paramref name="last"/> limits the count, <paramref name="id"/> picks one.</summary>
    public IReadOnlyList<ExperimentRun> GetRuns(int? last = null, long? id = null) => throw new NotImplementedException();

    /// <summary>Per-host steps of a run; only failed ones when <paramref name="failedOnly"/>.</summary>
    public IReadOnlyList<StepRecord> GetSteps(long runId, bool failedOnly = false) => throw new NotImplementedException();

    /// <summary>Artifacts fetched by a run.</summary>
    public IReadOnlyList<ArtifactRecord> GetArtifacts(long runId) => throw new NotImplementedException();

    /// <inheritdoc />
    public void Dispose() { }
}
