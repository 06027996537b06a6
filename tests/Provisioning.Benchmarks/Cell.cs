namespace Provisioning.Benchmarks;

/// <summary>Whether a measurement starts with new connections or reuses open master connections.</summary>
internal enum Temperature
{
    /// <summary>New connections every run.</summary>
    Cold,
    /// <summary>Master connections already open.</summary>
    Warm,
}

/// <summary>One table cell: a tool, a job and an agent count, with every timed run or the reason it has none.</summary>
internal sealed class Cell(string job, string tool, Temperature temperature, int hosts)
{
    private readonly List<double> _seconds = [];

    /// <summary>The job (cmd, copy, fetch, journal).</summary>
    public string Job { get; } = job;
    /// <summary>The tool's row label.</summary>
    public string Tool { get; } = tool;
    /// <summary>Cold or warm.</summary>
    public Temperature Temperature { get; } = temperature;
    /// <summary>Number of agents.</summary>
    public int Hosts { get; } = hosts;
    /// <summary>Wall-clock seconds of each timed run.</summary>
    public IReadOnlyList<double> Seconds => _seconds;
    /// <summary>Why the cell has no (or only partial) numbers; null when every run was verified.</summary>
    public string? Error { get; private set; }
    /// <summary>True when every timed run completed and was verified.</summary>
    public bool Ok => Error is null && _seconds.Count > 0;
    /// <summary>Median of the timed runs, or null.</summary>
    public double? Median => Ok ? MedianOf(_seconds) : null;
    /// <summary>Fastest timed run, or null.</summary>
    public double? Min => Ok ? _seconds.Min() : null;
    /// <summary>A note shown with the cell (for example: fewer runs because of the time budget).</summary>
    public string? Note { get; set; }

    /// <summary>Adds a verified timed run.</summary>
    public void Add(TimeSpan elapsed) => _seconds.Add(elapsed.TotalSeconds);

    /// <summary>Marks the cell failed: it is reported as n/a with this reason.</summary>
    public void Fail(string reason) => Error ??= reason;

    /// <summary>Median of a non-empty list.</summary>
    public static double MedianOf(IReadOnlyList<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Job} {Tool} {Temperature.ToString().ToLowerInvariant()} N={Hosts}";
}
