using System.Threading.Channels;
using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.Journal;
using Provisioning.Core.Templating;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Commands;

/// <summary>
/// Renders a command template per host, runs it on every host in parallel over each host's testbed
/// transport, and streams one <see cref="RemoteCommandResult"/> per host. Used by Invoke-RemoteCommand
/// and by the benchmark, so both measure the same code.
/// </summary>
public sealed class RemoteCommandRunner
{
    /// <summary>Output kept per step in the journal.</summary>
    public const int JournalOutputCapBytes = 64 * 1024;

    private readonly TemplateRenderer _renderer;

    /// <summary>Creates a runner with the given template renderer.</summary>
    public RemoteCommandRunner(TemplateRenderer? renderer = null) => _renderer = renderer ?? new TemplateRenderer();

    /// <summary>Renders the command for each host without running anything (for -WhatIf).</summary>
    public IReadOnlyList<PlannedCommand> Plan(IReadOnlyList<AgentMachine> machines, RemoteCommandSpec spec)
    {
        Validate(spec);
        return machines.Select(m => Render(m, spec)).ToArray();
    }

    /// <summary>
    /// Runs the command on every machine. Results arrive in completion order. A host whose template fails,
    /// that is unreachable, times out or exits non-zero still yields a result (with <see cref="RemoteCommandResult.Error"/>).
    /// </summary>
    public ChannelReader<RemoteCommandResult> Run(
        IReadOnlyList<AgentMachine> machines,
        RemoteCommandSpec spec,
        IRunRecorder? recorder,
        CancellationToken cancellationToken)
    {
        Validate(spec);
        return FanOut.Run(
            machines,
            spec.ThrottleLimit,
            async (machine, ct) =>
            {
                var result = await RunOneAsync(machine, spec, ct).ConfigureAwait(false);
                result = recorder is null ? result : WithRun(result, recorder.RunId, recorder.JournalPath);
                recorder?.RecordStep(ToStep(result, spec));
                return result;
            },
            (machine, ex) => Fault(machine, spec, ex),
            cancellationToken);
    }

    private async Task<RemoteCommandResult> RunOneAsync(AgentMachine machine, RemoteCommandSpec spec, CancellationToken ct)
    {
        var plan = Render(machine, spec);
        if (plan.Command is null)
        {
            return new RemoteCommandResult
            {
                Machine = machine,
                Command = spec.Command ?? spec.ScriptName ?? "",
                Status = HostStatus.TemplateError,
                StartTime = DateTimeOffset.Now,
                Error = plan.Error,
            };
        }
        var transport = machine.Testbed?.Transport
            ?? throw new ProvisioningException(ErrorKind.TestbedNotFound, $"Machine '{machine.Name}' does not belong to a testbed.", machine);
        var execution = await transport.ExecuteAsync(machine, new RemoteExecutionRequest
        {
            Command = plan.Command,
            Timeout = spec.Timeout,
            Sudo = spec.Sudo,
        }, ct).ConfigureAwait(false);
        var shown = spec.Script is null ? plan.Command : spec.ScriptName ?? "script";
        return FromExecution(machine, shown, execution, spec.Timeout);
    }

    /// <summary>Maps a transport execution to a result, with the error a failed host gets.</summary>
    internal static RemoteCommandResult FromExecution(AgentMachine machine, string command, RemoteExecution e, TimeSpan? timeout)
    {
        var (status, error) = e.Outcome switch
        {
            ExecutionOutcome.Exited when e.ExitCode == 0 => (HostStatus.Succeeded, (HostError?)null),
            ExecutionOutcome.Exited => (HostStatus.Failed, new HostError(ErrorKind.CommandFailed,
                $"{machine.Name}: command exited with code {e.ExitCode}.{LastLine(e.Stderr)}")),
            ExecutionOutcome.TimedOut => (HostStatus.TimedOut, new HostError(ErrorKind.CommandTimedOut,
                $"{machine.Name}: command timed out after {timeout?.TotalSeconds:0.###} s and was killed.")),
            ExecutionOutcome.Cancelled => (HostStatus.Cancelled, new HostError(ErrorKind.Cancelled,
                $"{machine.Name}: command was cancelled and killed.")),
            ExecutionOutcome.ConnectionLost => (HostStatus.Unreachable, new HostError(ErrorKind.ConnectionLost,
                $"{machine.Name}: connection lost while the command ran.{FirstLine(e.FailureMessage ?? e.Stderr)}")),
            _ => (HostStatus.Unreachable, new HostError(e.FailureKind ?? ErrorKind.HostUnreachable,
                $"{machine.Name} ({machine.Address}:{machine.Port}) is unreachable: {e.FailureMessage ?? e.Stderr.Trim()}")),
        };
        return new RemoteCommandResult
        {
            Machine = machine,
            Command = command,
            ExitCode = e.ExitCode,
            Stdout = e.Stdout,
            Stderr = e.Stderr,
            StartTime = e.StartTime,
            Duration = e.Duration,
            Status = status,
            OutputTruncated = e.OutputTruncated,
            Error = error,
        };
    }

    private static string FirstLine(string? text) => Prefixed(Lines(text).FirstOrDefault());

    // A failing command's last words are usually the reason (the error after a trace, set -e's last command).
    private static string LastLine(string? text) => Prefixed(Lines(text).LastOrDefault());

    private static string[] Lines(string? text) =>
        text?.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];

    private static string Prefixed(string? line) => string.IsNullOrEmpty(line) ? "" : " " + line;

    private PlannedCommand Render(AgentMachine machine, RemoteCommandSpec spec)
    {
        try
        {
            return new PlannedCommand(machine, _renderer.Render(spec.Command ?? spec.Script!, machine, spec.Variables), null);
        }
        catch (ProvisioningException ex)
        {
            return new PlannedCommand(machine, null, new HostError(ex.Kind, ex.Message));
        }
    }

    private static RemoteCommandResult Fault(AgentMachine machine, RemoteCommandSpec spec, Exception ex)
    {
        var error = HostError.FromException(machine.Name, ex);
        return new RemoteCommandResult
        {
            Machine = machine,
            Command = spec.Command ?? spec.ScriptName ?? "",
            Status = error.Kind switch
            {
                ErrorKind.Cancelled => HostStatus.Cancelled,
                ErrorKind.HostUnreachable or ErrorKind.HostKeyVerificationFailed or ErrorKind.AuthenticationFailed or ErrorKind.ConnectionLost => HostStatus.Unreachable,
                _ => HostStatus.Failed,
            },
            StartTime = DateTimeOffset.Now,
            Error = error,
        };
    }

    private static RemoteCommandResult WithRun(RemoteCommandResult r, long runId, string journalPath) => new()
    {
        Machine = r.Machine,
        Command = r.Command,
        ExitCode = r.ExitCode,
        Stdout = r.Stdout,
        Stderr = r.Stderr,
        StartTime = r.StartTime,
        Duration = r.Duration,
        Status = r.Status,
        OutputTruncated = r.OutputTruncated,
        Error = r.Error,
        RunId = runId,
        JournalPath = journalPath,
    };

    private static StepRecord ToStep(RemoteCommandResult r, RemoteCommandSpec spec)
    {
        var (stdout, cutOut) = Cap(r.Stdout);
        var (stderr, cutErr) = Cap(r.Stderr);
        return new StepRecord
        {
            RunId = r.RunId ?? 0,
            Name = r.Machine.Name,
            Address = r.Machine.Address,
            Step = spec.Script is null ? "command" : "script",
            Detail = spec.Script is null ? r.Command : $"{spec.ScriptName}",
            ExitCode = r.ExitCode,
            Stdout = stdout,
            Stderr = stderr,
            OutputCapBytes = JournalOutputCapBytes,
            OutputTruncated = r.OutputTruncated || cutOut || cutErr,
            StartTime = r.StartTime,
            Duration = r.Duration,
            Status = r.Status.ToString(),
            Error = r.Error?.Message,
        };
    }

    private static (string Text, bool Cut) Cap(string text) =>
        text.Length <= JournalOutputCapBytes ? (text, false) : (text[..JournalOutputCapBytes], true);

    private static void Validate(RemoteCommandSpec spec)
    {
        if ((spec.Command is null) == (spec.Script is null))
            throw new ArgumentException("Give exactly one of a command and a script.", nameof(spec));
        if (spec.ThrottleLimit < 1)
            throw new ArgumentOutOfRangeException(nameof(spec), "ThrottleLimit must be at least 1.");
    }
}
