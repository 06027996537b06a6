using System.Management.Automation;
using Provisioning.Core.Packages;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Removes apt, pip or npm packages from agent machines; packages that are not installed are reported AlreadyAbsent.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Uninstall, "AgentPackage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(PackageResult))]
public sealed class UninstallAgentPackageCommand : AgentPackageCmdlet
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

    /// <summary>How long to wait, in seconds, for a package database another apt holds.</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int LockTimeoutSec { get; set; } = 120;

    /// <summary>The longest the removal may take on one machine, in seconds.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int TimeoutSec { get; set; }

    /// <summary>Runs the package manager through sudo.</summary>
    [Parameter]
    public SwitchParameter Sudo { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var check = WhatIfRequested;
        var spec = new PackageRemoveSpec
        {
            Names = Name,
            Manager = ManagerOf(Manager),
            Purge = Purge,
            LockTimeout = TimeSpan.FromSeconds(LockTimeoutSec),
            Timeout = MyInvocation.BoundParameters.ContainsKey(nameof(TimeoutSec)) ? TimeSpan.FromSeconds(TimeoutSec) : null,
            Check = check,
            Sudo = Sudo,
            ThrottleLimit = ThrottleLimit,
        };
        HostOperationLifecycle.Run(this, InvokeEngine(() => AgentPackages.Uninstall(spec), string.Join(", ", Name)), journal: true, checkMode: check);
    }
}
