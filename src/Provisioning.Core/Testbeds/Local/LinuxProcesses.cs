using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;

namespace Provisioning.Core.Testbeds.Local;

/// <summary>
/// The few process facts the Local provider needs, read from /proc. Signals go through the shell's
/// <c>kill</c> builtin rather than a libc P/Invoke, whose library name differs between distributions.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class LinuxProcesses
{
    /// <summary>The effective user id of this process (the "Uid:" line of /proc/self/status).</summary>
    public static int EffectiveUserId()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith("Uid:", StringComparison.Ordinal)) continue;
            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(fields[2], CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException("/proc/self/status has no Uid line.");
    }

    /// <summary>
    /// True while <paramref name="pid"/> exists and is not a zombie. A zombie counts as gone: an orphan's
    /// zombie lingers until PID 1 reaps it, which can take seconds in containers and VMs.
    /// </summary>
    public static bool IsRunning(int pid)
    {
        var stat = ReadStat(pid);
        return stat is not null && stat.Value.State is not ('Z' or 'X');
    }

    /// <summary>The NUL-separated command line of <paramref name="pid"/> joined with spaces, or null when gone.</summary>
    public static string? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Every live descendant of <paramref name="roots"/> (children, grandchildren...), roots excluded.</summary>
    public static IReadOnlyList<int> DescendantsOf(IEnumerable<int> roots)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            var stat = ReadStat(pid);
            if (stat is null) continue;
            if (!children.TryGetValue(stat.Value.ParentId, out var list)) children[stat.Value.ParentId] = list = new List<int>();
            list.Add(pid);
        }
        var found = new List<int>();
        var pending = new Stack<int>(roots);
        var seen = new HashSet<int>(pending);
        while (pending.Count > 0)
        {
            if (!children.TryGetValue(pending.Pop(), out var kids)) continue;
            foreach (var kid in kids)
            {
                if (!seen.Add(kid)) continue;
                found.Add(kid);
                pending.Push(kid);
            }
        }
        return found;
    }

    /// <summary>Sends <paramref name="signal"/> (TERM, KILL) to each pid; pids already gone are ignored.</summary>
    public static void Signal(IReadOnlyCollection<int> pids, string signal)
    {
        if (pids.Count == 0) return;
        var start = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("for p in \"$@\"; do kill -s " + signal + " \"$p\"; done 2>/dev/null; exit 0");
        start.ArgumentList.Add("sh");
        foreach (var pid in pids) start.ArgumentList.Add(pid.ToString(CultureInfo.InvariantCulture));
        using var process = Process.Start(start)!;
        process.StandardError.ReadToEnd();
        process.WaitForExit();
    }

    private static (char State, int ParentId)? ReadStat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        // "pid (comm) S ppid ...": comm may hold spaces and parentheses, so parse after the last ')'.
        var close = text.LastIndexOf(')');
        if (close < 0 || close + 2 >= text.Length) return null;
        var rest = text.AsSpan(close + 2);
        var state = rest[0];
        rest = rest[2..];
        var space = rest.IndexOf(' ');
        if (space < 0 || !int.TryParse(rest[..space], NumberStyles.None, CultureInfo.InvariantCulture, out var ppid)) return null;
        return (state, ppid);
    }
}
