using System.Collections;
using System.Management.Automation;
using Provisioning.Binding;
using Provisioning.Completion;
using Provisioning.Core.Execution;
using Provisioning.Core.Processes;
using Provisioning.Core.Testbeds;
using Provisioning.Errors;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Starts a named experiment process on agent machines, detached and supervised on each machine, so it outlives the call.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "AgentProcess", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(AgentProcess))]
public sealed class StartAgentProcessCommand : HostOperationCmdlet
{
    /// <summary>The process name, unique per machine: letters, digits, '.', '_' and '-'.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidatePattern(AgentProcesses.NamePattern)]
    [ArgumentCompleter(typeof(ProcessNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>The command template (POSIX shell), rendered for each machine.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Command { get; set; } = "";

    /// <summary>The machines to start it on, usually piped from Get-AgentMachine (machine names also work).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Machine")]
    [AgentMachineTransformation]
    [ArgumentCompleter(typeof(AgentMachineNameCompleter))]
    [ValidateNotNull]
    public AgentMachine[] InputObject { get; set; } = [];

    /// <summary>Kills each run after this many seconds (state TimedOut).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int TimeoutSec { get; set; }

    /// <summary>When the machine's supervisor starts the process again: Never, OnFailure or Always.</summary>
    [Parameter]
    [ValidateSet(nameof(AgentProcessRestart.Never), nameof(AgentProcessRestart.OnFailure), nameof(AgentProcessRestart.Always))]
    public string Restart { get; set; } = nameof(AgentProcessRestart.Never);

    /// <summary>At most this many restarts.</summary>
    [Parameter]
    [ValidateRange(0, 100000)]
    public int MaxRestarts { get; set; } = 3;

    /// <summary>Seconds between a run's end and its restart.</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public double RestartDelaySec { get; set; } = 1;

    /// <summary>The working directory template; the machine's working directory when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? WorkingDirectory { get; set; }

    /// <summary>Environment variables of the process; values are templates.</summary>
    [Parameter]
    [ValidateNotNull]
    public Hashtable? Environment { get; set; }

    /// <summary>Extra template variables for the command, the working directory and the environment.</summary>
    [Parameter]
    [ValidateNotNull]
    public Hashtable? Variable { get; set; }

    /// <summary>Runs the command through <c>sudo -n</c> (no effect for a root login).</summary>
    [Parameter]
    public SwitchParameter Sudo { get; set; }

    /// <summary>Replaces a process of the same name that still runs (it is stopped first).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>How many machines are started on at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = FanOut.DefaultThrottleLimit;

    /// <inheritdoc />
    protected override void ProcessRecord() => Collect(InputObject);

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment ?? new Hashtable())
            environment[entry.Key?.ToString() ?? ""] = LanguagePrimitives.ConvertTo<string>(entry.Value) ?? "";
        var spec = new ProcessStartSpec
        {
            Name = Name,
            Command = Command,
            WorkingDirectory = WorkingDirectory,
            Environment = environment,
            Variables = Variable is null ? null : EngineValue.FromDictionary(Variable),
            Timeout = MyInvocation.BoundParameters.ContainsKey(nameof(TimeoutSec)) ? TimeSpan.FromSeconds(TimeoutSec) : null,
            Restart = Enum.Parse<AgentProcessRestart>(Restart, ignoreCase: true),
            MaxRestarts = MaxRestarts,
            RestartDelay = TimeSpan.FromSeconds(RestartDelaySec),
            Sudo = Sudo,
            Force = Force,
            ThrottleLimit = ThrottleLimit,
        };
        HostOperationLifecycle.Run(this, InvokeEngine(() => AgentProcesses.Start(spec)), journal: true);
    }
}
