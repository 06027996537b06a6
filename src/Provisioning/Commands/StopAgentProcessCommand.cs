using System.Management.Automation;
using Provisioning.Core.Processes;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Stops experiment processes on agent machines with their whole process tree: TERM, then KILL after a grace period.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "AgentProcess", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(AgentProcess))]
public sealed class StopAgentProcessCommand : AgentProcessCmdlet
{
    /// <summary>Seconds between TERM and KILL.</summary>
    [Parameter]
    [ValidateRange(0, 3600)]
    public int GraceSec { get; set; } = 5;

    /// <inheritdoc />
    protected override void EndProcessing() =>
        HostOperationLifecycle.Run(this, AgentProcesses.Stop(Selection(), TimeSpan.FromSeconds(GraceSec)), journal: true);
}
