using Provisioning.Core.Commands;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Transfer;

/// <summary>Turns what a transfer's remote side or the controller's file system said into an error kind.</summary>
internal static class TransferFailure
{
    private static readonly (string Needle, ErrorKind Kind)[] Signatures =
    {
        ("No space left on device", ErrorKind.DiskFull),
        ("Disk quota exceeded", ErrorKind.DiskFull),
        ("Permission denied", ErrorKind.PermissionDenied),
        ("Operation not permitted", ErrorKind.PermissionDenied),
        ("Read-only file system", ErrorKind.PermissionDenied),
        // GNU tar's report of a short write, which on a regular file means the file system filled up.
        ("Wrote only", ErrorKind.DiskFull),
    };

    /// <summary>The kind stderr of a remote transfer names, or <paramref name="fallback"/>.</summary>
    public static ErrorKind Classify(string stderr, ErrorKind fallback = ErrorKind.TransferFailed)
    {
        foreach (var (needle, kind) in Signatures)
            if (stderr.Contains(needle, StringComparison.OrdinalIgnoreCase)) return kind;
        if (stderr.Contains("tar: not found", StringComparison.Ordinal) || stderr.Contains("sha256sum: not found", StringComparison.Ordinal)
            || stderr.Contains("tar: command not found", StringComparison.Ordinal) || stderr.Contains("sha256sum: command not found", StringComparison.Ordinal))
            return ErrorKind.DependencyMissing;
        return fallback;
    }

    /// <summary>The kind of a local file-system failure on the controller.</summary>
    public static ErrorKind ClassifyLocal(Exception ex)
    {
        const int ENOSPC = 28, EDQUOT = 122, ERROR_HANDLE_DISK_FULL = 39, ERROR_DISK_FULL = 112;
        if (ex is UnauthorizedAccessException) return ErrorKind.PermissionDenied;
        var code = ex.HResult & 0xFFFF;
        if (ex is IOException && (code is ENOSPC or EDQUOT or ERROR_HANDLE_DISK_FULL or ERROR_DISK_FULL)) return ErrorKind.DiskFull;
        return Classify(ex.Message, ErrorKind.TransferFailed);
    }

    /// <summary>
    /// The status and error of a remote transfer step that did not exit 0 (or null when it did).
    /// <paramref name="what"/> says what was being done, for the message.
    /// </summary>
    public static (HostStatus Status, HostError? Error) FromExecution(AgentMachine machine, RemoteExecution e, string what, TimeSpan? timeout)
    {
        return e.Outcome switch
        {
            ExecutionOutcome.Exited when e.ExitCode == 0 => (HostStatus.Succeeded, null),
            // The transfer scripts never exit 255 themselves: after the remote side started, that status is ssh
            // reporting that the connection (or its master) went away, often without a word on stderr.
            ExecutionOutcome.Exited when e.ExitCode == 255 => (HostStatus.Unreachable, new HostError(ErrorKind.ConnectionLost,
                $"{machine.Name}: connection lost during {what}{Said(e.Stderr)}")),
            ExecutionOutcome.Exited => (HostStatus.Failed, new HostError(Classify(e.Stderr),
                $"{machine.Name}: {what} failed: {Explain(e.Stderr, e.ExitCode)}")),
            ExecutionOutcome.TimedOut => (HostStatus.TimedOut, new HostError(ErrorKind.CommandTimedOut,
                $"{machine.Name}: {what} timed out after {timeout?.TotalSeconds:0.###} s and was stopped.")),
            ExecutionOutcome.Cancelled => (HostStatus.Cancelled, new HostError(ErrorKind.Cancelled,
                $"{machine.Name}: {what} was cancelled.")),
            ExecutionOutcome.ConnectionLost => (HostStatus.Unreachable, new HostError(ErrorKind.ConnectionLost,
                $"{machine.Name}: connection lost during {what}: {e.FailureMessage ?? e.Stderr.Trim()}")),
            _ => (HostStatus.Unreachable, new HostError(e.FailureKind ?? ErrorKind.HostUnreachable,
                $"{machine.Name} ({machine.Address}:{machine.Port}) is unreachable: {e.FailureMessage ?? e.Stderr.Trim()}")),
        };
    }

    private static string Said(string stderr)
    {
        var text = stderr.Trim();
        return text.Length == 0 ? " (ssh exited with status 255)." : $": {Explain(text, 255)}";
    }

    /// <summary>The last few meaningful lines of a remote stderr, for a message.</summary>
    public static string Explain(string stderr, int? exitCode)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.Contains("Removing leading", StringComparison.Ordinal))
            .TakeLast(3)
            .ToArray();
        return lines.Length == 0 ? $"the host's script exited with code {exitCode?.ToString() ?? "?"}." : string.Join(" ", lines);
    }
}
