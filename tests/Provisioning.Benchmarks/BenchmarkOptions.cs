namespace Provisioning.Benchmarks;

/// <summary>The suites the benchmark can run.</summary>
[Flags]
internal enum Suite
{
    /// <summary>Nothing selected.</summary>
    None = 0,
    /// <summary>`hostname` on N agents: engine cold/warm against pssh, clush, Ansible and the ssh floor.</summary>
    Command = 1,
    /// <summary>Push one large file to the transfer hosts.</summary>
    Copy = 2,
    /// <summary>Fetch many small files from each transfer host.</summary>
    Fetch = 4,
    /// <summary>Warm command run with and without the journal recorder.</summary>
    Journal = 8,
    /// <summary>Start and remove N Local agents, with shared and with private roots.</summary>
    Agents = 16,
    /// <summary>Start-AgentProcess against a warm command, and -Follow throughput.</summary>
    Process = 32,
    /// <summary>Invoke-Provision's 10-task document, first run and unchanged re-run, against ansible-playbook.</summary>
    Provision = 64,
    /// <summary>Install-AgentPackage from the controller cache to offline agents, against Ansible's apt deb: (issue 10).</summary>
    Package = 128,
    /// <summary>hostname on every node of one-machine Slurm clusters, one step and a step per node, beside SSH fan-out (issue 14).</summary>
    Slurm = 256,
    /// <summary>Every suite.</summary>
    All = Command | Copy | Fetch | Journal | Agents | Process | Provision | Package | Slurm,
}

/// <summary>Command-line options. Parsed by hand: the surface is small and a parser package is not worth a dependency.</summary>
internal sealed class BenchmarkOptions
{
    /// <summary>Agent counts for the command suite.</summary>
    public IReadOnlyList<int> Sizes { get; private set; } = [10, 50, 100];
    /// <summary>Timed runs per cell (after the warm-ups).</summary>
    public int Runs { get; private set; } = 3;
    /// <summary>Untimed runs before the timed ones.</summary>
    public int Warmups { get; private set; } = 1;
    /// <summary>Selected suites. Copy and fetch are slow (Ansible fetch of many files), so they run only when asked.</summary>
    public Suite Suites { get; private set; } = Suite.Command | Suite.Journal;
    /// <summary>Where to write the markdown report (it is printed to stdout as well).</summary>
    public string? OutputPath { get; private set; }
    /// <summary>
    /// A file listing existing agents to use instead of starting a Local testbed (one agent a line:
    /// <c>name address port user identity_file known_hosts_file</c>).
    /// </summary>
    public string? AgentsFile { get; private set; }
    /// <summary>When false, missing peer tools are reported as n/a rather than installed with apt-get.</summary>
    public bool InstallPeers { get; private set; } = true;
    /// <summary>A single peer run is killed after this long.</summary>
    public TimeSpan RunTimeout { get; private set; } = TimeSpan.FromMinutes(5);
    /// <summary>Once a cell has spent this long, it stops repeating (at least one timed run is kept).</summary>
    public TimeSpan CellBudget { get; private set; } = TimeSpan.FromMinutes(3);
    /// <summary>Agents used by the copy and fetch suites.</summary>
    public int TransferHosts { get; private set; } = 20;
    /// <summary>Size of the pushed file, in MiB.</summary>
    public int CopyMebibytes { get; private set; } = 64;
    /// <summary>Small files fetched from each agent.</summary>
    public int FetchFiles { get; private set; } = 200;
    /// <summary>Node counts of the Slurm suite's clusters (multiple-slurmd on this machine).</summary>
    public IReadOnlyList<int> SlurmNodes { get; private set; } = [4, 64];
    /// <summary>True when --help was given.</summary>
    public bool ShowHelp { get; private set; }

    /// <summary>The largest agent count any selected suite needs.</summary>
    public int AgentsNeeded =>
        Math.Max(1, Math.Max(Math.Max((Suites & (Suite.Command | Suite.Journal | Suite.Process | Suite.Provision)) != 0 ? Sizes.Max() : 0,
                 (Suites & (Suite.Copy | Suite.Fetch)) != 0 ? TransferHosts : 0),
                 Suites.HasFlag(Suite.Slurm) ? SlurmNodes.Max() : 0));

    /// <summary>Usage text.</summary>
    public const string Usage = """
        Provisioning benchmark: the engine the cmdlets use against parallel-ssh, clush, Ansible and a plain-ssh floor.

        dotnet run -c Release --project tests/Provisioning.Benchmarks -- [options]

          --sizes 10,50,100       agent counts for the command suite
          --runs 3                timed runs per cell (median and min are reported)
          --warmup 1              untimed runs before them
          --only cmd,journal      suites: cmd, copy, fetch, journal, all (comma-separated; default cmd,journal)
          --out FILE.md           also write the markdown report to FILE.md
          --agents FILE           use existing agents instead of a Local testbed; one a line:
                                  name address port user identity_file known_hosts_file
          --no-install            do not apt-get install missing peers (they are reported as n/a)
          --timeout 300           seconds before a single peer run is killed
          --cell-budget 180       seconds after which a cell stops repeating (keeps >= 1 timed run)
          --transfer-hosts 20     agents for the copy and fetch suites
          --copy-mib 64           size of the pushed file
          --fetch-files 200       small files fetched from each agent
          --slurm-nodes 4,64      node counts of the Slurm suite's one-machine clusters (needs root and Slurm)
        """;

    /// <summary>Parses <paramref name="args"/>; throws <see cref="ArgumentException"/> with a readable message.</summary>
    public static BenchmarkOptions Parse(IReadOnlyList<string> args)
    {
        var o = new BenchmarkOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            switch (name)
            {
                case "--sizes": o.Sizes = ParseSizes(Value()); break;
                case "--runs": o.Runs = PositiveInt(name, Value()); break;
                case "--warmup": o.Warmups = NonNegativeInt(name, Value()); break;
                case "--only": o.Suites = ParseSuites(Value()); break;
                case "--out": o.OutputPath = Value(); break;
                case "--agents": o.AgentsFile = Value(); break;
                case "--no-install": o.InstallPeers = false; break;
                case "--timeout": o.RunTimeout = TimeSpan.FromSeconds(PositiveInt(name, Value())); break;
                case "--cell-budget": o.CellBudget = TimeSpan.FromSeconds(PositiveInt(name, Value())); break;
                case "--transfer-hosts": o.TransferHosts = PositiveInt(name, Value()); break;
                case "--copy-mib": o.CopyMebibytes = PositiveInt(name, Value()); break;
                case "--slurm-nodes": o.SlurmNodes = ParseSizes(Value()); break;
                case "--fetch-files": o.FetchFiles = PositiveInt(name, Value()); break;
                case "-h" or "--help": o.ShowHelp = true; break;
                default: throw new ArgumentException($"Unknown option '{name}'. Try --help.");
            }
        }
        return o;
    }

    private static IReadOnlyList<int> ParseSizes(string text)
    {
        var sizes = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => PositiveInt("--sizes", s)).Distinct().Order().ToArray();
        return sizes.Length > 0 ? sizes : throw new ArgumentException("--sizes needs at least one agent count.");
    }

    private static Suite ParseSuites(string text)
    {
        var suites = Suite.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            suites |= part.ToLowerInvariant() switch
            {
                "cmd" or "command" => Suite.Command,
                "copy" or "push" => Suite.Copy,
                "fetch" => Suite.Fetch,
                "journal" => Suite.Journal,
                "agents" => Suite.Agents,
                "process" => Suite.Process,
                "provision" => Suite.Provision,
                "package" or "packages" => Suite.Package,
                "slurm" => Suite.Slurm,
                "all" => Suite.All,
                _ => throw new ArgumentException($"--only: unknown suite '{part}' (cmd, copy, fetch, journal, agents, process, provision, package, slurm, all)."),
            };
        }
        return suites != Suite.None ? suites : throw new ArgumentException("--only needs at least one suite.");
    }

    private static int PositiveInt(string name, string text) =>
        int.TryParse(text, out var v) && v > 0 ? v : throw new ArgumentException($"{name}: '{text}' is not a positive integer.");

    private static int NonNegativeInt(string name, string text) =>
        int.TryParse(text, out var v) && v >= 0 ? v : throw new ArgumentException($"{name}: '{text}' is not a non-negative integer.");
}
