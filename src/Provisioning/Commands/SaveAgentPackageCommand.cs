using System.Management.Automation;
using Provisioning.Completion;
using Provisioning.Core.Packages;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Fills the controller's package cache, while it is online, with packages and their dependencies as the piped machines resolve them, so later installs need no internet anywhere.</para>
/// </summary>
[Cmdlet(VerbsData.Save, "AgentPackage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(PackageResult))]
public sealed class SaveAgentPackageCommand : AgentPackageCmdlet
{
    /// <summary>Packages: <c>name</c>, <c>name=version</c> (apt), <c>name==version</c> (pip) or <c>name@version</c> (npm).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ArgumentCompleter(typeof(PackageNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    /// <summary>The package manager: apt (the default), pip or npm.</summary>
    [Parameter]
    [ValidateSet(Apt, Pip, Npm)]
    public string Manager { get; set; } = Apt;

    /// <summary>The version for names given without one.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Version { get; set; }

    /// <summary>The cache folder to fill; ~/.cache/provisioning/packages when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    /// <summary>The longest the host's resolution may take, in seconds.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int TimeoutSec { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var spec = new PackageSaveSpec
        {
            Names = Name,
            Manager = ManagerOf(Manager),
            Version = Version,
            CachePath = CachePath is null ? null : ResolvePath(CachePath),
            Timeout = MyInvocation.BoundParameters.ContainsKey(nameof(TimeoutSec)) ? TimeSpan.FromSeconds(TimeoutSec) : null,
            ThrottleLimit = ThrottleLimit,
        };
        HostOperationLifecycle.Run(this, InvokeEngine(() => AgentPackages.Save(spec), string.Join(", ", Name)), journal: true, errorTarget: CachePath);
    }
}
