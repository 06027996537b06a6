using System.Management.Automation;
using Provisioning.Core.Processes;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Gets the experiment processes of agent machines and their state, read from each machine (processes of any session or controller).</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "AgentProcess")]
[OutputType(typeof(AgentProcess))]
public sealed class GetAgentProcessCommand : AgentProcessCmdlet
{
    /// <inheritdoc />
    protected override void EndProcessing() => HostOperationLifecycle.Run(this, AgentProcesses.Get(Selection()), journal: true);
}
