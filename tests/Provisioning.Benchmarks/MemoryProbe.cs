using System.Diagnostics;

namespace Provisioning.Benchmarks;

/// <summary>
/// Samples this process's working set while the engine runs, since the peak the OS keeps (VmHWM) covers the whole
/// process life rather than one N.
/// </summary>
internal sealed class MemoryProbe : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _peakBytes;

    private MemoryProbe() => _loop = Task.Run(SampleAsync);

    /// <summary>Starts sampling.</summary>
    public static MemoryProbe Start() => new();

    /// <summary>Largest working set seen so far, in MB (10^6 bytes, as the target is stated).</summary>
    public double PeakMegabytes => Interlocked.Read(ref _peakBytes) / 1e6;

    /// <summary>The OS's peak working set of this process over its whole life, in MB.</summary>
    public static double ProcessPeakMegabytes()
    {
        using var self = Process.GetCurrentProcess();
        return self.PeakWorkingSet64 / 1e6;
    }

    /// <summary>
    /// Sum of the resident memory of the processes whose command line mentions <paramref name="marker"/> (the
    /// ssh masters name their control socket there). Shared library pages are counted once per process, so
    /// this overstates what they really cost; it is reported for context only.
    /// </summary>
    public static (int Count, double Megabytes) ResidentOfProcessesMentioning(string marker)
    {
        var count = 0;
        long kib = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (!cmdline.Contains(marker, StringComparison.Ordinal)) continue;
                var rss = File.ReadLines(Path.Combine(dir, "status")).FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
                if (rss is null) continue;
                kib += long.Parse(rss.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
                count++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                // The process exited while we looked at it.
            }
        }
        return (count, kib * 1024 / 1e6);
    }

    private async Task SampleAsync()
    {
        using var self = Process.GetCurrentProcess();
        while (!_stop.IsCancellationRequested)
        {
            self.Refresh();
            var ws = self.WorkingSet64;
            long seen;
            while (ws > (seen = Interlocked.Read(ref _peakBytes)) && Interlocked.CompareExchange(ref _peakBytes, ws, seen) != seen) { }
            try
            {
                await Task.Delay(Interval, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
