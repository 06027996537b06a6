using Microsoft.Data.Sqlite;

namespace Provisioning.Core.Journal;

/// <summary>
/// Retries a whole journal transaction while another process holds the write lock. busy_timeout and
/// Microsoft.Data.Sqlite's own retry already cover most waits; this covers the cases SQLite reports as busy
/// without waiting (a WAL snapshot that went stale, a checkpoint in progress) and very long competing writers.
/// </summary>
internal static class BusyRetry
{
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(60);

    /// <summary>True for SQLITE_BUSY / SQLITE_LOCKED and their extended codes.</summary>
    public static bool IsBusy(SqliteException e) => (e.SqliteErrorCode & 0xFF) is SqliteBusy or SqliteLocked;

    /// <summary>Runs <paramref name="action"/>, again after a short back-off while the database is busy.</summary>
    public static T Run<T>(Func<T> action)
    {
        var started = Environment.TickCount64;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return action();
            }
            catch (SqliteException e) when (IsBusy(e) && Environment.TickCount64 - started < GiveUpAfter.TotalMilliseconds)
            {
                // Jitter keeps two writers that collided from colliding again in lock step.
                Thread.Sleep(Math.Min(200, 5 << Math.Min(attempt, 5)) + Random.Shared.Next(10));
            }
        }
    }

    /// <summary>Runs <paramref name="action"/>, again after a short back-off while the database is busy.</summary>
    public static void Run(Action action) => Run(() =>
    {
        action();
        return true;
    });
}
