namespace Provisioning.IntegrationTests.Commands;

/// <summary>
/// Finds remote processes by a unique marker. The Local agents run on this machine, so a remote process
/// that survived a kill shows up in this machine's process table.
/// </summary>
internal static class RemoteProcessProbe
{
    /// <summary>A long, unique sleep duration: for processes that must be killed.</summary>
    public static string UniqueSleepSeconds() => $"{Random.Shared.Next(1000, 9000)}.{Random.Shared.Next(100, 999)}";

    /// <summary>A unique sleep of about 1.5 s: for processes that should finish by themselves.</summary>
    public static string UniqueShortSleepSeconds() => $"1.5{Random.Shared.Next(100000, 999999)}";

    public static int Count(string marker) => ProcessTable.WithCommandLineContaining(marker).Count;

    /// <summary>Waits (bounded) until no live process carries the marker; returns how many remain.</summary>
    public static async Task<int> WaitGoneAsync(string marker, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        int left;
        while ((left = Count(marker)) > 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        return left;
    }
}
