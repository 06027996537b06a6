namespace Provisioning.Benchmarks;

/// <summary>The controller the numbers were taken on, for the report's header.</summary>
internal static class MachineInfo
{
    /// <summary>CPU model, cores, memory, kernel and distribution on one line.</summary>
    public static string Describe()
    {
        var cpu = ReadField("/proc/cpuinfo", "model name", ':') ?? "unknown CPU";
        var memKiB = ReadField("/proc/meminfo", "MemTotal", ':')?.Split(' ')[0];
        var mem = long.TryParse(memKiB, out var kib) ? $"{kib / 1048576.0:0} GiB" : "? GiB";
        var kernel = TryRead("/proc/sys/kernel/osrelease")?.Trim() ?? Environment.OSVersion.VersionString;
        var os = ReadField("/etc/os-release", "PRETTY_NAME", '=')?.Trim('"') ?? "unknown OS";
        return $"{cpu}, {Environment.ProcessorCount} cores, {mem} memory; kernel {kernel}; {os}; .NET {Environment.Version}";
    }

    private static string? ReadField(string file, string key, char separator) =>
        TryRead(file)?.Split('\n')
            .Select(l => l.Split(separator, 2))
            .Where(p => p.Length == 2 && p[0].Trim() == key)
            .Select(p => p[1].Trim())
            .FirstOrDefault();

    private static string? TryRead(string file)
    {
        try
        {
            return File.ReadAllText(file);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
