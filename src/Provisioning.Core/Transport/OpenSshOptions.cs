namespace Provisioning.Core.Transport;

/// <summary>Settings of <see cref="OpenSshTransport"/>.</summary>
public sealed class OpenSshOptions
{
    /// <summary>The ssh client to run.</summary>
    public string SshPath { get; init; } = "ssh";
    /// <summary>
    /// Folder of the ControlMaster sockets (ControlPath is <c>folder/%C</c>). Unix socket paths are limited to
    /// 108 bytes, so keep it short.
    /// </summary>
    public required string ControlDirectory { get; init; }
    /// <summary>How long an idle master connection stays open.</summary>
    public TimeSpan ControlPersist { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>ssh ConnectTimeout.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>An ssh_config file to use instead of ~/.ssh/config (ssh -F); null keeps the user's.</summary>
    public string? ConfigFile { get; init; }
    /// <summary>Extra <c>-o</c> options, for example a provider's KexAlgorithms choice.</summary>
    public IReadOnlyList<string> ExtraOptions { get; init; } = Array.Empty<string>();

    /// <summary>A short per-user, per-testbed socket folder under /tmp (kept short for the 108-byte limit).</summary>
    public static string DefaultControlDirectory(string testbedId) =>
        Path.Combine(Path.GetTempPath(), $"prov-{Environment.UserName}", testbedId);
}
