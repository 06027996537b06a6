using System.Management.Automation;
using Provisioning.Core.Processes;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Reads the logs of experiment processes on agent machines; -Follow streams new lines from every machine as they are written.</para>
/// </summary>
[Cmdlet(VerbsCommunications.Receive, "AgentProcessOutput")]
[OutputType(typeof(AgentProcessOutputLine))]
public sealed class ReceiveAgentProcessOutputCommand : AgentProcessCmdlet
{
    /// <summary>Keeps streaming new lines until the processes end (or Ctrl+C).</summary>
    [Parameter]
    public SwitchParameter Follow { get; set; }

    /// <summary>Only the last n lines of each log (then, with -Follow, the new ones). Every line when omitted.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int Tail { get; set; }

    /// <summary>Which logs: Stdout, Stderr or Both.</summary>
    [Parameter]
    [ValidateSet("Stdout", "Stderr", "Both")]
    public string Stream { get; set; } = "Both";

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        AgentProcessStream? stream = Stream switch
        {
            "Stdout" => AgentProcessStream.Stdout,
            "Stderr" => AgentProcessStream.Stderr,
            _ => null,
        };
        HostOperationLifecycle.Run(this, AgentProcesses.Output(Selection(),
            MyInvocation.BoundParameters.ContainsKey(nameof(Tail)) ? Tail : null, stream, Follow), journal: false);
    }
}
