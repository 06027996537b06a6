using System.Management.Automation;
using Provisioning.Core.Packages;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Removes apt, pip or npm packages from agent machines; packages that are not installed are reported AlreadyAbsent.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Uninstall, "AgentPackage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(PackageResult))]
public sealed class UninstallAgentPackageCommand : AgentPackageChangeCmdlet
{
    /// <summary>The packages to remove.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    /// <summary>The package manager: apt (the default), pip or npm.</summary>
    [Parameter]
    [ValidateSet(Apt, Pip, Npm)]
    public string Manager { get; set; } = Apt;

    /// <summary>apt: remove the packages' configuration files too (apt-get purge).</summary>
    [Parameter]
    public SwitchParameter Purge { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var check = WhatIfRequested;
        var spec = new PackageRemoveSpec
        {
            Names = Name,
            Manager = ManagerOf(Manager),
            Purge = Purge,
            LockTimeout = LockTimeout,
            Timeout = Timeout,
            Check = check,
            Sudo = Sudo,
            ThrottleLimit = ThrottleLimit,
        };
        HostOperationLifecycle.Run(this, InvokeEngine(() => AgentPackages.Uninstall(spec), string.Join(", ", Name)), journal: true, checkMode: check);
    }
}
