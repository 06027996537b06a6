using System.Collections;
using System.Management.Automation;
using Provisioning.Binding;
using Provisioning.Completion;
using Provisioning.Core.Execution;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transfer;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Copies files or globs from agent machines into one local folder per machine, verifying each checksum. Not journaled.</para>
/// </summary>
[Cmdlet(VerbsCommunications.Receive, "AgentFile", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ExperimentResult))]
public sealed class ReceiveAgentFileCommand : FetchCommandBase
{
    /// <summary>The remote path or shell glob, a template rendered for each machine.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The local folder; each machine's files go to Destination/&lt;machine name&gt;/.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = "";

    /// <summary>The machines to fetch from, usually piped from Get-AgentMachine (machine names also work).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Machine")]
    [AgentMachineTransformation]
    [ArgumentCompleter(typeof(AgentMachineNameCompleter))]
    [ValidateNotNull]
    public AgentMachine[] InputObject { get; set; } = [];

    /// <summary>Extra template variables for the remote path.</summary>
    [Parameter]
    [ValidateNotNull]
    public Hashtable? Variable { get; set; }

    /// <summary>How many machines are fetched from at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = FanOut.DefaultThrottleLimit;

    /// <summary>Stops a machine's transfer after this many seconds.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int TimeoutSec { get; set; }

    /// <summary>Reads the files through <c>sudo -n</c> on the machines.</summary>
    [Parameter]
    public SwitchParameter Sudo { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord() => Collect(InputObject);

    /// <inheritdoc />
    protected override void EndProcessing() => Fetch(new FileFetchSpec
    {
        Path = Path,
        Destination = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Destination),
        Variables = Variable is null ? null : EngineValue.FromDictionary(Variable),
        ThrottleLimit = ThrottleLimit,
        Timeout = MyInvocation.BoundParameters.ContainsKey(nameof(TimeoutSec)) ? TimeSpan.FromSeconds(TimeoutSec) : null,
        Sudo = Sudo,
    }, journal: false);
}
