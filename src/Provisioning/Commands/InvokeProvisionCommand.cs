using System.Collections;
using System.Management.Automation;
using Provisioning.Binding;
using Provisioning.Completion;
using Provisioning.Core.Execution;
using Provisioning.Core.Provision;
using Provisioning.Core.Testbeds;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Provisions agent machines idempotently from a document of named steps: packages, directories, files, lines, archives, services, users, groups and guarded commands.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "Provision", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = PathSet)]
[OutputType(typeof(ProvisionResult), typeof(ProvisionSummary))]
public sealed class InvokeProvisionCommand : HostOperationCmdlet
{
    private const string PathSet = "Path";
    private const string TaskSet = "Task";

    /// <summary>The provision document (YAML).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Inline tasks for a quick one-off, as tables: <c>@{ package = @{ name = 'iperf3' } }</c>.</summary>
    [Parameter(Mandatory = true, ParameterSetName = TaskSet)]
    [ValidateNotNullOrEmpty]
    public Hashtable[] Task { get; set; } = [];

    /// <summary>The machines to provision, usually piped from Get-AgentMachine (machine names also work).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Machine")]
    [AgentMachineTransformation]
    [ArgumentCompleter(typeof(AgentMachineNameCompleter))]
    [ValidateNotNull]
    public AgentMachine[] InputObject { get; set; } = [];

    /// <summary>Only these steps, by name, in document order.</summary>
    [Parameter(ParameterSetName = PathSet)]
    [ArgumentCompleter(typeof(ProvisionStepCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Step { get; set; } = [];

    /// <summary>Extra template variables; they beat the document's vars and the machines' own.</summary>
    [Parameter]
    public Hashtable? Variable { get; set; }

    /// <summary>How many machines are provisioned at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = FanOut.DefaultThrottleLimit;

    /// <summary>The longest one step may take on one machine, in seconds.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int TimeoutSec { get; set; }

    /// <summary>Reruns, from the journal's last run of the same document, only the steps that failed or never ran on each machine.</summary>
    [Parameter(ParameterSetName = PathSet)]
    public SwitchParameter Resume { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord() => Collect(InputObject);

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var location = SessionState.Path.CurrentFileSystemLocation.ProviderPath;
        var document = ParameterSetName == TaskSet
            ? InvokeEngine(() => ProvisionDocumentReader.FromTasks(Task.Select(t => EngineValue.From(t)), location), "-Task")
            : InvokeEngine(() => ProvisionDocumentReader.ReadFile(GetUnresolvedProviderPathFromPSPath(Path)), Path);
        var check = WhatIfRequested;
        IReadOnlyDictionary<string, IReadOnlySet<string>>? resume = null;
        if (Resume)
        {
            var steps = Step.Length > 0 ? Step : document.Steps.Select(s => s.Name).ToArray();
            resume = InvokeEngine(() => ProvisionResume.StepsToRun(CollectedMachines, document.File, steps), Path);
            if (resume is null) WriteVerbose($"The journal has no run of {document.File}: every step runs.");
        }
        var spec = new ProvisionSpec
        {
            Document = document,
            Steps = Step,
            Variables = Variable is null ? null : EngineValue.FromDictionary(Variable),
            Check = check,
            Timeout = MyInvocation.BoundParameters.ContainsKey(nameof(TimeoutSec)) ? TimeSpan.FromSeconds(TimeoutSec) : null,
            ThrottleLimit = ThrottleLimit,
            StepsByHost = resume,
        };
        HostOperationLifecycle.Run(this, InvokeEngine(() => Provisioner.Operation(spec), Path), journal: true, errorTarget: Path, checkMode: check);
    }
}
