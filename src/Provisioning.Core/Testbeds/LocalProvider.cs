namespace Provisioning.Core.Testbeds;

/// <summary>Options of <see cref="LocalProvider.StartAsync"/>.</summary>
public sealed class LocalTestbedOptions
{
    /// <summary>Number of agents (sshd daemons) to start.</summary>
    public int Count { get; init; } = 4;
    /// <summary>Role name to number of agents, assigned in order (server = 1, client = 3: agent-1 is the server).</summary>
    public IReadOnlyDictionary<string, int>? Roles { get; init; }
    /// <summary>Testbed name; generated when null.</summary>
    public string? Name { get; init; }
    /// <summary>Where keys, configs and agent folders go; a new temp folder when null.</summary>
    public string? StateDirectory { get; init; }
}

/// <summary>
/// Starts real OpenSSH sshd agents on loopback addresses (127.0.x.y), each with its own host key, port,
/// working directory, a generated client key and known_hosts (strict host key checking, no trust on first use).
/// </summary>
public static class LocalProvider
{
    /// <summary>Starts the agents and returns a testbed whose removal stops them and deletes their state.</summary>
    public static Task<Testbed> StartAsync(LocalTestbedOptions options, CancellationToken cancellationToken) => throw new NotImplementedException();
}
