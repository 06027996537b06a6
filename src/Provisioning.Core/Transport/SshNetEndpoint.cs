namespace Provisioning.Core.Transport;

/// <summary>
/// Everything the in-process transport needs to reach one host, resolved once (from the testbed and, where an ssh
/// client exists, from <c>ssh -G</c>, so ~/.ssh/config decides what the testbed leaves unset).
/// </summary>
public sealed record SshNetEndpoint
{
    /// <summary>The host's name in messages (the testbed's name, or the jump's <c>user@host</c>).</summary>
    public required string Name { get; init; }
    /// <summary>The address or DNS name to connect to.</summary>
    public required string Host { get; init; }
    /// <summary>The TCP port.</summary>
    public required int Port { get; init; }
    /// <summary>The login user.</summary>
    public required string User { get; init; }
    /// <summary>Private keys that load without a passphrase, each with its OpenSSH certificate when one exists.</summary>
    public required IReadOnlyList<(string Key, string? Certificate)> Identities { get; init; }
    /// <summary>known_hosts files to check the host key against, in OpenSSH's order.</summary>
    public required IReadOnlyList<string> KnownHostsFiles { get; init; }
    /// <summary>Accept and append an unknown key (<c>trust_new_host_keys</c>, as StrictHostKeyChecking=accept-new).</summary>
    public bool TrustNewHostKeys { get; init; }
    /// <summary><c>kex: fast</c>: curve25519-sha256 only.</summary>
    public bool FastKeyExchange { get; init; }
    /// <summary>The hop the connection is carried through (a forwarded channel of its own connection), if any.</summary>
    public SshNetEndpoint? Jump { get; init; }

    /// <summary>The name known_hosts is searched for (<c>[host]:port</c> off port 22).</summary>
    public string LookupName => KnownHosts.LookupName(Host, Port);

    /// <summary>What identifies one connection: two machines with equal keys share it.</summary>
    public string ConnectionKey => $"{User}@{Host}:{Port}|{string.Join(",", Identities.Select(i => i.Key))}|{Jump?.ConnectionKey}";
}
