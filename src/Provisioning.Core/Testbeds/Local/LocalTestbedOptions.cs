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
    /// <summary>
    /// What each agent shares with this machine. Null: a private root and PID namespace where this machine allows it
    /// (root on Linux, with overlayfs), else shared, with the reason in the testbed's <see cref="Testbed.ProviderNotes"/>.
    /// <see cref="LocalIsolation.Private"/> where it cannot work is an error that says why.
    /// </summary>
    public LocalIsolation? Isolation { get; init; }
    /// <summary>The agents' network: this machine's, or one of the testbed's own with no route out.</summary>
    public LocalNetwork Network { get; init; } = LocalNetwork.Host;
    /// <summary>The transport of every agent (New-Testbed -Transport); null: <c>PROVISIONING_TRANSPORT</c>, else auto.</summary>
    public Transport.TransportKind? Transport { get; init; }

    /// <summary>sshd to run instead of the one found on this machine (tests).</summary>
    internal string? SshdPath { get; init; }
    /// <summary>ssh-keygen to run instead of the one found on this machine (tests).</summary>
    internal string? SshKeygenPath { get; init; }
    /// <summary>Null: namespaces when available; false: never; true: required (tests).</summary>
    internal bool? UseNamespaces { get; init; }
    /// <summary>How long to wait for every agent to listen; null scales with <see cref="Count"/>.</summary>
    internal TimeSpan? StartTimeout { get; init; }
}
