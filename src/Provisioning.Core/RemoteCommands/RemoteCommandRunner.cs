using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.Journal;
using Provisioning.Core.Templating;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;

namespace Provisioning.Core.RemoteCommands;

/// <summary>
/// Runs a command template on every host in parallel: the operation renders it per host and runs it over the
/// host's transport, and <see cref="HostOperationRunner"/> streams one <see cref="RemoteCommandResult"/> per host.
/// Used by Invoke-RemoteCommand and by the benchmark, so both measure the same code.
/// </summary>
public sealed class RemoteCommandRunner
{
    private readonly TemplateRenderer _renderer;

    /// <summary>Creates a runner with the given template renderer.</summary>
    public RemoteCommandRunner(TemplateRenderer? renderer = null) => _renderer = renderer ?? new TemplateRenderer();

    /// <summary>
    /// The per-host operation for <paramref name="spec"/>: run it through the cmdlet lifecycle, or with
    /// <see cref="HostOperationRunner.Stream{TResult}"/> (one result at a time, journaled into a recorder or nowhere).
    /// </summary>
    public HostOperation<RemoteCommandResult> Operation(RemoteCommandSpec spec) => new RemoteCommandOperation(spec, _renderer);

    /// <summary>Renders the command for each host without running anything (for -WhatIf).</summary>
    public IReadOnlyList<PlannedCommand> Plan(IReadOnlyList<AgentMachine> machines, RemoteCommandSpec spec) =>
        new RemoteCommandOperation(spec, _renderer).Render(machines);


    private sealed class RemoteCommandOperation : HostOperation<RemoteCommandResult>
    {
        private readonly RemoteCommandSpec _spec;
        private readonly TemplateRenderer _renderer;

        public RemoteCommandOperation(RemoteCommandSpec spec, TemplateRenderer renderer)
            : base((spec ?? throw new ArgumentNullException(nameof(spec))).ThrottleLimit)
        {
            ArgumentNullException.ThrowIfNull(spec);
            if ((spec.Command is null) == (spec.Script is null))
                throw new ArgumentException("Give exactly one of a command and a script.", nameof(spec));
            _spec = spec;
            _renderer = renderer;
        }

        private string Template => _spec.Command ?? _spec.Script!;

        // What results and the journal show: the rendered command, or the script's name (never its text).
        private string Shown(string? rendered) => _spec.Script is null ? rendered ?? _spec.Command! : _spec.ScriptName ?? "script";

        public IReadOnlyList<PlannedCommand> Render(IReadOnlyList<AgentMachine> machines) => machines.Select(Render).ToArray();

        public override IReadOnlyList<HostPlan> Plan(IReadOnlyList<AgentMachine> machines) => machines.Select(m =>
        {
            var plan = Render(m);
            var action = plan.Command is null
                ? $"Run (template error: {plan.Error?.Message})"
                : _spec.Script is null ? $"Run: {plan.Command}" : $"Run script {_spec.ScriptName}:{Environment.NewLine}{plan.Command}";
            return new HostPlan(m, action, plan.Error);
        }).ToArray();

        public override async Task<IReadOnlyList<RemoteCommandResult>> RunAsync(AgentMachine machine, ISshTransport transport, CancellationToken ct)
        {
            var plan = Render(machine);
            if (plan.Command is null)
                return [Failure(machine, HostFailure.StatusOf(plan.Error!.Kind), plan.Error, DateTimeOffset.Now)];
            var e = await transport.ExecuteAsync(machine, new RemoteExecutionRequest
            {
                Command = plan.Command,
                Timeout = _spec.Timeout,
                Sudo = _spec.Sudo,
            }, ct).ConfigureAwait(false);
            var (status, error) = HostFailure.FromExecution(machine, e, "command", _spec.Timeout, failed =>
                new HostError(ErrorKind.CommandFailed, $"{machine.Name}: command exited with code {failed.ExitCode}.{HostFailure.LastLine(failed.Stderr)}"));
            return [new RemoteCommandResult
            {
                Machine = machine,
                Command = Shown(plan.Command),
                ExitCode = e.ExitCode,
                Stdout = e.Stdout,
                Stderr = e.Stderr,
                StartTime = e.StartTime,
                Duration = e.Duration,
                Status = status,
                OutputTruncated = e.OutputTruncated,
                Error = error,
            }];
        }

        public override RemoteCommandResult Failure(AgentMachine machine, HostStatus status, HostError error, DateTimeOffset started) => new()
        {
            Machine = machine,
            Command = _spec.Command ?? _spec.ScriptName ?? "",
            Status = status,
            StartTime = started,
            Error = error,
        };

        public override JournalEntry Journal(RemoteCommandResult result) => new()
        {
            Kind = _spec.Script is null ? StepKinds.Command : StepKinds.Script,
            Detail = result.Command,
            ExitCode = result.ExitCode,
            Stdout = result.Stdout,
            Stderr = result.Stderr,
            OutputTruncated = result.OutputTruncated,
        };

        private PlannedCommand Render(AgentMachine machine)
        {
            try
            {
                return new PlannedCommand(machine, _renderer.Render(Template, machine, _spec.Variables), null);
            }
            catch (ProvisioningException ex)
            {
                return new PlannedCommand(machine, null, new HostError(ex.Kind, ex.Message));
            }
        }
    }
}
