using System.Management.Automation;
using Provisioning.Binding;
using Provisioning.Completion;
using Provisioning.Core.Execution;
using Provisioning.Core.Reachability;
using Provisioning.Core.Testbeds;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Checks that agent machines answer over SSH and reports latency; -Wait polls until they all answer.</para>
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "AgentMachine")]
[OutputType(typeof(AgentMachineStatus), typeof(bool))]
public sealed class TestAgentMachineCommand : HostOperationCmdlet
{
    private const int DefaultTimeoutSec = 30;
    private const int DefaultWaitTimeoutSec = 300;

    /// <summary>The machines to check (machines or names). Every machine of the testbed when none is given.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Machine")]
    [AgentMachineTransformation]
    [ArgumentCompleter(typeof(AgentMachineNameCompleter))]
    [ValidateNotNull]
    public AgentMachine[]? InputObject { get; set; }

    /// <summary>The testbed whose machines are checked when no machine is given; the current testbed when omitted.</summary>
    [Parameter]
    [TestbedTransformation]
    [ArgumentCompleter(typeof(TestbedNameCompleter))]
    public Testbed? Testbed { get; set; }

    /// <summary>Keeps polling the hosts that fail (about once a second) until all answer or -TimeoutSec passes.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>Without -Wait: the longest one check may take (default 30). With -Wait: how long to keep polling (default 300).</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int TimeoutSec { get; set; }

    /// <summary>Returns a single Boolean: true when every machine is reachable. No per-host objects or errors.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    /// <summary>How many hosts are checked at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = FanOut.DefaultThrottleLimit;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (InputObject is not null) Collect(InputObject);
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        // Standalone (nothing piped, no machine given): the whole testbed. An empty pipeline means no machine.
        if (CollectedMachines.Count == 0 && !MyInvocation.ExpectingInput && !MyInvocation.BoundParameters.ContainsKey(nameof(InputObject)))
            Collect(ResolveTestbed(Testbed).Machines);
        if (CollectedMachines.Count == 0)
        {
            WriteWarning("There is no agent machine to test.");
            if (Quiet) WriteObject(false);
            return;
        }

        var seconds = MyInvocation.BoundParameters.ContainsKey(nameof(TimeoutSec)) ? TimeoutSec : Wait ? DefaultWaitTimeoutSec : DefaultTimeoutSec;
        var allReachable = true;
        var options = new ReachabilityOptions { Wait = Wait, Timeout = TimeSpan.FromSeconds(seconds), ThrottleLimit = ThrottleLimit };
        // With -Wait the checks poll in rounds until each host answers, rather than running once.
        HostOperationLifecycle.Run(this, ReachabilityProbe.Operation(options), journal: false, start: machines => ReachabilityProbe.Start(machines, options, StopToken), write: status =>
        {
            allReachable &= status.Reachable;
            if (!Quiet) WriteResult(status);
        });
        if (Quiet) WriteObject(allReachable);
    }
}
