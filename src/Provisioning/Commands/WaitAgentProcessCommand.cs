using System.Management.Automation;
using Provisioning.Core.Processes;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Waits until experiment processes on agent machines have ended, and returns their final states and exit codes.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "AgentProcess")]
[OutputType(typeof(AgentProcess))]
public sealed class WaitAgentProcessCommand : AgentProcessCmdlet
{
    /// <summary>Gives up after this many seconds: the processes still running get a TimedOut result and an error. No limit when omitted.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int TimeoutSec { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing() =>
        HostOperationLifecycle.Run(this, AgentProcesses.Wait(Selection(),
            MyInvocation.BoundParameters.ContainsKey(nameof(TimeoutSec)) ? TimeSpan.FromSeconds(TimeoutSec) : null, TimeSpan.FromMilliseconds(500)), journal: true);
}
