using System.Management.Automation;
using Provisioning.Binding;
using Provisioning.Completion;
using Provisioning.Core.Execution;
using Provisioning.Core.Facts;
using Provisioning.Core.Testbeds;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Gets the facts of agent machines (OS, kernel, CPUs, memory, disks, network, init system, package manager) in one round trip each, and keeps them on the machines for the session.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "AgentFact")]
[OutputType(typeof(AgentFacts))]
public sealed class GetAgentFactCommand : HostOperationCmdlet
{
    /// <summary>The machines, usually piped from Get-AgentMachine (machine names also work).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, Position = 0)]
    [Alias("Machine")]
    [AgentMachineTransformation]
    [ArgumentCompleter(typeof(AgentMachineNameCompleter))]
    [ValidateNotNull]
    public AgentMachine[] InputObject { get; set; } = [];

    /// <summary>Gathers again instead of using the facts kept from earlier in the session.</summary>
    [Parameter]
    public SwitchParameter Refresh { get; set; }

    /// <summary>How many machines are asked at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = FanOut.DefaultThrottleLimit;

    /// <inheritdoc />
    protected override void ProcessRecord() => Collect(InputObject);

    /// <inheritdoc />
    protected override void EndProcessing() => HostOperationLifecycle.Run(this, AgentFactGatherer.Gather(Refresh, ThrottleLimit), journal: false);
}
