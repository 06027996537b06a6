namespace Provisioning.IntegrationTests.Commands;

/// <summary>
/// Looks for processes on this machine by a unique marker in their command line. The Local agents run on
/// this machine, so a remote process that survived a kill shows up here.
/// </summary>
internal static class RemoteProcessProbe
{
    public static string UniqueSleepSeconds() => $"{Random.Shared.Next(1000, 9000)}.{Random.Shared.Next(100, 999)}";

    public static int Count(string marker)
    {
        var count = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
                if (state != "Z" && cmdline.Contains(marker, StringComparison.Ordinal)) count++;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return count;
    }

    /// <summary>Waits (bounded) until no live process carries the marker; returns how many remain.</summary>
    public static async Task<int> WaitGoneAsync(string marker, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        int left;
        while ((left = Count(marker)) > 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        return left;
    }
}
