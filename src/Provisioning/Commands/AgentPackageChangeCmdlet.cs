using System.Management.Automation;

namespace Provisioning.Commands;

/// <summary>What Install- and Uninstall-AgentPackage share beyond the machines: the lock wait, the time limit and sudo.</summary>
public abstract class AgentPackageChangeCmdlet : AgentPackageCmdlet
{
    /// <summary>How long to wait, in seconds, for a package database another apt holds.</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int LockTimeoutSec { get; set; } = 120;

    /// <summary>The longest one round trip (the plan, or the transfer and the change) may take on one machine, in seconds.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int TimeoutSec { get; set; }

    /// <summary>Runs the package manager through sudo.</summary>
    [Parameter]
    public SwitchParameter Sudo { get; set; }

    /// <summary>-LockTimeoutSec as a time span.</summary>
    internal TimeSpan LockTimeout => TimeSpan.FromSeconds(LockTimeoutSec);

    /// <summary>-TimeoutSec as a time span; null when not given.</summary>
    internal TimeSpan? Timeout => MyInvocation.BoundParameters.ContainsKey(nameof(TimeoutSec)) ? TimeSpan.FromSeconds(TimeoutSec) : null;
}
