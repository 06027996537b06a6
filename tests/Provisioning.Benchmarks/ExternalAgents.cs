using Provisioning.Core.Testbeds;

namespace Provisioning.Benchmarks;

/// <summary>
/// Builds a testbed over agents that already run (the --agents file), so the benchmark can also measure a real
/// cluster, or the peers alone while the Local provider is unavailable. One agent a line:
/// <c>name address port user identity_file known_hosts_file</c>; <c>-</c> leaves a field to ssh; <c>#</c> comments.
/// </summary>
internal static class ExternalAgents
{
    /// <summary>Reads <paramref name="path"/> and returns a testbed whose transport is the engine's default one.</summary>
    public static Testbed Load(string path, string stateDirectory)
    {
        var machines = new List<AgentMachine>();
        var lineNumber = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNumber++;
            var line = raw.Split('#', 2)[0].Trim();
            if (line.Length == 0) continue;
            var f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 6)
                throw new FormatException($"{path}:{lineNumber}: expected 6 fields (name address port user identity_file known_hosts_file), found {f.Length}.");
            if (!int.TryParse(f[2], out var port) || port is < 1 or > 65535)
                throw new FormatException($"{path}:{lineNumber}: bad port '{f[2]}'.");
            machines.Add(new AgentMachine(f[0], f[1], machines.Count, [], new ConnectionSettings
            {
                Port = port,
                User = Field(f[3]),
                IdentityFile = Field(f[4]),
                KnownHostsFile = Field(f[5]),
            }));
        }
        if (machines.Count == 0) throw new FormatException($"{path}: no agents listed.");
        return new Testbed("bench-agents", "Static", stateDirectory, machines,
            new Dictionary<string, IReadOnlyList<string>>(), TestbedLoader.NewTransport(), sourcePath: Path.GetFullPath(path));
    }

    private static string? Field(string value) => value == "-" ? null : value;
}
