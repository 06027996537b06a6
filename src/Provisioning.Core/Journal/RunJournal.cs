using Microsoft.Data.Sqlite;
using Provisioning.Core.Errors;

namespace Provisioning.Core.Journal;

/// <summary>
/// The testbed's run journal: an SQLite database (WAL) in the testbed's state folder. Safe for several
/// processes at once: writers take short IMMEDIATE transactions, wait on a busy timeout and retry when SQLite
/// still reports the database as busy.
/// </summary>
/// <remarks>
/// Durability: WAL with <c>synchronous=NORMAL</c>. A committed step survives a crash of the process (it is in the
/// WAL file); only a power loss can take back the last commits. Steps are committed as hosts finish.
/// </remarks>
public sealed class RunJournal : IDisposable
{
    /// <summary>Default cap on each of a step's stdout and stderr, in UTF-8 bytes.</summary>
    public const int DefaultOutputCapBytes = 64 * 1024;

    // How long SQLite itself waits for another writer before reporting SQLITE_BUSY (then BusyRetry takes over).
    private const int BusyTimeoutMs = 5000;

    private static readonly Lazy<bool> NativeLibraryReady = new(() =>
    {
        SQLitePCL.Batteries_V2.Init();
        return true;
    });

    private readonly string _connectionString;

    private RunJournal(string path, int outputCapBytes)
    {
        Path = path;
        OutputCapBytes = outputCapBytes;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>The cap applied to each of a recorded step's stdout and stderr, in UTF-8 bytes.</summary>
    public int OutputCapBytes { get; }

    /// <summary>
    /// Opens (creating if needed, with its folder) the journal at <paramref name="path"/> and brings its schema up to
    /// date. Throws <see cref="ProvisioningException"/> (<see cref="ErrorKind.JournalFailed"/>) when the file cannot
    /// be created or is not a journal.
    /// </summary>
    /// <param name="path">The database file, normally <c>Testbed.JournalPath</c>.</param>
    /// <param name="outputCapBytes">Cap on each recorded stdout/stderr; output past it is cut and the step marked truncated.</param>
    public static RunJournal Open(string path, int outputCapBytes = DefaultOutputCapBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegative(outputCapBytes);
        var fullPath = System.IO.Path.GetFullPath(path);
        var journal = new RunJournal(fullPath, outputCapBytes);
        try
        {
            _ = NativeLibraryReady.Value;
            CreateFile(fullPath);
            using var connection = journal.OpenConnection();
            BusyRetry.Run(() =>
            {
                // Persistent in the file: every later connection, from any process, uses WAL.
                Execute(connection, "PRAGMA journal_mode = WAL;");
                JournalSchema.Upgrade(connection, fullPath);
            });
            return journal;
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            journal.Dispose();
            throw new ProvisioningException(ErrorKind.JournalFailed, $"Cannot open the journal '{fullPath}': {e.Message}", fullPath, e);
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or EntryPointNotFoundException)
        {
            // Typically the module was loaded without its dependencies/runtimes/<rid>/native folder.
            var cause = e is TypeInitializationException ? e.GetBaseException() : e;
            throw new ProvisioningException(ErrorKind.JournalFailed,
                $"Cannot open the journal '{fullPath}': SQLite's native library (e_sqlite3) could not be loaded: {cause.Message}", fullPath, e);
        }
        catch
        {
            journal.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Inserts a run row (status Running, start now, the current user and process) and returns the recorder that
    /// streams its steps in. Parameter values whose key matches password, secret, token, credential or key
    /// (case-insensitive, at any depth) are stored as <c>***</c>. Dispose the recorder without completing it and the
    /// run is marked <see cref="RunStatus.Interrupted"/>.
    /// </summary>
    /// <param name="cmdlet">The cmdlet name (Invoke-RemoteCommand, ...).</param>
    /// <param name="parameters">The bound parameters; values may be any objects (PSObjects, machines, hashtables).</param>
    /// <param name="testbed">The testbed's name.</param>
    /// <param name="hostCount">How many hosts the run targets.</param>
    public IRunRecorder BeginRun(string cmdlet, IReadOnlyDictionary<string, object?> parameters, string testbed, int hostCount)
    {
        ArgumentException.ThrowIfNullOrEmpty(cmdlet);
        var json = RedactedParameters.ToJson(parameters);
        var writer = WriterProcess.Current;
        SqliteConnection? connection = null;
        try
        {
            connection = OpenConnection();
            using var insert = connection.CreateCommand();
            insert.CommandText =
                """
                INSERT INTO runs (cmdlet, parameters, testbed, user, start, status, host_count, writer_pid, writer_host, writer_started)
                VALUES ($cmdlet, $parameters, $testbed, $user, $start, $status, $hosts, $pid, $host, $started)
                RETURNING id;
                """;
            insert.Parameters.AddWithValue("$cmdlet", cmdlet);
            insert.Parameters.AddWithValue("$parameters", json);
            insert.Parameters.AddWithValue("$testbed", testbed ?? "");
            insert.Parameters.AddWithValue("$user", Environment.UserName);
            insert.Parameters.AddWithValue("$start", JournalTime.Format(DateTimeOffset.Now));
            insert.Parameters.AddWithValue("$status", nameof(RunStatus.Running));
            insert.Parameters.AddWithValue("$hosts", hostCount);
            insert.Parameters.AddWithValue("$pid", writer.Pid);
            insert.Parameters.AddWithValue("$host", writer.Host);
            insert.Parameters.AddWithValue("$started", writer.StartedUnixMs);
            var id = BusyRetry.Run(() => Convert.ToInt64(insert.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
            return new RunRecorder(connection, id, Path, OutputCapBytes);
        }
        catch (Exception e) when (e is SqliteException or InvalidOperationException)
        {
            connection?.Dispose();
            throw new ProvisioningException(ErrorKind.JournalFailed, $"Cannot start a run in the journal '{Path}': {e.Message}", Path, e);
        }
    }

    /// <summary>
    /// Runs, newest first; <paramref name="last"/> limits the count, <paramref name="id"/> picks one (and throws
    /// <see cref="ErrorKind.RunNotFound"/> when there is no such run). A run still marked Running whose writer
    /// process is certainly gone (same host, pid dead or reused) is reported as <see cref="RunStatus.Interrupted"/>.
    /// </summary>
    public IReadOnlyList<ExperimentRun> GetRuns(int? last = null, long? id = null)
    {
        if (last is <= 0) throw new ArgumentOutOfRangeException(nameof(last), last, "last must be positive.");
        var runs = Query(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText =
                $"""
                SELECT r.id, r.cmdlet, r.parameters, r.testbed, r.user, r.start, r.end, r.status, r.host_count,
                       r.writer_pid, r.writer_host, r.writer_started,
                       (SELECT count(*) FROM steps s WHERE s.run_id = r.id),
                       (SELECT count(*) FROM steps s WHERE s.run_id = r.id AND s.status <> $succeeded)
                FROM runs r
                {(id is null ? "" : "WHERE r.id = $id")}
                ORDER BY r.id DESC
                {(last is null ? "" : "LIMIT $last")};
                """;
            command.Parameters.AddWithValue("$succeeded", nameof(Execution.HostStatus.Succeeded));
            if (id is not null) command.Parameters.AddWithValue("$id", id.Value);
            if (last is not null) command.Parameters.AddWithValue("$last", last.Value);
            var list = new List<ExperimentRun>();
            using var reader = command.ExecuteReader();
            while (reader.Read()) list.Add(ReadRun(reader));
            return list;
        });
        if (id is not null && runs.Count == 0) throw RunNotFound(id.Value);
        return runs;
    }

    /// <summary>Per-host steps of a run, in the order they were recorded; only failed ones (status other than
    /// Succeeded) when <paramref name="failedOnly"/>. Throws <see cref="ErrorKind.RunNotFound"/> for an unknown run.</summary>
    public IReadOnlyList<StepRecord> GetSteps(long runId, bool failedOnly = false) => Query(connection =>
    {
        EnsureRunExists(connection, runId);
        using var command = connection.CreateCommand();
        command.CommandText =
            $"""
            SELECT run_id, host, address, step, detail, exit_code, stdout, stderr, output_cap, truncated, start, duration_ms, status, error
            FROM steps WHERE run_id = $run {(failedOnly ? "AND status <> $succeeded" : "")}
            ORDER BY id;
            """;
        command.Parameters.AddWithValue("$run", runId);
        command.Parameters.AddWithValue("$succeeded", nameof(Execution.HostStatus.Succeeded));
        var list = new List<StepRecord>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            list.Add(new StepRecord
            {
                RunId = reader.GetInt64(0),
                JournalPath = Path,
                Name = reader.GetString(1),
                Address = reader.GetString(2),
                Step = reader.GetString(3),
                Detail = reader.GetString(4),
                ExitCode = reader.IsDBNull(5) ? null : reader.GetInt32(5),
                Stdout = reader.GetString(6),
                Stderr = reader.GetString(7),
                OutputCapBytes = reader.GetInt32(8),
                OutputTruncated = reader.GetInt64(9) != 0,
                StartTime = JournalTime.Parse(reader.GetString(10)),
                Duration = TimeSpan.FromTicks((long)Math.Round(reader.GetDouble(11) * TimeSpan.TicksPerMillisecond)),
                Status = reader.GetString(12),
                Error = reader.IsDBNull(13) ? null : reader.GetString(13),
            });
        }
        return (IReadOnlyList<StepRecord>)list;
    });

    /// <summary>
    /// The names of the experiment processes this journal has seen started, stopped or read, the most recently seen
    /// first, at most <paramref name="limit"/>: what tab completion offers for a process name.
    /// </summary>
    public IReadOnlyList<string> GetProcessNames(int limit) => Query(connection =>
    {
        using var command = connection.CreateCommand();
        // Every process step's detail starts with "name: " (a process name has no ':'); "*" is a host's failure.
        command.CommandText = """
            SELECT substr(detail, 1, instr(detail, ':') - 1) AS name FROM steps
            WHERE step IN ($start, $stop, $state) AND instr(detail, ':') > 1
            GROUP BY name HAVING name <> '*' ORDER BY MAX(id) DESC LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$start", StepKinds.ProcessStart);
        command.Parameters.AddWithValue("$stop", StepKinds.ProcessStop);
        command.Parameters.AddWithValue("$state", StepKinds.ProcessState);
        command.Parameters.AddWithValue("$limit", limit);
        var names = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read()) names.Add(reader.GetString(0));
        return (IReadOnlyList<string>)names;
    });

    /// <summary>Artifacts fetched by a run, in the order they were recorded. Throws <see cref="ErrorKind.RunNotFound"/>
    /// for an unknown run.</summary>
    public IReadOnlyList<ArtifactRecord> GetArtifacts(long runId) => Query(connection =>
    {
        EnsureRunExists(connection, runId);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT run_id, host, remote_path, local_path, length, sha256 FROM artifacts WHERE run_id = $run ORDER BY id;";
        command.Parameters.AddWithValue("$run", runId);
        var list = new List<ArtifactRecord>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            list.Add(new ArtifactRecord
            {
                RunId = reader.GetInt64(0),
                Name = reader.GetString(1),
                RemotePath = reader.GetString(2),
                LocalPath = reader.GetString(3),
                Length = reader.GetInt64(4),
                Sha256 = reader.GetString(5),
            });
        }
        return (IReadOnlyList<ArtifactRecord>)list;
    });

    /// <summary>Records that a testbed holds a scheduler allocation (a Slurm job).</summary>
    /// <param name="testbed">The testbed's name.</param>
    /// <param name="provider">The provider (Slurm).</param>
    /// <param name="jobId">The scheduler's job id.</param>
    /// <param name="nodes">How many nodes the allocation has.</param>
    /// <param name="owned">True when the testbed allocated it (and releases it); false when it attached to it.</param>
    public void RecordAllocation(string testbed, string provider, string jobId, int nodes, bool owned) => Write(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO allocations (testbed, provider, job_id, nodes, owned, start) VALUES ($testbed, $provider, $job, $nodes, $owned, $start);";
        command.Parameters.AddWithValue("$testbed", testbed);
        command.Parameters.AddWithValue("$provider", provider);
        command.Parameters.AddWithValue("$job", jobId);
        command.Parameters.AddWithValue("$nodes", nodes);
        command.Parameters.AddWithValue("$owned", owned ? 1 : 0);
        command.Parameters.AddWithValue("$start", JournalTime.Format(DateTimeOffset.Now));
        command.ExecuteNonQuery();
    });

    /// <summary>Records that the allocation <paramref name="jobId"/> was released.</summary>
    public void RecordRelease(string jobId) => Write(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE allocations SET released = $now WHERE job_id = $job AND released IS NULL;";
        command.Parameters.AddWithValue("$job", jobId);
        command.Parameters.AddWithValue("$now", JournalTime.Format(DateTimeOffset.Now));
        command.ExecuteNonQuery();
    });

    /// <summary>The allocations testbeds of this journal held, oldest first.</summary>
    public IReadOnlyList<AllocationRecord> GetAllocations() => Query(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT testbed, provider, job_id, nodes, owned, start, released FROM allocations ORDER BY id;";
        var list = new List<AllocationRecord>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            list.Add(new AllocationRecord
            {
                Testbed = reader.GetString(0),
                Provider = reader.GetString(1),
                JobId = reader.GetString(2),
                Nodes = reader.GetInt32(3),
                Owned = reader.GetInt32(4) != 0,
                StartTime = JournalTime.Parse(reader.GetString(5)),
                ReleaseTime = reader.IsDBNull(6) ? null : JournalTime.Parse(reader.GetString(6)),
            });
        }
        return (IReadOnlyList<AllocationRecord>)list;
    });

    private void Write(Action<SqliteConnection> write)
    {
        try
        {
            using var connection = OpenConnection();
            BusyRetry.Run(() => write(connection));
        }
        catch (SqliteException e)
        {
            throw new ProvisioningException(ErrorKind.JournalFailed, $"Cannot write the journal '{Path}': {e.Message}", Path, e);
        }
    }

    /// <summary>Releases this journal's pooled connections (recorders still running keep theirs until they end).</summary>
    public void Dispose()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    /// <summary>An open connection with this journal's per-connection settings.</summary>
    private SqliteConnection OpenConnection()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            // Per connection (pooled connections keep them, but setting them again costs microseconds).
            Execute(connection, $"PRAGMA busy_timeout = {BusyTimeoutMs}; PRAGMA synchronous = NORMAL;");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private T Query<T>(Func<SqliteConnection, T> query)
    {
        try
        {
            using var connection = OpenConnection();
            return BusyRetry.Run(() => query(connection));
        }
        catch (SqliteException e)
        {
            throw new ProvisioningException(ErrorKind.JournalFailed, $"Cannot read the journal '{Path}': {e.Message}", Path, e);
        }
    }

    private ExperimentRun ReadRun(SqliteDataReader reader)
    {
        var status = Enum.Parse<RunStatus>(reader.GetString(7));
        if (status == RunStatus.Running && !reader.IsDBNull(9))
        {
            var writer = new WriterProcess(reader.GetInt32(9), reader.IsDBNull(10) ? "" : reader.GetString(10), reader.IsDBNull(11) ? 0 : reader.GetInt64(11));
            if (writer.IsCertainlyGone()) status = RunStatus.Interrupted;
        }
        return new ExperimentRun
        {
            Id = reader.GetInt64(0),
            Cmdlet = reader.GetString(1),
            Parameters = reader.GetString(2),
            Testbed = reader.GetString(3),
            User = reader.GetString(4),
            StartTime = JournalTime.Parse(reader.GetString(5)),
            EndTime = reader.IsDBNull(6) ? null : JournalTime.Parse(reader.GetString(6)),
            Status = status,
            HostCount = reader.GetInt32(8),
            StepCount = reader.GetInt32(12),
            FailedStepCount = reader.GetInt32(13),
            JournalPath = Path,
        };
    }

    private void EnsureRunExists(SqliteConnection connection, long runId)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM runs WHERE id = $run;";
        command.Parameters.AddWithValue("$run", runId);
        if (command.ExecuteScalar() is null) throw RunNotFound(runId);
    }

    private ProvisioningException RunNotFound(long runId) =>
        new(ErrorKind.RunNotFound, $"The journal '{Path}' has no run {runId}.", runId);

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    // The journal holds command output, which can be sensitive: create it readable by its owner only. SQLite gives
    // its -wal and -shm files the database file's permissions.
    private static void CreateFile(string path)
    {
        var directory = System.IO.Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        if (File.Exists(path)) return;
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.Write, Share = FileShare.ReadWrite };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var _ = new FileStream(path, options);
    }
}
