using System.Collections;
using System.Management.Automation;
using Provisioning.Binding;
using Provisioning.Completion;
using Provisioning.Core.Execution;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;
using Provisioning.Errors;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Runs a templated shell command (or a local script) on agent machines in parallel over SSH.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "RemoteCommand", DefaultParameterSetName = CommandSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(RemoteCommandResult))]
public sealed class InvokeRemoteCommandCommand : HostOperationCmdlet
{
    private const string CommandSet = "Command";
    private const string ScriptSet = "Script";

    /// <summary>The command template (POSIX shell) run on each host, with <c>{{ }}</c> placeholders.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = CommandSet)]
    [ValidateNotNullOrEmpty]
    public string Command { get; set; } = "";

    /// <summary>A local script sent to each host over standard input (rendered as a template first).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ScriptSet)]
    [ValidateNotNullOrEmpty]
    public string ScriptPath { get; set; } = "";

    /// <summary>The machines to run on, usually piped from Get-AgentMachine (machine names also work).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Machine")]
    [AgentMachineTransformation]
    [ArgumentCompleter(typeof(AgentMachineNameCompleter))]
    [ValidateNotNull]
    public AgentMachine[] InputObject { get; set; } = [];

    /// <summary>Extra template variables; values may be objects (<c>{{ server.address }}</c>) or machines.</summary>
    [Parameter]
    [ValidateNotNull]
    public Hashtable? Variable { get; set; }

    /// <summary>How many hosts run at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = FanOut.DefaultThrottleLimit;

    /// <summary>Kills a host's command (and its process group) after this many seconds.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int TimeoutSec { get; set; }

    /// <summary>Runs the command through <c>sudo -n</c> (no password prompt).</summary>
    [Parameter]
    public SwitchParameter Sudo { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord() => Collect(InputObject);

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (CollectedMachines.Count == 0)
        {
            WriteVerbose("No agent machine was given; nothing to run.");
            return;
        }
        HostOperationLifecycle.Run(this, new RemoteCommandRunner().Operation(BuildSpec()), journal: true);
    }

    private RemoteCommandSpec BuildSpec()
    {
        var variables = Variable is null ? null : EngineValue.FromDictionary(Variable);
        var timeout = MyInvocation.BoundParameters.ContainsKey(nameof(TimeoutSec)) ? TimeSpan.FromSeconds(TimeoutSec) : (TimeSpan?)null;
        if (ParameterSetName == CommandSet)
            return new RemoteCommandSpec { Command = Command, Variables = variables, ThrottleLimit = ThrottleLimit, Timeout = timeout, Sudo = Sudo };

        var path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(ScriptPath);
        if (!File.Exists(path))
            throw TerminatingError(ErrorRecordFactory.Create(ErrorKind.LocalPathNotFound, $"Script '{path}' does not exist.", path));
        string script;
        try
        {
            script = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw TerminatingError(ErrorRecordFactory.FromException(ex, path));
        }
        return new RemoteCommandSpec { Script = script, ScriptName = path, Variables = variables, ThrottleLimit = ThrottleLimit, Timeout = timeout, Sudo = Sudo };
    }
}
