using Microsoft.Data.Sqlite;

namespace Provisioning.Core.Journal;

/// <summary>
/// The journal's tables, versioned with SQLite's <c>user_version</c>. Each entry of <see cref="Migrations"/>
/// takes the database from version <c>i</c> to <c>i + 1</c>; a journal written by a newer module is refused
/// rather than silently misread.
/// </summary>
internal static class JournalSchema
{
    /// <summary>The version this code writes.</summary>
    public static int CurrentVersion => Migrations.Length;

    private static readonly string[] Migrations =
    [
        // 0 -> 1. Times are ISO 8601 text (readable with the sqlite3 CLI, and they sort). writer_* identify the
        // process that owns a Running run, so a reader can tell a crashed session from a live one.
        """
        CREATE TABLE IF NOT EXISTS runs (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            cmdlet        TEXT    NOT NULL,
            parameters    TEXT    NOT NULL,
            testbed       TEXT    NOT NULL,
            user          TEXT    NOT NULL,
            start         TEXT    NOT NULL,
            end           TEXT,
            status        TEXT    NOT NULL,
            host_count    INTEGER NOT NULL,
            writer_pid    INTEGER,
            writer_host   TEXT,
            writer_started INTEGER
        );
        CREATE TABLE IF NOT EXISTS steps (
            id          INTEGER PRIMARY KEY,
            run_id      INTEGER NOT NULL REFERENCES runs(id),
            host        TEXT    NOT NULL,
            address     TEXT    NOT NULL,
            step        TEXT    NOT NULL,
            detail      TEXT    NOT NULL,
            exit_code   INTEGER,
            stdout      TEXT    NOT NULL,
            stderr      TEXT    NOT NULL,
            output_cap  INTEGER NOT NULL,
            truncated   INTEGER NOT NULL,
            start       TEXT    NOT NULL,
            duration_ms REAL    NOT NULL,
            status      TEXT    NOT NULL,
            error       TEXT
        );
        CREATE INDEX IF NOT EXISTS steps_run_id ON steps(run_id);
        CREATE TABLE IF NOT EXISTS artifacts (
            id          INTEGER PRIMARY KEY,
            run_id      INTEGER NOT NULL REFERENCES runs(id),
            host        TEXT    NOT NULL,
            remote_path TEXT    NOT NULL,
            local_path  TEXT    NOT NULL,
            length      INTEGER NOT NULL,
            sha256      TEXT    NOT NULL
        );
        CREATE INDEX IF NOT EXISTS artifacts_run_id ON artifacts(run_id);
        """,
        // 1 -> 2. Scheduler allocations (Slurm job ids) that testbeds held, and when they were released.
        """
        CREATE TABLE IF NOT EXISTS allocations (
            id          INTEGER PRIMARY KEY,
            testbed     TEXT    NOT NULL,
            provider    TEXT    NOT NULL,
            job_id      TEXT    NOT NULL,
            nodes       INTEGER NOT NULL,
            owned       INTEGER NOT NULL,
            start       TEXT    NOT NULL,
            released    TEXT
        );
        """,
    ];

    /// <summary>
    /// Brings the database to <see cref="CurrentVersion"/>. Runs inside an IMMEDIATE transaction, so two processes
    /// opening a fresh journal at once serialise here instead of both creating tables.
    /// </summary>
    public static void Upgrade(SqliteConnection connection, string path)
    {
        var version = ReadVersion(connection, null);
        if (version == CurrentVersion) return;
        if (version > CurrentVersion)
            throw new Errors.ProvisioningException(Errors.ErrorKind.JournalFailed,
                $"The journal '{path}' has schema version {version}, newer than this module understands ({CurrentVersion}). Update the Provisioning module.",
                path);

        using var transaction = connection.BeginTransaction(deferred: false);
        version = ReadVersion(connection, transaction); // another process may have upgraded while we waited for the lock
        for (; version < CurrentVersion; version++)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = Migrations[version] + $"\nPRAGMA user_version = {version + 1};";
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    private static int ReadVersion(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "PRAGMA user_version;";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
