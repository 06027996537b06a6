using System.Collections;
using System.Management.Automation;
using Provisioning.Binding;
using Provisioning.Completion;
using Provisioning.Core.Execution;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transfer;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Sends a local file, directory or glob to agent machines in parallel, idempotently and atomically.</para>
/// </summary>
[Cmdlet(VerbsCommunications.Send, "AgentFile", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(FileSendResult))]
public sealed class SendAgentFileCommand : HostOperationCmdlet
{
    /// <summary>A local file, a directory (its files, keeping their relative paths) or a glob (<c>*</c>, <c>**</c>).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The remote destination, a template rendered for each machine.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = "";

    /// <summary>The machines to send to, usually piped from Get-AgentMachine (machine names also work).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Machine")]
    [AgentMachineTransformation]
    [ArgumentCompleter(typeof(AgentMachineNameCompleter))]
    [ValidateNotNull]
    public AgentMachine[] InputObject { get; set; } = [];

    /// <summary>Renders each file's content as a template for each machine before sending it.</summary>
    [Parameter]
    public SwitchParameter Template { get; set; }

    /// <summary>Octal permission bits of the remote files, for example 0644 or 755.</summary>
    [Parameter]
    [ValidatePattern("^0?[0-7]{3,4}$")]
    public string? Mode { get; set; }

    /// <summary>Extra template variables for the destination and, with -Template, the files.</summary>
    [Parameter]
    [ValidateNotNull]
    public Hashtable? Variable { get; set; }

    /// <summary>How many machines are sent to at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = FanOut.DefaultThrottleLimit;

    /// <summary>Stops a machine's transfer step after this many seconds.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int TimeoutSec { get; set; }

    /// <summary>Writes the files through <c>sudo -n</c> on the machines.</summary>
    [Parameter]
    public SwitchParameter Sudo { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord() => Collect(InputObject);

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var spec = new FileSendSpec
        {
            Path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path),
            Destination = Destination,
            Template = Template,
            Mode = Mode is null ? null : (UnixFileMode)Convert.ToInt32(Mode, 8),
            Variables = Variable is null ? null : EngineValue.FromDictionary(Variable),
            ThrottleLimit = ThrottleLimit,
            Timeout = MyInvocation.BoundParameters.ContainsKey(nameof(TimeoutSec)) ? TimeSpan.FromSeconds(TimeoutSec) : null,
            Sudo = Sudo,
        };
        HostOperationLifecycle.Run(this, new AgentFileSender().Operation(spec), journal: true, spec.Path);
    }
}
