using System.Diagnostics;

namespace Provisioning.Core.Journal;

/// <summary>
/// The process that owns a Running run: pid, host name and process start time. A reader on the same host can then
/// tell a live session from one that crashed (pid gone, or reused by a process that started later).
/// </summary>
internal sealed record WriterProcess(int Pid, string Host, long StartedUnixMs)
{
    private static readonly Lazy<WriterProcess> CurrentProcess = new(() =>
    {
        using var self = Process.GetCurrentProcess();
        return new WriterProcess(Environment.ProcessId, Environment.MachineName, StartTimeUnixMs(self) ?? 0);
    });

    /// <summary>This process.</summary>
    public static WriterProcess Current => CurrentProcess.Value;

    /// <summary>
    /// False only when the writer certainly is gone: same host, and no process with that pid, or one that started at
    /// another time. Anything uncertain (other host, no permission to look) counts as alive.
    /// </summary>
    public bool IsCertainlyGone()
    {
        if (!string.Equals(Host, Environment.MachineName, StringComparison.OrdinalIgnoreCase)) return false;
        if (Pid == Environment.ProcessId) return StartedUnixMs != Current.StartedUnixMs && Current.StartedUnixMs != 0;
        Process process;
        try
        {
            process = Process.GetProcessById(Pid);
        }
        catch (ArgumentException)
        {
            return true; // no such process
        }
        catch (InvalidOperationException)
        {
            return true;
        }
        using (process)
        {
            var started = StartTimeUnixMs(process);
            if (started is null || StartedUnixMs == 0) return false;
            // Start times are derived from boot time and clock ticks; allow for rounding.
            return Math.Abs(started.Value - StartedUnixMs) > 1000;
        }
    }

    private static long? StartTimeUnixMs(Process process)
    {
        try
        {
            return new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return null;
        }
    }
}
