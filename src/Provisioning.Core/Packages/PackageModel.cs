using Provisioning.Core.Execution;

namespace Provisioning.Core.Packages;

/// <summary>The package managers Install-AgentPackage drives.</summary>
public enum PackageManager
{
    /// <summary>Debian and Ubuntu packages (apt-get, dpkg).</summary>
    Apt,
    /// <summary>Python packages (pip; the host variable <c>pip_executable</c> names a virtual environment's pip).</summary>
    Pip,
    /// <summary>Node packages installed globally (npm).</summary>
    Npm,
}

/// <summary>Where the package files come from.</summary>
public enum PackageSource
{
    /// <summary>The agent's own repositories when a quick probe reaches them, the controller otherwise.</summary>
    Auto,
    /// <summary>The agent's own repositories (it needs their network).</summary>
    Agent,
    /// <summary>The controller: its cache, filled from the network once when the controller is online, pushed over ssh.</summary>
    Controller,
}

/// <summary>What happened to one package on one host.</summary>
public enum PackageStatus
{
    /// <summary>Installed (or upgraded to the wanted version) by this call.</summary>
    Installed,
    /// <summary>Already installed at the wanted version: nothing was sent or run for it.</summary>
    AlreadyPresent,
    /// <summary>Removed by this call.</summary>
    Removed,
    /// <summary>Not installed, so there was nothing to remove.</summary>
    AlreadyAbsent,
    /// <summary>Put in the controller's cache (Save-AgentPackage).</summary>
    Saved,
    /// <summary>What -WhatIf found would be done (from the agent's own dry run).</summary>
    Planned,
    /// <summary>Not installed, not removed, or not saved; <see cref="HostOutcome.Error"/> says why.</summary>
    Failed,
}

/// <summary>One package on one host: the result of Install-, Uninstall- and Save-AgentPackage.</summary>
public sealed record PackageResult : HostOutcome
{
    /// <summary>The package's name (the host is <see cref="HostOutcome.Machine"/>).</summary>
    public new required string Name { get; init; }
    /// <summary>The manager that handled it.</summary>
    public required PackageManager Manager { get; init; }
    /// <summary>The version installed, present, removed or saved; null when unknown.</summary>
    public string? Version { get; init; }
    /// <summary>What happened to the package.</summary>
    public new required PackageStatus Status { get; init; }
    /// <summary>How the host's part ended (Succeeded, Failed, Unreachable...), as for every other result.</summary>
    public HostStatus HostStatus => base.Status;
    /// <summary>Where the files came from: the agent's repositories or the controller; null when nothing was needed.</summary>
    public PackageSource? Source { get; init; }
    /// <summary>Bytes pushed to the host for this package (its own files; shared dependencies count once, with the first package).</summary>
    public long BytesSent { get; init; }
    /// <summary>What the manager said, or what -WhatIf would do.</summary>
    public string Message { get; init; } = "";
    /// <summary>True when the host changed.</summary>
    public bool Changed => Status is PackageStatus.Installed or PackageStatus.Removed;

    /// <inheritdoc />
    public override string ToString() => $"{Machine.Name}: {Name} {Version} {Status}";
}

/// <summary>One package installed on one host (Get-AgentPackage).</summary>
public sealed record InstalledPackage : HostOutcome
{
    /// <summary>The package's name (the host is <see cref="HostOutcome.Machine"/>).</summary>
    public new required string Name { get; init; }
    /// <summary>Its installed version.</summary>
    public string Version { get; init; } = "";
    /// <summary>The manager that installed it.</summary>
    public required PackageManager Manager { get; init; }
    /// <summary>Its architecture (apt), or empty.</summary>
    public string Architecture { get; init; } = "";

    /// <inheritdoc />
    public override string ToString() => $"{Machine.Name}: {Name} {Version} ({Manager})";
}
