namespace Provisioning.Core.Testbeds.Local;

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

    /// <summary>sshd to run instead of the one found on this machine (tests).</summary>
    internal string? SshdPath { get; init; }
    /// <summary>ssh-keygen to run instead of the one found on this machine (tests).</summary>
    internal string? SshKeygenPath { get; init; }
    /// <summary>Null: namespaces when available; false: never; true: required (tests).</summary>
    internal bool? UseNamespaces { get; init; }
    /// <summary>How long to wait for every agent to listen; null scales with <see cref="Count"/>.</summary>
    internal TimeSpan? StartTimeout { get; init; }
}
