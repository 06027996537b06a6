namespace Provisioning.Benchmarks;

/// <summary>What every suite works with: the engine, the peers' workspace and tools, the options and the cell runner.</summary>
/// <param name="Engine">The engine under test and its testbed.</param>
/// <param name="Workspace">Configuration that lets the peers reach the same agents.</param>
/// <param name="Tools">Peer programs.</param>
/// <param name="Options">Command-line options.</param>
/// <param name="Runner">Measures cells and keeps them for the report.</param>
/// <param name="Findings">Extra observations the report prints (memory, overheads, notes).</param>
internal sealed record BenchmarkContext(
    EngineUnderTest Engine, PeerWorkspace Workspace, PeerTools Tools, BenchmarkOptions Options, CellRunner Runner, Findings Findings)
{
    /// <summary>Runs a peer program, timed, killed after <paramref name="timeout"/> (default: the --timeout option).</summary>
    public Task<ProcessOutcome> RunPeerAsync(string program, IEnumerable<string> arguments, CancellationToken ct,
        IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null) =>
        ExternalProcess.RunAsync(Tools.PathOf(program), arguments, timeout ?? Options.RunTimeout, ct, environment, Workspace.Root);

    /// <summary>Measures a peer cell, or records it as n/a when <paramref name="program"/> is missing.</summary>
    public Task<Cell> MeasurePeerAsync(string program, string job, string tool, Temperature temperature, int hosts, Trial trial, CancellationToken ct) =>
        Tools.WhyMissing(program) is { } why
            ? Task.FromResult(Runner.Skip(job, tool, temperature, hosts, why))
            : Runner.MeasureAsync(job, tool, temperature, hosts, trial, ct);
}

/// <summary>Controller memory while the engine ran N hosts.</summary>
/// <param name="Hosts">N.</param>
/// <param name="PeakWorkingSetMegabytes">Largest working set of the benchmark process sampled during the engine's runs, MB.</param>
/// <param name="Masters">ssh master processes found for the engine's control folder (warm).</param>
/// <param name="MastersResidentMegabytes">Their summed RSS in MB (shared pages counted per process).</param>
internal sealed record MemoryReading(int Hosts, double PeakWorkingSetMegabytes, int Masters, double MastersResidentMegabytes);

/// <summary>Observations beyond the timing cells.</summary>
internal sealed class Findings
{
    /// <summary>Controller memory per N.</summary>
    public List<MemoryReading> Memory { get; } = [];
    /// <summary>Free-form notes for the report (one markdown bullet each).</summary>
    public List<string> Notes { get; } = [];
}
