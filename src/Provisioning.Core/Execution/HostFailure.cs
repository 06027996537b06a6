using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Execution;

/// <summary>
/// The one mapping from what happened on a host (a transport execution, an exception, an error kind) to a
/// <see cref="HostStatus"/> and a <see cref="HostError"/>. Every operation uses it, so a host that cannot be
/// reached is Unreachable with the same error id whether it was asked to run a command, take a file or send one.
/// </summary>
public static class HostFailure
{
    /// <summary>The status a host gets for an error of <paramref name="kind"/>.</summary>
    public static HostStatus StatusOf(ErrorKind kind) => kind switch
    {
        ErrorKind.Cancelled => HostStatus.Cancelled,
        ErrorKind.CommandTimedOut => HostStatus.TimedOut,
        ErrorKind.HostUnreachable or ErrorKind.HostKeyVerificationFailed or ErrorKind.AuthenticationFailed or ErrorKind.ConnectionLost
            => HostStatus.Unreachable,
        ErrorKind.TemplateSyntax or ErrorKind.TemplateVariableUndefined => HostStatus.TemplateError,
        _ => HostStatus.Failed,
    };

    /// <summary>The status and error of a host whose work threw.</summary>
    public static (HostStatus Status, HostError Error) FromException(AgentMachine machine, Exception exception)
    {
        var error = HostError.FromException(machine.Name, exception);
        return (StatusOf(error.Kind), error);
    }

    /// <summary>
    /// The status and error of one remote execution: null error when it exited 0. A non-zero exit is the
    /// operation's to explain (<paramref name="exitFailure"/>: a command's exit code, a transfer's disk full);
    /// everything else (timeouts, cancellation, lost and failed connections) reads the same for every operation.
    /// The transport has already told a lost connection from a command's own exit status.
    /// </summary>
    /// <param name="machine">The host.</param>
    /// <param name="execution">What the transport reported.</param>
    /// <param name="what">What was being done, for messages ("command", "fetching 'out/*'").</param>
    /// <param name="timeout">The limit that applied, for the timeout message.</param>
    /// <param name="exitFailure">The error of a non-zero exit.</param>
    public static (HostStatus Status, HostError? Error) FromExecution(
        AgentMachine machine, RemoteExecution execution, string what, TimeSpan? timeout, Func<RemoteExecution, HostError> exitFailure)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(exitFailure);
        return execution.Outcome switch
        {
            ExecutionOutcome.Exited when execution.ExitCode == 0 => (HostStatus.Succeeded, null),
            ExecutionOutcome.Exited => (HostStatus.Failed, exitFailure(execution)),
            ExecutionOutcome.TimedOut => (HostStatus.TimedOut, new HostError(ErrorKind.CommandTimedOut,
                $"{machine.Name}: {what} timed out after {timeout?.TotalSeconds:0.###} s and was killed.")),
            ExecutionOutcome.Cancelled => (HostStatus.Cancelled, new HostError(ErrorKind.Cancelled,
                $"{machine.Name}: {what} was cancelled and killed.")),
            ExecutionOutcome.ConnectionLost => (HostStatus.Unreachable, new HostError(ErrorKind.ConnectionLost,
                $"{machine.Name}: connection lost during {what}.{Reason(execution)}")),
            _ => (HostStatus.Unreachable, Unreachable(machine, execution.FailureKind, execution.FailureMessage ?? execution.Stderr.Trim())),
        };
    }

    /// <summary>The error of a host that could not be reached, naming it and where it was looked for.</summary>
    public static HostError Unreachable(AgentMachine machine, ErrorKind? kind, string? reason) =>
        new(kind ?? ErrorKind.HostUnreachable, $"{machine.Name} ({machine.Endpoint}) is unreachable: {(string.IsNullOrWhiteSpace(reason) ? "no reason given" : reason)}");

    /// <summary>The last line of <paramref name="text"/>, with a leading space, or nothing: a failing command's last words are usually the reason.</summary>
    public static string LastLine(string? text) => Prefixed(Lines(text).LastOrDefault());

    private static string Reason(RemoteExecution e) =>
        Prefixed(e.FailureMessage ?? Lines(e.Stderr).FirstOrDefault() ?? (e.ExitCode is { } code ? $"(ssh exited with status {code})" : null));

    private static string[] Lines(string? text) =>
        text?.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];

    private static string Prefixed(string? line) => string.IsNullOrEmpty(line) ? "" : " " + line;
}
