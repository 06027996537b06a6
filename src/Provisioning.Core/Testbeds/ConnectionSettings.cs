namespace Provisioning.Core.Testbeds;

/// <summary>
/// How to reach a host. Every member is optional: what is left null is not passed to ssh, so the
/// user's ~/.ssh/config decides it. Used for a testbed's <c>defaults:</c> and for each host's overrides.
/// </summary>
public sealed record ConnectionSettings
{
    /// <summary>Login user (ssh <c>-l</c>).</summary>
    public string? User { get; init; }
    /// <summary>TCP port (ssh <c>-p</c>).</summary>
    public int? Port { get; init; }
    /// <summary>Private key file (ssh <c>-i</c>, with IdentitiesOnly).</summary>
    public string? IdentityFile { get; init; }
    /// <summary>Jump host(s) (ssh <c>-J</c>).</summary>
    public string? ProxyJump { get; init; }
    /// <summary>known_hosts file to check host keys against (UserKnownHostsFile).</summary>
    public string? KnownHostsFile { get; init; }
    /// <summary>Accept and record an unknown host key on first use (StrictHostKeyChecking=accept-new).</summary>
    public bool? TrustNewHostKeys { get; init; }
    /// <summary>Remote directory commands start in.</summary>
    public string? WorkDir { get; init; }
    /// <summary>
    /// <c>kex: fast</c>: the key exchange is curve25519-sha256 only, which is cheaper for a cold fan-out on a lab's
    /// own network but gives up the post-quantum protection of OpenSSH's default (sntrup761x25519). Null or false: the
    /// client's default.
    /// </summary>
    public bool? FastKeyExchange { get; init; }
    /// <summary>
    /// <c>transport:</c> which SSH client reaches the host. Null means <see cref="Transport.TransportKind.Auto"/>: the
    /// in-process SSH.NET client where it can do everything OpenSSH would for that host, the OpenSSH client otherwise.
    /// </summary>
    public Transport.TransportKind? Transport { get; init; }

    /// <summary>Returns these settings with every null member taken from <paramref name="fallback"/>.</summary>
    public ConnectionSettings Over(ConnectionSettings fallback) => new()
    {
        User = User ?? fallback.User,
        Port = Port ?? fallback.Port,
        IdentityFile = IdentityFile ?? fallback.IdentityFile,
        ProxyJump = ProxyJump ?? fallback.ProxyJump,
        KnownHostsFile = KnownHostsFile ?? fallback.KnownHostsFile,
        TrustNewHostKeys = TrustNewHostKeys ?? fallback.TrustNewHostKeys,
        WorkDir = WorkDir ?? fallback.WorkDir,
        FastKeyExchange = FastKeyExchange ?? fallback.FastKeyExchange,
        Transport = Transport ?? fallback.Transport,
    };
}
