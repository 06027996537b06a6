using Provisioning.Core.Execution;

namespace Provisioning.Core.Facts;

/// <summary>What a host is: its OS, kernel, hardware, network, init system and package manager, gathered in one round trip.</summary>
public sealed record AgentFacts : HostOutcome
{
    /// <summary>The OS id (<c>debian</c>, <c>ubuntu</c>, <c>alpine</c>, <c>fedora</c>), from /etc/os-release.</summary>
    public string? OsId { get; init; }
    /// <summary>The OS version (<c>12</c>).</summary>
    public string? OsVersion { get; init; }
    /// <summary>The release codename (<c>bookworm</c>).</summary>
    public string? OsCodename { get; init; }
    /// <summary>The OS's pretty name.</summary>
    public string? OsName { get; init; }
    /// <summary>The kernel release.</summary>
    public string? Kernel { get; init; }
    /// <summary>The machine architecture (<c>x86_64</c>).</summary>
    public string? Architecture { get; init; }
    /// <summary>Online CPUs.</summary>
    public int CpuCount { get; init; }
    /// <summary>The CPU model name.</summary>
    public string? CpuModel { get; init; }
    /// <summary>Total memory in bytes.</summary>
    public long MemoryBytes { get; init; }
    /// <summary>The host's own hostname.</summary>
    public string? Hostname { get; init; }
    /// <summary>systemd, or the name of process 1.</summary>
    public string? InitSystem { get; init; }
    /// <summary>apt, dnf, yum, apk, zypper or pacman; null when none is found.</summary>
    public string? PackageManager { get; init; }
    /// <summary>Mounted file systems.</summary>
    public IReadOnlyList<AgentDisk> Disks { get; init; } = [];
    /// <summary>Network interfaces and their addresses.</summary>
    public IReadOnlyList<AgentInterface> Interfaces { get; init; } = [];

    /// <summary>The facts as templates see them: <c>{{ facts.os.id }}</c>, <c>{{ facts.cpu.count }}</c>, <c>{{ facts.memory_mb }}</c>.</summary>
    public IReadOnlyDictionary<string, object?> ToTemplateValue() => new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase)
    {
        ["os"] = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase) { ["id"] = OsId, ["version"] = OsVersion, ["codename"] = OsCodename, ["name"] = OsName },
        ["kernel"] = Kernel,
        ["architecture"] = Architecture,
        ["cpu"] = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase) { ["count"] = CpuCount, ["model"] = CpuModel },
        ["memory_mb"] = MemoryBytes / (1024 * 1024),
        ["hostname"] = Hostname,
        ["init"] = InitSystem,
        ["package_manager"] = PackageManager,
        ["interfaces"] = Interfaces.ToDictionary(i => i.Name, i => (object?)i.Addresses, StringComparer.OrdinalIgnoreCase),
    };

    /// <inheritdoc />
    public override string ToString() => $"{Machine.Name}: {OsName ?? OsId}, {Architecture}, {CpuCount} CPU, {MemoryBytes / (1024 * 1024)} MiB";
}

/// <summary>A mounted file system.</summary>
/// <param name="Mount">Where it is mounted.</param>
/// <param name="Device">Its device or source.</param>
/// <param name="SizeBytes">Its size.</param>
/// <param name="AvailableBytes">Its free space for the user.</param>
public sealed record AgentDisk(string Mount, string Device, long SizeBytes, long AvailableBytes);

/// <summary>A network interface.</summary>
/// <param name="Name">Its name (<c>eth0</c>).</param>
/// <param name="Addresses">Its addresses with prefix lengths (<c>10.0.0.2/24</c>).</param>
public sealed record AgentInterface(string Name, IReadOnlyList<string> Addresses);
