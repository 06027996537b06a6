using System.Management.Automation;
using Provisioning.Core.Packages;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Lists the packages installed on agent machines (apt, pip and npm), one round trip per machine.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "AgentPackage")]
[OutputType(typeof(InstalledPackage))]
public sealed class GetAgentPackageCommand : AgentPackageCmdlet
{
    /// <summary>Package names; wildcards allowed. Every package when omitted.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = ["*"];

    /// <summary>Only this manager; every manager the machine has when omitted.</summary>
    [Parameter]
    [ValidateSet(Apt, Pip, Npm)]
    public string? Manager { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var spec = new PackageQuerySpec { Names = Name, Manager = Manager is null ? null : ManagerOf(Manager), ThrottleLimit = ThrottleLimit };
        HostOperationLifecycle.Run(this, AgentPackages.Get(spec), journal: false);
    }
}
