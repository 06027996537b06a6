namespace Provisioning.IntegrationTests;

/// <summary>Looks for live processes in /proc, to prove a testbed left nothing running.</summary>
public static class ProcessTable
{
    /// <summary>Live (non-zombie) processes whose command line contains <paramref name="text"/>.</summary>
    public static IReadOnlyList<string> WithCommandLineContaining(string text)
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (!cmdline.Contains(text, StringComparison.Ordinal)) continue;
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var state = stat[(stat.LastIndexOf(')') + 2)..][0];
                if (state is not ('Z' or 'X')) found.Add($"{pid}: {cmdline.Trim()}");
            }
            catch (IOException)
            {
                // Gone while we looked.
            }
        }
        return found;
    }
}
