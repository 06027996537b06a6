using Provisioning.Core.Execution;

namespace Provisioning.Core.Packages;

/// <summary>What Install-AgentPackage asks for.</summary>
public sealed class PackageInstallSpec
{
    /// <summary>Package names: <c>name</c>, <c>name=version</c> (apt), <c>name==version</c> (pip), <c>name@version</c> (npm).</summary>
    public IReadOnlyList<string> Names { get; init; } = [];
    /// <summary>Local package files (.deb, .whl, .tgz), full paths, installed instead of names.</summary>
    public IReadOnlyList<string> Paths { get; init; } = [];
    /// <summary>The manager; null takes it from the files' extensions, or apt.</summary>
    public PackageManager? Manager { get; init; }
    /// <summary>The version for names given without one.</summary>
    public string? Version { get; init; }
    /// <summary>Where the files come from.</summary>
    public PackageSource Source { get; init; } = PackageSource.Auto;
    /// <summary>The controller's cache folder; null for <see cref="PackageCache.DefaultRoot"/>.</summary>
    public string? CachePath { get; init; }
    /// <summary>How long to wait for a package database another apt holds.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>The longest one round trip may take; null for none.</summary>
    public TimeSpan? Timeout { get; init; }
    /// <summary>Report what would be done (the agent's own dry run) and change nothing.</summary>
    public bool Check { get; init; }
    /// <summary>Run the manager through sudo.</summary>
    public bool Sudo { get; init; }
    /// <summary>Hosts worked on at once.</summary>
    public int ThrottleLimit { get; init; } = FanOut.DefaultThrottleLimit;
}

/// <summary>What Uninstall-AgentPackage asks for.</summary>
public sealed class PackageRemoveSpec
{
    /// <summary>Package names.</summary>
    public IReadOnlyList<string> Names { get; init; } = [];
    /// <summary>The manager.</summary>
    public PackageManager Manager { get; init; } = PackageManager.Apt;
    /// <summary>apt: remove configuration files too.</summary>
    public bool Purge { get; init; }
    /// <summary>How long to wait for a package database another apt holds.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>The longest one round trip may take; null for none.</summary>
    public TimeSpan? Timeout { get; init; }
    /// <summary>Report what would be removed and change nothing.</summary>
    public bool Check { get; init; }
    /// <summary>Run the manager through sudo.</summary>
    public bool Sudo { get; init; }
    /// <summary>Hosts worked on at once.</summary>
    public int ThrottleLimit { get; init; } = FanOut.DefaultThrottleLimit;
}

/// <summary>What Save-AgentPackage asks for.</summary>
public sealed class PackageSaveSpec
{
    /// <summary>Package names, as for <see cref="PackageInstallSpec.Names"/>.</summary>
    public IReadOnlyList<string> Names { get; init; } = [];
    /// <summary>The manager.</summary>
    public PackageManager Manager { get; init; } = PackageManager.Apt;
    /// <summary>The version for names given without one.</summary>
    public string? Version { get; init; }
    /// <summary>The controller's cache folder; null for <see cref="PackageCache.DefaultRoot"/>.</summary>
    public string? CachePath { get; init; }
    /// <summary>The longest one round trip may take; null for none.</summary>
    public TimeSpan? Timeout { get; init; }
    /// <summary>Hosts worked on at once.</summary>
    public int ThrottleLimit { get; init; } = FanOut.DefaultThrottleLimit;
}

/// <summary>What Get-AgentPackage asks for.</summary>
public sealed class PackageQuerySpec
{
    /// <summary>Name patterns (<c>*</c>, <c>?</c>, <c>[...]</c>).</summary>
    public IReadOnlyList<string> Names { get; init; } = ["*"];
    /// <summary>Only this manager; null for every manager the host has.</summary>
    public PackageManager? Manager { get; init; }
    /// <summary>Hosts worked on at once.</summary>
    public int ThrottleLimit { get; init; } = FanOut.DefaultThrottleLimit;
}
