using System.Management.Automation;
using Provisioning.Binding;
using Provisioning.Completion;
using Provisioning.Core.Execution;
using Provisioning.Core.Testbeds;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>What Install-, Uninstall-, Save- and Get-AgentPackage share: the machines and the throttle limit.</summary>
public abstract class AgentPackageCmdlet : HostOperationCmdlet
{
    /// <summary>The managers -Manager takes.</summary>
    protected const string Apt = "apt", Pip = "pip", Npm = "npm";

    /// <summary>The machines, usually piped from Get-AgentMachine (machine names also work).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Machine")]
    [AgentMachineTransformation]
    [ArgumentCompleter(typeof(AgentMachineNameCompleter))]
    [ValidateNotNull]
    public AgentMachine[] InputObject { get; set; } = [];

    /// <summary>How many machines are worked on at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = FanOut.DefaultThrottleLimit;

    /// <inheritdoc />
    protected override void ProcessRecord() => Collect(InputObject);

    /// <summary>A -Manager value as the engine's manager (the engine type stays out of public signatures).</summary>
    internal static Core.Packages.PackageManager ManagerOf(string value) => Enum.Parse<Core.Packages.PackageManager>(value, ignoreCase: true);

    /// <summary>A path the user gave, resolved against the session's location.</summary>
    internal string ResolvePath(string path) => GetUnresolvedProviderPathFromPSPath(path);
}
