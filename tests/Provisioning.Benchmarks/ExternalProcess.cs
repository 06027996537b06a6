using System.Diagnostics;

namespace Provisioning.Benchmarks;

/// <summary>What a finished external process did.</summary>
/// <param name="ExitCode">Exit code (-1 when it was killed).</param>
/// <param name="Stdout">Captured standard output.</param>
/// <param name="Stderr">Captured standard error.</param>
/// <param name="Elapsed">Wall clock from start to exit.</param>
/// <param name="TimedOut">True when it was killed after the timeout.</param>
internal sealed record ProcessOutcome(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed, bool TimedOut)
{
    /// <summary>A one-line reason for a failure, for the report.</summary>
    public string Describe() => TimedOut
        ? $"killed after {Elapsed.TotalSeconds:0} s"
        : $"exit code {ExitCode}{FirstLine(Stderr)}";

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault(l => !l.StartsWith("Warning: Permanently added", StringComparison.Ordinal));
        return line is null ? "" : ": " + (line.Length > 200 ? line[..200] + "..." : line);
    }
}

/// <summary>Runs a program with captured output, a timeout and a clean kill of its whole process tree.</summary>
internal static class ExternalProcess
{
    // ssh ControlPersist masters and other daemons can inherit a pipe and keep it open long after the
    // program we started has exited; we stop waiting for its output after this grace period.
    private static readonly TimeSpan OutputGrace = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Starts <paramref name="fileName"/> with <paramref name="arguments"/> (no shell), stdin empty, and waits for it.
    /// Elapsed covers start to exit, which is what a user timing the tool from a shell sees.
    /// </summary>
    public static async Task<ProcessOutcome> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        if (environment is not null)
            foreach (var (k, v) in environment) psi.Environment[k] = v;

        using var process = new Process { StartInfo = psi };
        var watch = Stopwatch.StartNew();
        process.Start();
        // An empty stdin: clush and ssh would otherwise forward whatever our stdin holds.
        process.StandardInput.Close();
        var stdout = new OutputPump(process.StandardOutput);
        var stderr = new OutputPump(process.StandardError);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            timedOut = !cancellationToken.IsCancellationRequested;
            KillTree(process);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        var elapsed = watch.Elapsed;
        var outText = await stdout.TextAsync(OutputGrace).ConfigureAwait(false);
        var errText = await stderr.TextAsync(OutputGrace).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return new ProcessOutcome(timedOut ? -1 : process.ExitCode, outText, errText, elapsed, timedOut);
    }

    /// <summary>Runs a bash snippet (for the floor scripts and helpers that need a shell).</summary>
    public static Task<ProcessOutcome> BashAsync(string script, TimeSpan timeout, CancellationToken cancellationToken, params string[] arguments) =>
        RunAsync("/bin/bash", ["-c", script, "bash", .. arguments], timeout, cancellationToken);

    /// <summary>First line of a program's output, or null when it cannot be run (for version strings).</summary>
    public static async Task<string?> FirstLineOfAsync(string fileName, params string[] arguments)
    {
        try
        {
            var r = await RunAsync(fileName, arguments, TimeSpan.FromSeconds(30), CancellationToken.None).ConfigureAwait(false);
            var text = string.IsNullOrWhiteSpace(r.Stdout) ? r.Stderr : r.Stdout;
            return text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        }
        catch (Exception)
        {
            return null;
        }
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    /// <summary>Reads a stream to its end in the background; its text so far can be taken at any time.</summary>
    private sealed class OutputPump
    {
        private readonly System.Text.StringBuilder _text = new();
        private readonly Task _done;

        public OutputPump(StreamReader reader) => _done = Task.Run(async () =>
        {
            var buffer = new char[8192];
            int n;
            while ((n = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
                lock (_text) _text.Append(buffer, 0, n);
        });

        /// <summary>The whole output once the stream ends, or what arrived within <paramref name="grace"/>.</summary>
        public async Task<string> TextAsync(TimeSpan grace)
        {
            await Task.WhenAny(_done, Task.Delay(grace)).ConfigureAwait(false);
            lock (_text) return _text.ToString();
        }
    }
}
