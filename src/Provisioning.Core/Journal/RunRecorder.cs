using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Provisioning.Core.Errors;

namespace Provisioning.Core.Journal;

/// <summary>
/// Records one run. Callers (fan-out workers, many at once) only enqueue; one background writer drains the queue
/// and inserts whatever has accumulated in one short IMMEDIATE transaction, so rows reach the database as hosts
/// finish, a burst of hosts costs one commit, and the write lock is never held for long. The final status rides
/// the queue as its last item, so it commits together with the last steps.
/// </summary>
internal sealed class RunRecorder : IRunRecorder
{
    private const int MaxBatch = 256;

    private readonly Channel<object> _queue = Channel.CreateUnbounded<object>(new UnboundedChannelOptions
    {
        SingleReader = true,
        SingleWriter = false,
        // A caller's TryWrite must never run the writer's continuation inline.
        AllowSynchronousContinuations = false,
    });

    private readonly SqliteConnection _connection;
    private readonly string _journalPath;
    private readonly int _outputCapBytes;
    private readonly Task _writer;
    private int _closed;
    private Exception? _fault;
    private long _lost;

    /// <summary>Takes ownership of <paramref name="connection"/>, on which the run row already exists.</summary>
    public RunRecorder(SqliteConnection connection, long runId, string journalPath, int outputCapBytes)
    {
        _connection = connection;
        RunId = runId;
        _journalPath = journalPath;
        _outputCapBytes = outputCapBytes;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <inheritdoc />
    public long RunId { get; }

    /// <inheritdoc />
    public string JournalPath => _journalPath;

    /// <inheritdoc />
    public void RecordStep(StepRecord step)
    {
        ArgumentNullException.ThrowIfNull(step);
        Enqueue(step);
    }

    /// <inheritdoc />
    public void RecordArtifact(ArtifactRecord artifact)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        Enqueue(artifact);
    }

    /// <inheritdoc />
    public async Task CompleteAsync(RunStatus status, CancellationToken cancellationToken = default)
    {
        if (status == RunStatus.Running)
            throw new ArgumentException("A run cannot be completed as Running.", nameof(status));
        if (Interlocked.Exchange(ref _closed, 1) != 0)
            throw new InvalidOperationException($"Run {RunId} is already closed.");
        _queue.Writer.TryWrite(new Close(status, DateTimeOffset.Now));
        _queue.Writer.TryComplete();
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_fault is not null)
            throw new ProvisioningException(ErrorKind.JournalFailed,
                $"The journal '{_journalPath}' could not record run {RunId} completely ({Interlocked.Read(ref _lost)} record(s) lost): {_fault.Message}",
                _journalPath, _fault);
    }

    /// <summary>Closes the run as <see cref="RunStatus.Interrupted"/> unless <see cref="CompleteAsync"/> closed it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            _queue.Writer.TryWrite(new Close(RunStatus.Interrupted, DateTimeOffset.Now));
            _queue.Writer.TryComplete();
        }
        // Dispose must not throw: a journal fault was already reported by CompleteAsync, or the run is being
        // abandoned (Ctrl+C) and its recorded steps are what matters.
        await _writer.ConfigureAwait(false);
    }

    private void Enqueue(object record)
    {
        if (!_queue.Writer.TryWrite(record))
            throw new InvalidOperationException($"Run {RunId} is already closed; nothing more can be recorded in it.");
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<object>(MaxBatch);
        try
        {
            using var statements = new Statements(_connection);
            var reader = _queue.Reader;
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (batch.Count < MaxBatch && reader.TryRead(out var item)) batch.Add(item);
                try
                {
                    BusyRetry.Run(() => WriteBatch(statements, batch));
                }
                catch (Exception e)
                {
                    // Whatever broke this batch, keep draining so callers never block and memory stays flat;
                    // CompleteAsync reports the loss.
                    _fault ??= e;
                    Interlocked.Add(ref _lost, batch.Count);
                }
                batch.Clear();
            }
        }
        catch (Exception e)
        {
            _fault ??= e;
        }
        finally
        {
            _connection.Dispose();
        }
    }

    private void WriteBatch(Statements statements, List<object> batch)
    {
        using var transaction = _connection.BeginTransaction(deferred: false);
        statements.Enlist(transaction);
        foreach (var item in batch)
        {
            switch (item)
            {
                case StepRecord step:
                    statements.InsertStep(RunId, step, _outputCapBytes);
                    break;
                case ArtifactRecord artifact:
                    statements.InsertArtifact(RunId, artifact);
                    break;
                case Close close:
                    statements.CloseRun(RunId, close);
                    break;
            }
        }
        transaction.Commit();
    }

    private sealed record Close(RunStatus Status, DateTimeOffset EndTime);

    /// <summary>The recorder's prepared statements, reused for every row (SQLite keeps them compiled).</summary>
    private sealed class Statements : IDisposable
    {
        private readonly SqliteCommand _step;
        private readonly SqliteCommand _artifact;
        private readonly SqliteCommand _close;

        public Statements(SqliteConnection connection)
        {
            _step = Command(connection,
                """
                INSERT INTO steps (run_id, host, address, step, detail, exit_code, stdout, stderr, output_cap, truncated, start, duration_ms, status, error)
                VALUES ($run, $host, $address, $step, $detail, $exit, $stdout, $stderr, $cap, $truncated, $start, $duration, $status, $error);
                """,
                "$run", "$host", "$address", "$step", "$detail", "$exit", "$stdout", "$stderr", "$cap", "$truncated", "$start", "$duration", "$status", "$error");
            _artifact = Command(connection,
                """
                INSERT INTO artifacts (run_id, host, remote_path, local_path, length, sha256)
                VALUES ($run, $host, $remote, $local, $length, $sha);
                """,
                "$run", "$host", "$remote", "$local", "$length", "$sha");
            _close = Command(connection,
                "UPDATE runs SET end = $end, status = $status WHERE id = $run;",
                "$run", "$end", "$status");
        }

        public void Enlist(SqliteTransaction transaction)
        {
            _step.Transaction = transaction;
            _artifact.Transaction = transaction;
            _close.Transaction = transaction;
        }

        public void InsertStep(long runId, StepRecord step, int journalCap)
        {
            // The tighter of the caller's in-memory cap and the journal's cap is the one that applied.
            var cap = step.OutputCapBytes > 0 ? Math.Min(step.OutputCapBytes, journalCap) : journalCap;
            var stdout = OutputCap.Apply(step.Stdout ?? "", cap, out var cutOut);
            var stderr = OutputCap.Apply(step.Stderr ?? "", cap, out var cutErr);
            var p = _step.Parameters;
            p[0].Value = runId;
            p[1].Value = step.Name ?? "";
            p[2].Value = step.Address ?? "";
            p[3].Value = step.Step ?? "";
            p[4].Value = step.Detail ?? "";
            p[5].Value = step.ExitCode is { } exit ? exit : DBNull.Value;
            p[6].Value = stdout;
            p[7].Value = stderr;
            p[8].Value = cap;
            p[9].Value = step.OutputTruncated || cutOut || cutErr ? 1 : 0;
            p[10].Value = JournalTime.Format(step.StartTime);
            p[11].Value = step.Duration.TotalMilliseconds;
            p[12].Value = step.Status ?? "";
            p[13].Value = (object?)step.Error ?? DBNull.Value;
            _step.ExecuteNonQuery();
        }

        public void InsertArtifact(long runId, ArtifactRecord artifact)
        {
            var p = _artifact.Parameters;
            p[0].Value = runId;
            p[1].Value = artifact.Name ?? "";
            p[2].Value = artifact.RemotePath ?? "";
            p[3].Value = artifact.LocalPath ?? "";
            p[4].Value = artifact.Length;
            p[5].Value = artifact.Sha256 ?? "";
            _artifact.ExecuteNonQuery();
        }

        public void CloseRun(long runId, Close close)
        {
            var p = _close.Parameters;
            p[0].Value = runId;
            p[1].Value = JournalTime.Format(close.EndTime);
            p[2].Value = close.Status.ToString();
            _close.ExecuteNonQuery();
        }

        public void Dispose()
        {
            _step.Dispose();
            _artifact.Dispose();
            _close.Dispose();
        }

        private static SqliteCommand Command(SqliteConnection connection, string sql, params string[] parameters)
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var name in parameters) command.Parameters.Add(new SqliteParameter { ParameterName = name });
            return command;
        }
    }
}
