using Provisioning.Core.Execution;
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
    /// The status and error of a remote transfer step (null error when it exited 0), by the one mapping every
    /// operation uses; a non-zero exit is explained from the host's stderr (disk full, permission denied...).
    /// <paramref name="what"/> says what was being done, for the message.
    /// </summary>
    public static (HostStatus Status, HostError? Error) FromExecution(AgentMachine machine, RemoteExecution e, string what, TimeSpan? timeout) =>
        HostFailure.FromExecution(machine, e, what, timeout, failed =>
            new HostError(Classify(failed.Stderr), $"{machine.Name}: {what} failed: {Explain(failed.Stderr, failed.ExitCode)}"));

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
