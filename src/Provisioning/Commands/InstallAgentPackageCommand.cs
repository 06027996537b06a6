using System.Management.Automation;
using Provisioning.Completion;
using Provisioning.Core.Packages;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Installs apt, pip or npm packages on agent machines, from their own repositories or, with no internet on the agents, from the controller's cache.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Install, "AgentPackage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = NameSet)]
[OutputType(typeof(PackageResult))]
public sealed class InstallAgentPackageCommand : AgentPackageChangeCmdlet
{
    private const string NameSet = "Name";
    private const string PathSet = "Path";

    /// <summary>Packages: <c>name</c>, <c>name=version</c> (apt), <c>name==version</c> (pip) or <c>name@version</c> (npm).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet)]
    [ArgumentCompleter(typeof(PackageNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    /// <summary>Local package files to install instead of names: .deb, .whl or .tgz, all of one manager.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    /// <summary>The package manager: apt (the default), pip or npm. With -Path, the files' extension decides.</summary>
    [Parameter]
    [ValidateSet(Apt, Pip, Npm)]
    public string? Manager { get; set; }

    /// <summary>The version for names given without one.</summary>
    [Parameter(ParameterSetName = NameSet)]
    [ValidateNotNullOrEmpty]
    public string? Version { get; set; }

    /// <summary>Where the files come from: Auto (the agent's repositories when a quick probe reaches them, the controller otherwise), Agent or Controller.</summary>
    [Parameter(ParameterSetName = NameSet)]
    [ValidateSet(nameof(PackageSource.Auto), nameof(PackageSource.Agent), nameof(PackageSource.Controller))]
    public string Source { get; set; } = nameof(PackageSource.Auto);

    /// <summary>The controller's package cache (a folder with a manifest.json); ~/.cache/provisioning/packages when omitted.</summary>
    [Parameter(ParameterSetName = NameSet)]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var check = WhatIfRequested;
        var spec = new PackageInstallSpec
        {
            Names = Name,
            Paths = Path.Select(ResolvePath).ToArray(),
            Manager = Manager is null ? null : ManagerOf(Manager),
            Version = Version,
            Source = Enum.Parse<PackageSource>(Source, ignoreCase: true),
            CachePath = CachePath is null ? null : ResolvePath(CachePath),
            LockTimeout = LockTimeout,
            Timeout = Timeout,
            Check = check,
            Sudo = Sudo,
            ThrottleLimit = ThrottleLimit,
        };
        HostOperationLifecycle.Run(this, InvokeEngine(() => AgentPackages.Install(spec), ParameterSetName == PathSet ? string.Join(", ", Path) : string.Join(", ", Name)),
            journal: true, checkMode: check);
    }
}
