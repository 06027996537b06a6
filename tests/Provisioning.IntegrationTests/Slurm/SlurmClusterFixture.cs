using System.Diagnostics;

namespace Provisioning.IntegrationTests.Slurm;

/// <summary>
/// A real Slurm cluster on this machine (munged, slurmctld and four slurmd n1..n4 in multiple-slurmd mode), started
/// by <c>tests/tools/slurm-cluster.sh</c> in a temporary folder with its own ports, state, spool and munge socket, and
/// stopped with every daemon when the tests are done. Tests skip where Slurm is not installed or not run as root;
/// CI installs it and runs as root.
/// </summary>
public sealed class SlurmClusterFixture : IAsyncLifetime
{
    /// <summary>Nodes of the cluster.</summary>
    public const int NodeCount = 4;

    /// <summary>Why the cluster cannot run here, or null when it runs.</summary>
    public string? Unavailable { get; private set; }

    /// <summary>The cluster's folder.</summary>
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "prov-slurm-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>The cluster's slurm.conf, for SLURM_CONF.</summary>
    public string ConfigFile => Path.Combine(Directory, "slurm.conf");

    /// <summary>The environment the Slurm client commands need to reach this cluster.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { ["SLURM_CONF"] = ConfigFile };

    private static string Script => Path.Combine(AppContext.BaseDirectory, "tools", "slurm-cluster.sh");

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        if (!File.Exists("/usr/sbin/slurmctld") || !File.Exists("/usr/sbin/slurmd") || !File.Exists("/usr/sbin/munged"))
        {
            Unavailable = "Slurm is not installed (apt-get install slurmctld slurmd slurm-client munge)";
            return;
        }
        if (System.Environment.UserName != "root")
        {
            Unavailable = "a Slurm cluster on one machine needs root (slurmd runs tasks as their users)";
            return;
        }
        var (code, output) = await RunAsync("start", Directory, NodeCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (code != 0) throw new InvalidOperationException($"The test Slurm cluster did not start (exit code {code}): {output}");
    }

    /// <summary>Runs a Slurm client command against this cluster; returns its exit code and output.</summary>
    public async Task<(int Code, string Output)> SlurmAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        start.Environment["SLURM_CONF"] = ConfigFile;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>The jobs squeue lists (ids), for release checks.</summary>
    public async Task<IReadOnlyList<string>> JobsAsync()
    {
        var (_, output) = await SlurmAsync("squeue", "--noheader", "--format", "%i");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (Unavailable is null) await RunAsync("stop", Directory);
    }

    private static async Task<(int, string)> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Script);
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}

/// <summary>Test classes marked <c>[Collection("SlurmCluster")]</c> share one <see cref="SlurmClusterFixture"/>.</summary>
[CollectionDefinition("SlurmCluster")]
public sealed class SlurmClusterCollection : ICollectionFixture<SlurmClusterFixture>
{
}
