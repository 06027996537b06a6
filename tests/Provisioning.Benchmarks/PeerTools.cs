namespace Provisioning.Benchmarks;

/// <summary>
/// The peer programs from Debian's packages (pssh, clustershell, ansible-core): finds them, installs the missing
/// ones with apt-get when allowed, and says why a peer is unavailable otherwise.
/// </summary>
internal sealed class PeerTools
{
    /// <summary>Program to Debian package. Debian's pssh names its programs parallel-*.</summary>
    private static readonly (string Program, string Package)[] Programs =
    [
        ("parallel-ssh", "pssh"),
        ("parallel-scp", "pssh"),
        ("parallel-slurp", "pssh"),
        ("clush", "clustershell"),
        ("ansible", "ansible-core"),
        ("ansible-playbook", "ansible-core"),
        ("ssh", "openssh-client"),
        ("scp", "openssh-client"),
        ("tar", "tar"),
    ];

    private readonly Dictionary<string, string> _paths = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _missing = new(StringComparer.Ordinal);

    /// <summary>Full path of <paramref name="program"/>; throws with the reason when it is not available.</summary>
    public string PathOf(string program) => _paths.TryGetValue(program, out var p)
        ? p
        : throw new InvalidOperationException(_missing.GetValueOrDefault(program, $"{program} not found"));

    /// <summary>Null when <paramref name="program"/> is available, otherwise why not.</summary>
    public string? WhyMissing(string program) => _paths.ContainsKey(program) ? null : _missing.GetValueOrDefault(program, $"{program} not found");

    /// <summary>Finds the peers, installing missing packages with apt-get when <paramref name="install"/> is set.</summary>
    public static async Task<PeerTools> PrepareAsync(bool install, Action<string> log, CancellationToken ct)
    {
        var tools = new PeerTools();
        tools.Locate();
        var packages = Programs.Where(p => !tools._paths.ContainsKey(p.Program)).Select(p => p.Package).Distinct().ToArray();
        if (packages.Length == 0) return tools;
        if (!install)
        {
            tools.MarkMissing("not installed (--no-install)");
            return tools;
        }
        if (Environment.UserName != "root" || FindOnPath("apt-get") is null)
        {
            tools.MarkMissing($"not installed, and apt-get is not usable here (install: {string.Join(' ', packages)})");
            return tools;
        }
        log($"installing peers with apt-get: {string.Join(' ', packages)}");
        var env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        string[] installArgs = ["install", "-y", "--no-install-recommends", .. packages];
        var r = await ExternalProcess.RunAsync("apt-get", installArgs, TimeSpan.FromMinutes(10), ct, env).ConfigureAwait(false);
        if (r.ExitCode != 0)
        {
            // A fresh machine has no package lists yet.
            await ExternalProcess.RunAsync("apt-get", ["update"], TimeSpan.FromMinutes(10), ct, env).ConfigureAwait(false);
            r = await ExternalProcess.RunAsync("apt-get", installArgs, TimeSpan.FromMinutes(10), ct, env).ConfigureAwait(false);
        }
        tools.Locate();
        tools.MarkMissing($"apt-get install {string.Join(' ', packages)} failed: {r.Describe()}");
        return tools;
    }

    /// <summary>Version strings for the report.</summary>
    public static async Task<IReadOnlyList<string>> VersionsAsync()
    {
        var versions = new List<string>();
        async Task Add(string label, string program, params string[] args)
        {
            var line = await ExternalProcess.FirstLineOfAsync(program, args).ConfigureAwait(false);
            if (!string.IsNullOrWhiteSpace(line)) versions.Add($"{label} {line}");
        }
        await Add("", "ssh", "-V").ConfigureAwait(false);
        await Add("pssh", "dpkg-query", "-W", "-f=${Version}", "pssh").ConfigureAwait(false);
        await Add("clustershell", "dpkg-query", "-W", "-f=${Version}", "clustershell").ConfigureAwait(false);
        await Add("", "ansible", "--version").ConfigureAwait(false);
        return versions.Select(v => v.Trim()).ToArray();
    }

    private void Locate()
    {
        foreach (var (program, _) in Programs)
        {
            if (FindOnPath(program) is { } path)
            {
                _paths[program] = path;
                _missing.Remove(program);
            }
        }
    }

    private void MarkMissing(string reason)
    {
        foreach (var (program, package) in Programs)
            if (!_paths.ContainsKey(program)) _missing[program] = $"{program} ({package}) {reason}";
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, program))
            .FirstOrDefault(File.Exists);
}
