using System.Globalization;
using System.Text;

namespace Provisioning.Benchmarks;

/// <summary>Facts about the run for the report's header.</summary>
/// <param name="Started">When the benchmark started.</param>
/// <param name="Duration">How long it took.</param>
/// <param name="Machine">The controller.</param>
/// <param name="Versions">Versions of ssh and the peers.</param>
/// <param name="Agents">Where the agents came from.</param>
/// <param name="SshOptions">What every tool's ssh was told.</param>
/// <param name="Interrupted">True when Ctrl+C stopped the run.</param>
internal sealed record RunFacts(DateTimeOffset Started, TimeSpan Duration, string Machine, IReadOnlyList<string> Versions,
    string Agents, string SshOptions, bool Interrupted);

/// <summary>Writes the markdown report: tables of medians, ratios to the engine, the issues' targets, errors, raw runs.</summary>
internal sealed class MarkdownReport(BenchmarkOptions options, RunFacts facts, IReadOnlyList<Cell> cells, Findings findings)
{
    private readonly StringBuilder _md = new();

    /// <summary>The whole report.</summary>
    public string Write()
    {
        Header();
        CommandSection();
        CopySection();
        FetchSection();
        JournalSection();
        AgentsSection();
        ProcessSection();
        PackageSection();
        SlurmSection();
        Tail();
        return _md.ToString();
    }

    private void Header()
    {
        Line("# Provisioning benchmark");
        Line();
        Line($"- Date: {facts.Started.UtcDateTime:yyyy-MM-dd HH:mm} UTC, {facts.Duration.TotalMinutes:0.0} min{(facts.Interrupted ? " (**interrupted**)" : "")}");
        Line($"- Controller: {facts.Machine}");
        if (facts.Versions.Count > 0) Line($"- Tools: {string.Join("; ", facts.Versions)}");
        Line($"- Agents: {facts.Agents}");
        Line($"- ssh, for every tool: {facts.SshOptions}");
        Line($"- Each cell: **median** (min) wall-clock seconds of {options.Runs} timed run(s) after {options.Warmups} warm-up(s); "
            + "every run is checked on every agent (a run that missed one makes the cell n/a). "
            + "Cold: new connections every run; warm: master connections already open.");
        Line();
    }

    private void CommandSection()
    {
        var sizes = SizesOf(CommandSuite.Job);
        if (sizes.Count == 0) return;
        Line("## Run `hostname` on every agent");
        Line();
        Table(CommandSuite.Job, sizes,
        [
            (CommandSuite.Engine, Temperature.Cold), (CommandSuite.Engine, Temperature.Warm),
            (CommandSuite.EngineOpenSsh, Temperature.Cold), (CommandSuite.EngineOpenSsh, Temperature.Warm),
            (CommandSuite.Pssh, Temperature.Cold), (CommandSuite.Clush, Temperature.Cold),
            (CommandSuite.Ansible, Temperature.Cold), (CommandSuite.Ansible, Temperature.Warm),
            (CommandSuite.Floor, Temperature.Warm),
        ]);
        Line($"The engine rows are the default transport of the Local agents (SSH.NET, with its persistent shell); \"{CommandSuite.EngineOpenSsh}\" is the same engine pinned to the system ssh client.");
        Line();
        Line("Ratios: engine median ÷ peer median, same temperature (below 1: the engine is faster).");
        Line();
        Line("| engine vs | " + string.Join(" | ", sizes.Select(n => $"N={n}")) + " |");
        Line("|---|" + string.Concat(sizes.Select(_ => "---:|")));
        foreach (var (peer, t) in new[]
                 {
                     (CommandSuite.Floor, Temperature.Warm), (CommandSuite.Pssh, Temperature.Cold), (CommandSuite.Clush, Temperature.Cold),
                     (CommandSuite.Ansible, Temperature.Cold), (CommandSuite.Ansible, Temperature.Warm),
                 })
        {
            Line($"| {peer}, {Temp(t)} | " + string.Join(" | ", sizes.Select(n =>
                Ratio(Get(CommandSuite.Job, CommandSuite.Engine, t, n), Get(CommandSuite.Job, peer, t, n)) is { } r ? $"{r:0.00}" : "n/a")) + " |");
        }
        Line();

        if (findings.Memory.Count > 0)
        {
            Line("Controller memory while the engine ran (MB = 10^6 bytes):");
            Line();
            Line("| N | peak working set of the controller process | ssh master processes (warm) | their summed RSS |");
            Line("|---:|---:|---:|---:|");
            foreach (var m in findings.Memory)
                Line($"| {m.Hosts} | {m.PeakWorkingSetMegabytes:0} MB | {m.Masters} | {m.MastersResidentMegabytes:0} MB |");
            Line();
            Line("The ssh masters are separate processes (one per host, as with Ansible's ControlPersist); their RSS counts shared "
                + "library pages once per process, so the sum overstates their real cost.");
            Line();
        }

        var n0 = sizes.Max();
        Line(n0 == 100 ? "### Targets (issue 2), at N=100" : $"### Targets (issue 2), at N={n0} (the issue states them for N=100)");
        Line();
        Line("| target | measured | verdict |");
        Line("|---|---|---|");
        var engineWarm = Get(CommandSuite.Job, CommandSuite.Engine, Temperature.Warm, n0);
        var engineCold = Get(CommandSuite.Job, CommandSuite.Engine, Temperature.Cold, n0);
        var floor = Get(CommandSuite.Job, CommandSuite.Floor, Temperature.Warm, n0);
        var fastestCold = new[] { Get(CommandSuite.Job, CommandSuite.Pssh, Temperature.Cold, n0), Get(CommandSuite.Job, CommandSuite.Clush, Temperature.Cold, n0) }
            .Where(c => c?.Median is not null).MinBy(c => c!.Median);
        var ansibleWarm = Get(CommandSuite.Job, CommandSuite.Ansible, Temperature.Warm, n0);
        var ansibleCold = Get(CommandSuite.Job, CommandSuite.Ansible, Temperature.Cold, n0);
        void AgainstFloorAndColdPeers(string who, Cell? warm, Cell? cold, double warmLimit, double coldLimit, string issue)
        {
            Target($"{who} warm: at most {warmLimit:0.0}× the floor ({issue})", warm, floor, r => r <= warmLimit,
                r => $"{who} warm {S(warm)} ÷ floor {S(floor)} = {r:0.00}×");
            Target($"{who} cold: at most {coldLimit:0.0}× the faster of parallel-ssh and clush ({issue})", cold, fastestCold, r => r <= coldLimit,
                r => $"{who} cold {S(cold)} ÷ {fastestCold?.Tool} {S(fastestCold)} = {r:0.00}×");
        }
        AgainstFloorAndColdPeers("engine (SSH.NET)", engineWarm, engineCold, 0.5, 0.8, "issue 12");
        AgainstFloorAndColdPeers("engine on OpenSSH", Get(CommandSuite.Job, CommandSuite.EngineOpenSsh, Temperature.Warm, n0),
            Get(CommandSuite.Job, CommandSuite.EngineOpenSsh, Temperature.Cold, n0), 1.5, 1.0, "issue 2");
        var sequential = Get(CommandSuite.SequentialJob, CommandSuite.Engine, Temperature.Warm, 1);
        var sequentialOpenSsh = Get(CommandSuite.SequentialJob, CommandSuite.EngineOpenSsh, Temperature.Warm, 1);
        var perCommand = sequential?.Median is { } seq ? seq * 1000 / int.Parse(CommandSuite.SequentialCount, System.Globalization.CultureInfo.InvariantCulture) : (double?)null;
        var perCommandOpenSsh = sequentialOpenSsh?.Median is { } seqO ? seqO * 1000 / int.Parse(CommandSuite.SequentialCount, System.Globalization.CultureInfo.InvariantCulture) : (double?)null;
        Line(perCommand is { } ms
            ? $"| one host, sequential: under 2 ms per command (issue 12) | SSH.NET {ms:0.00} ms per command ({CommandSuite.SequentialCount} in {S(sequential)}); OpenSSH {(perCommandOpenSsh is { } o ? $"{o:0.00} ms" : "n/a")} | {(ms < 2 ? "PASS" : "FAIL")} |"
            : "| one host, sequential: under 2 ms per command (issue 12) | n/a | n/a |");
        Target("≥ 10× faster than tuned Ansible (warm vs warm)", engineWarm, ansibleWarm, r => r <= 0.1,
            r => $"Ansible warm {S(ansibleWarm)} ÷ engine warm {S(engineWarm)} = {1 / r:0.0}×");
        Target("≥ 10× faster than tuned Ansible (cold vs cold)", engineCold, ansibleCold, r => r <= 0.1,
            r => $"Ansible cold {S(ansibleCold)} ÷ engine cold {S(engineCold)} = {1 / r:0.0}×");
        var memory = findings.Memory.Where(m => m.Hosts == n0).Select(m => (double?)m.PeakWorkingSetMegabytes).FirstOrDefault();
        Line(memory is { } mb
            ? $"| controller memory < 300 MB | {mb:0} MB peak working set | {(mb < 300 ? "PASS" : "FAIL")} |"
            : "| controller memory < 300 MB | n/a | n/a |");
        Line();
    }

    private void CopySection()
    {
        var sizes = SizesOf(TransferSuite.CopyJob);
        if (sizes.Count == 0) return;
        Line($"## Copy: push a {options.CopyMebibytes} MiB file to every agent");
        Line();
        Table(TransferSuite.CopyJob, sizes,
        [
            (TransferSuite.Engine, Temperature.Cold), (TransferSuite.Engine, Temperature.Warm),
            (TransferSuite.Pscp, Temperature.Cold), (TransferSuite.ClushCopy, Temperature.Cold),
            (TransferSuite.AnsibleCopy, Temperature.Cold), (TransferSuite.AnsibleCopy, Temperature.Warm),
            (TransferSuite.FloorScp, Temperature.Warm), (TransferSuite.FloorCat, Temperature.Warm),
        ]);
        var n = sizes.Max();
        var engine = Get(TransferSuite.CopyJob, TransferSuite.Engine, Temperature.Warm, n);
        var floor = Get(TransferSuite.CopyJob, TransferSuite.FloorScp, Temperature.Warm, n);
        Line("| target (issue 3) | measured | verdict |");
        Line("|---|---|---|");
        Target("push within 1.2× of parallel scp over warm masters", engine, floor, r => r <= 1.2,
            r => $"engine warm {S(engine)} ÷ floor scp {S(floor)} = {r:0.00}×");
        Line();
    }

    private void FetchSection()
    {
        var sizes = SizesOf(TransferSuite.FetchJob);
        if (sizes.Count == 0) return;
        Line($"## Fetch: {options.FetchFiles} files of 1 KiB from every agent");
        Line();
        Table(TransferSuite.FetchJob, sizes,
        [
            (TransferSuite.Engine, Temperature.Cold), (TransferSuite.Engine, Temperature.Warm),
            (TransferSuite.Pslurp, Temperature.Cold), (TransferSuite.ClushRcopy, Temperature.Cold),
            (TransferSuite.AnsibleFetch, Temperature.Warm), (TransferSuite.FloorTar, Temperature.Warm),
        ]);
        var n = sizes.Max();
        var engine = Get(TransferSuite.FetchJob, TransferSuite.Engine, Temperature.Warm, n);
        var ansible = Get(TransferSuite.FetchJob, TransferSuite.AnsibleFetch, Temperature.Warm, n);
        Line("| target (issue 3) | measured | verdict |");
        Line("|---|---|---|");
        Target("fetch ≥ 5× faster than Ansible fetch", engine, ansible, r => r <= 0.2,
            r => $"Ansible fetch {S(ansible)} ÷ engine warm {S(engine)} = {1 / r:0.0}×");
        Line();
    }

    private void JournalSection()
    {
        var without = cells.FirstOrDefault(c => c.Job == JournalSuite.Job && c.Tool == JournalSuite.Without);
        var with = cells.FirstOrDefault(c => c.Job == JournalSuite.Job && c.Tool == JournalSuite.With);
        if (without is null || with is null) return;
        Line($"## Journal: recording cost on a warm run of {with.Hosts} agents");
        Line();
        Line("| | median (min) s | runs |");
        Line("|---|---:|---:|");
        Line($"| {JournalSuite.Without} | {CellText(without)} | {without.Seconds.Count} |");
        Line($"| {JournalSuite.With} | {CellText(with)} | {with.Seconds.Count} |");
        Line();
        Line("| target (issue 3) | measured | verdict |");
        Line("|---|---|---|");
        Target("journal costs < 5% of a 100-host warm run", with, without, r => r < 1.05,
            r => $"{(r - 1) * 100:+0.0;-0.0}% ({S(with)} vs {S(without)}, alternating runs)");
        Line();
    }

    private void AgentsSection()
    {
        var sizes = SizesOf(AgentsSuite.Job);
        if (sizes.Count == 0) return;
        var n = sizes.Max();
        Line($"## Local agents: start and remove {n} agents");
        Line();
        Line("| | median (min) s | runs |");
        Line("|---|---:|---:|");
        foreach (var isolation in new[] { Core.Testbeds.Local.LocalIsolation.Shared, Core.Testbeds.Local.LocalIsolation.Private })
            foreach (var tool in new[] { AgentsSuite.Start(isolation), AgentsSuite.Remove(isolation) })
                if (Get(AgentsSuite.Job, tool, Temperature.Cold, n) is { } c) Line($"| {tool} | {CellText(c)} | {c.Seconds.Count} |");
        Line();
        Line($"| target (issue 8), at N={n} | measured | verdict |");
        Line("|---|---|---|");
        foreach (var (tool, limit) in new[] { (AgentsSuite.Start(Core.Testbeds.Local.LocalIsolation.Private), 10.0), (AgentsSuite.Remove(Core.Testbeds.Local.LocalIsolation.Private), 5.0) })
        {
            var c = Get(AgentsSuite.Job, tool, Temperature.Cold, n);
            Line(c?.Median is { } m
                ? $"| {tool} under {limit:0} s | {Seconds(m)} s | {(m < limit ? "PASS" : "FAIL")} |"
                : $"| {tool} under {limit:0} s | n/a ({Escape(c?.Error ?? "not measured")}) | n/a |");
        }
        Line();
    }

    private void ProcessSection()
    {
        var sizes = SizesOf(ProcessSuite.Job);
        if (sizes.Count == 0) return;
        Line("## Experiment processes");
        Line();
        Line("| | agents | median (min) s | runs |");
        Line("|---|---:|---:|---:|");
        foreach (var c in cells.Where(c => c.Job == ProcessSuite.Job)) Line($"| {c.Tool} | {c.Hosts} | {CellText(c)} | {c.Seconds.Count} |");
        Line();
        var n = cells.Where(c => c.Job == ProcessSuite.Job && c.Tool == ProcessSuite.Start).Select(c => c.Hosts).DefaultIfEmpty(0).Max();
        Line($"| target (issue 11), at N={n} | measured | verdict |");
        Line("|---|---|---|");
        Target("Start-AgentProcess at most 1.5× a warm `true`", Get(ProcessSuite.Job, ProcessSuite.Start, Temperature.Warm, n),
            Get(ProcessSuite.Job, ProcessSuite.True, Temperature.Warm, n), r => r <= 1.5, r => $"{r:0.00}×");
        Line();
        // Not a target of the issue: where the floor of a detached start with its own session lies, against both.
        if (Get(ProcessSuite.Job, ProcessSuite.Bare, Temperature.Warm, n) is { Median: { } bare })
        {
            var start = Get(ProcessSuite.Job, ProcessSuite.Start, Temperature.Warm, n)?.Median;
            var warmTrue = Get(ProcessSuite.Job, ProcessSuite.True, Temperature.Warm, n)?.Median;
            Line($"The bare detached start (setsid, sh and the command: no registry, supervisor or exit window) is {(warmTrue is { } t && t > 0 ? $"{bare / t:0.00}× the warm `true`" : "n/a")}; Start-AgentProcess is {(start is { } s && bare > 0 ? $"{s / bare:0.00}× the bare start" : "n/a")}.");
            Line();
        }
    }

    private void SlurmSection()
    {
        if (!cells.Any(c => c.Job == SlurmSuite.Job)) return;
        Line("## Slurm: `hostname` on every node of a one-machine cluster");
        Line();
        Line("| | nodes | median (min) s | runs |");
        Line("|---|---:|---:|---:|");
        foreach (var c in cells.Where(c => c.Job == SlurmSuite.Job).OrderBy(c => c.Hosts)) Line($"| {c.Tool} | {c.Hosts} | {CellText(c)} | {c.Seconds.Count} |");
        Line();
    }

    private void PackageSection()
    {
        if (!cells.Any(c => c.Job == PackageSuite.Job)) return;
        Line("## Packages from the controller cache to offline agents");
        Line();
        Line("| | agents | median (min) s | runs |");
        Line("|---|---:|---:|---:|");
        foreach (var c in cells.Where(c => c.Job == PackageSuite.Job)) Line($"| {c.Tool} | {c.Hosts} | {CellText(c)} | {c.Seconds.Count} |");
        Line();
        var n = cells.Where(c => c.Job == PackageSuite.Job).Select(c => c.Hosts).DefaultIfEmpty(0).Max();
        Line($"| target (issue 10), at N={n} | measured | verdict |");
        Line("|---|---|---|");
        Target("first run at least 5× faster than Ansible", Get(PackageSuite.Job, PackageSuite.AnsibleFirst, Temperature.Warm, n),
            Get(PackageSuite.Job, PackageSuite.EngineFirst, Temperature.Warm, n), r => r >= 5, r => $"{r:0.0}×");
        Target("unchanged re-run at least 10× faster than Ansible", Get(PackageSuite.Job, PackageSuite.AnsibleAgain, Temperature.Warm, n),
            Get(PackageSuite.Job, PackageSuite.EngineAgain, Temperature.Warm, n), r => r >= 10, r => $"{r:0.0}×");
        Line();
    }

    private void Tail()
    {
        if (findings.Notes.Count > 0)
        {
            Line("## Notes");
            Line();
            foreach (var note in findings.Notes.Distinct()) Line($"- {note}");
            Line();
        }
        var failed = cells.Where(c => !c.Ok || c.Note is not null).ToArray();
        if (failed.Length > 0)
        {
            Line("## n/a cells and shortened cells");
            Line();
            foreach (var c in failed) Line($"- {c}: {c.Error ?? c.Note}");
            Line();
        }
        Line("## Every timed run (seconds)");
        Line();
        Line("| job | tool | connections | N | runs |");
        Line("|---|---|---|---:|---|");
        foreach (var c in cells.Where(c => c.Seconds.Count > 0))
            Line($"| {c.Job} | {c.Tool} | {Temp(c.Temperature)} | {c.Hosts} | {string.Join(", ", c.Seconds.Select(s => s.ToString("0.000", CultureInfo.InvariantCulture)))} |");
        Line();
    }

    private void Table(string job, IReadOnlyList<int> sizes, (string Tool, Temperature Temperature)[] rows)
    {
        Line("| tool | connections | " + string.Join(" | ", sizes.Select(n => $"N={n}")) + " |");
        Line("|---|---|" + string.Concat(sizes.Select(_ => "---:|")));
        foreach (var (tool, t) in rows)
        {
            if (!sizes.Any(n => Get(job, tool, t, n) is not null)) continue;
            Line($"| {tool} | {Temp(t)} | " + string.Join(" | ", sizes.Select(n => Get(job, tool, t, n) is { } c ? CellText(c) : "–")) + " |");
        }
        Line();
    }

    private void Target(string name, Cell? engine, Cell? reference, Func<double, bool> pass, Func<double, string> describe)
    {
        var ratio = Ratio(engine, reference);
        Line(ratio is { } r
            ? $"| {name} | {describe(r)} | {(pass(r) ? "PASS" : "FAIL")} |"
            : $"| {name} | n/a ({Escape(engine?.Ok == true ? reference?.Error ?? "not measured" : engine?.Error ?? "not measured")}) | n/a |");
    }

    private IReadOnlyList<int> SizesOf(string job) => cells.Where(c => c.Job == job).Select(c => c.Hosts).Distinct().Order().ToArray();

    private Cell? Get(string job, string tool, Temperature t, int n) =>
        cells.LastOrDefault(c => c.Job == job && c.Tool == tool && c.Temperature == t && c.Hosts == n);

    private static double? Ratio(Cell? a, Cell? b) => a?.Median is { } x && b?.Median is { } y && y > 0 ? x / y : null;

    private static string CellText(Cell c) => c.Ok ? $"**{Seconds(c.Median!.Value)}** ({Seconds(c.Min!.Value)})" : "n/a";

    private static string S(Cell? c) => c?.Median is { } m ? Seconds(m) + " s" : "n/a";

    private static string Seconds(double s) => s.ToString(s < 0.1 ? "0.000" : "0.00", CultureInfo.InvariantCulture);

    private static string Temp(Temperature t) => t == Temperature.Cold ? "cold" : "warm";

    // Table cells stay one short line; the full reason is in the n/a list below the tables.
    private static string Escape(string text)
    {
        var flat = text.Replace("|", "\\|").ReplaceLineEndings(" ");
        return flat.Length > 140 ? flat[..140] + "…" : flat;
    }

    private void Line(string text = "") => _md.Append(text).Append('\n');
}
