using System.Runtime.CompilerServices;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Transport;

/// <summary>How a provider wants its testbed's transports chosen.</summary>
public sealed class TransportRouterOptions
{
    /// <summary><c>-Transport</c> on New-Testbed: overrides every host's <c>transport:</c>. Null: each host's own.</summary>
    public TransportKind? Override { get; init; }
    /// <summary>
    /// Ask <c>ssh -G</c> what ~/.ssh/config says for each host (testbeds from files). False when the provider wrote
    /// the whole client configuration itself (Local testbeds), so there is nothing to learn from it.
    /// </summary>
    public bool ReadClientConfig { get; init; } = true;
    /// <summary>Set when the provider knows that only OpenSSH can reach its hosts (offline agents behind nsenter).</summary>
    public string? OpenSshOnlyReason { get; init; }
    /// <summary>Settings of the in-process transport.</summary>
    public SshNetOptions SshNet { get; init; } = new();
}

/// <summary>
/// The transport of a testbed: chooses, once per host, between the in-process SSH.NET client and the system OpenSSH
/// client (<c>transport: auto|sshnet|openssh</c>), and sends each call to the one chosen. <c>auto</c> takes SSH.NET
/// when it can do all that OpenSSH would for the host: a key it can read, no ProxyCommand, jumps only through hosts
/// it can serve too, and no <c>@cert-authority</c> line; otherwise OpenSSH, and <see cref="Choice"/> says why.
/// </summary>
public sealed class TransportRouter : ISshTransport
{
    private readonly OpenSshTransport _openSsh;
    private readonly SshNetTransport _sshNet;
    private readonly TransportRouterOptions _options;
    private readonly ConditionalWeakTable<AgentMachine, Decision> _decisions = new();

    private sealed record Decision(TransportChoice Choice, SshNetEndpoint? Endpoint, string? Refusal);

    /// <summary>Routes between <paramref name="openSsh"/> and a new SSH.NET transport.</summary>
    public TransportRouter(OpenSshTransport openSsh, TransportRouterOptions? options = null)
    {
        _openSsh = openSsh;
        _options = options ?? new TransportRouterOptions();
        _sshNet = new SshNetTransport(EndpointOf, _options.SshNet);
    }

    /// <summary>The OpenSSH side (its options, ControlPath).</summary>
    public OpenSshTransport OpenSsh => _openSsh;

    /// <summary>The SSH.NET side.</summary>
    public SshNetTransport SshNet => _sshNet;

    /// <summary>The transport the machine uses, and why.</summary>
    public TransportChoice Choice(AgentMachine machine) => DecisionFor(machine).Choice;

    private Decision DecisionFor(AgentMachine machine) => _decisions.GetValue(machine, Decide);

    private SshNetEndpoint EndpointOf(AgentMachine machine) =>
        DecisionFor(machine).Endpoint ?? throw new InvalidOperationException($"{machine.Name} is not served by SSH.NET.");

    private ISshTransport For(AgentMachine machine) => DecisionFor(machine).Choice.Kind == TransportKind.SshNet ? _sshNet : _openSsh;

    private Decision Decide(AgentMachine machine)
    {
        var requested = _options.Override ?? machine.Connection.Transport ?? EnvironmentDefault() ?? TransportKind.Auto;
        if (requested == TransportKind.OpenSsh) return new(new(TransportKind.OpenSsh, "transport: openssh"), null, null);
        string? whyNot = _options.OpenSshOnlyReason;
        SshNetEndpoint? endpoint = null;
        if (whyNot is null) (endpoint, whyNot) = TryEndpoint(machine, 0);
        if (endpoint is not null)
        {
            var reason = requested == TransportKind.SshNet ? "transport: sshnet" : "auto: SSH.NET can serve it (a readable key, no ProxyCommand)";
            return new(new(TransportKind.SshNet, reason), endpoint, null);
        }
        return requested == TransportKind.SshNet
            ? new(new(TransportKind.SshNet, $"transport: sshnet, which cannot serve it: {whyNot}"), null, whyNot)
            : new(new(TransportKind.OpenSsh, $"auto: {whyNot}"), null, null);
    }

    /// <summary>The name of the environment variable that sets the transport of hosts whose testbed does not say.</summary>
    public const string EnvironmentVariable = "PROVISIONING_TRANSPORT";

    /// <summary><c>PROVISIONING_TRANSPORT</c> (auto, sshnet or openssh), as a default below the testbed's own choice.</summary>
    internal static TransportKind? EnvironmentDefault() =>
        Environment.GetEnvironmentVariable(EnvironmentVariable)?.Trim().ToLowerInvariant() switch
        {
            "sshnet" or "ssh.net" => TransportKind.SshNet,
            "openssh" => TransportKind.OpenSsh,
            "auto" => TransportKind.Auto,
            _ => null,
        };

    /// <summary>How SSH.NET would reach the machine, or why it cannot.</summary>
    private (SshNetEndpoint? Endpoint, string? WhyNot) TryEndpoint(AgentMachine machine, int depth)
    {
        if (depth > 8) return (null, "the proxy_jump chain is longer than 8 hops, or loops");
        if (_openSsh.Options.ExtraOptions.Count > 0) return (null, "the provider passes extra ssh options");
        var config = _options.ReadClientConfig ? _openSsh.ClientConfig(machine) : null;
        string? First(string key) => config is not null && config.TryGetValue(key, out var values) && values.Count > 0 ? values[0] : null;
        var c = machine.Connection;

        var hop = OpenSshTransport.JumpHop(machine);
        if (hop is null && First("proxyjump") is { } configJump && configJump != "none")
            return (null, $"~/.ssh/config gives it a ProxyJump ({configJump})");
        if (hop is null && First("proxycommand") is { } proxyCommand && proxyCommand != "none")
            return (null, "it is reached through a ProxyCommand");
        SshNetEndpoint? jump = null;
        if (hop is not null)
        {
            var (hopEndpoint, hopWhyNot) = TryEndpoint(hop, depth + 1);
            if (hopEndpoint is null) return (null, $"its jump host {hop.Name} needs OpenSSH: {hopWhyNot}");
            jump = hopEndpoint;
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string Expand(string path) => path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(home, path[2..]) : path;

        var candidates = c.IdentityFile is { } identity
            ? new[] { identity }
            : config is not null && config.TryGetValue("identityfile", out var files)
                ? files.Select(Expand).ToArray()
                : new[] { "~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa" }.Select(Expand).ToArray();
        var identities = new List<(string, string?)>();
        string? unreadable = null;
        foreach (var file in candidates.Where(File.Exists))
        {
            if (!KeyLoads(file)) { unreadable ??= file; continue; }
            var certificate = First("certificatefile") is { } cert && cert != "none" && File.Exists(Expand(cert)) ? Expand(cert)
                : File.Exists(file + "-cert.pub") ? file + "-cert.pub" : null;
            identities.Add((file, certificate));
        }
        if (identities.Count == 0)
        {
            return (null, unreadable is not null
                ? $"its key {unreadable} needs a passphrase, an agent or a FIDO device"
                : "it has no key file (an agent's keys are used through OpenSSH)");
        }

        var host = First("hostname") ?? machine.Address;
        var port = c.Port ?? (int.TryParse(First("port"), out var configured) ? configured : 22);
        var user = c.User ?? First("user") ?? Environment.UserName;
        IReadOnlyList<string> knownHosts;
        if (c.KnownHostsFile is { } testbedKnownHosts)
        {
            // As on the OpenSSH path: a jump host outside the testbed may be known only to the user.
            knownHosts = machine.Index < 0
                ? [testbedKnownHosts, Expand("~/.ssh/known_hosts"), Expand("~/.ssh/known_hosts2")]
                : [testbedKnownHosts];
        }
        else if (config is not null && config.TryGetValue("userknownhostsfile", out var user1))
        {
            var global = config.TryGetValue("globalknownhostsfile", out var g) ? g : [];
            knownHosts = user1.Concat(global).SelectMany(v => v.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(Expand).ToArray();
        }
        else
        {
            knownHosts = [Expand("~/.ssh/known_hosts"), Expand("~/.ssh/known_hosts2"), "/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"];
        }
        var endpoint = new SshNetEndpoint
        {
            Name = machine.Index < 0 ? machine.Name : machine.Name,
            Host = host,
            Port = port,
            User = user,
            Identities = identities,
            KnownHostsFiles = knownHosts,
            TrustNewHostKeys = c.TrustNewHostKeys == true,
            FastKeyExchange = c.FastKeyExchange == true,
            Jump = jump,
        };
        if (KnownHosts.Read(knownHosts).HasCertificateAuthorityFor(endpoint.LookupName))
            return (null, "a @cert-authority line names it, and only OpenSSH checks host certificates");
        return (endpoint, null);
    }

    private static bool KeyLoads(string file)
    {
        try
        {
            using var key = new Renci.SshNet.PrivateKeyFile(file);
            return true;
        }
        catch (Exception ex) when (ex is Renci.SshNet.Common.SshException or IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException or NotSupportedException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async Task<ConnectionCheck> ConnectAsync(AgentMachine machine, CancellationToken cancellationToken)
    {
        if (DecisionFor(machine).Refusal is { } refusal)
            return new ConnectionCheck { Reachable = false, FailureKind = ErrorKind.TransportUnavailable, FailureMessage = RefusalMessage(machine, refusal) };
        return await For(machine).ConnectAsync(machine, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<RemoteExecution> ExecuteAsync(AgentMachine machine, RemoteExecutionRequest request, CancellationToken cancellationToken)
    {
        if (DecisionFor(machine).Refusal is { } refusal)
        {
            return new RemoteExecution
            {
                Outcome = ExecutionOutcome.ConnectionFailed,
                StartTime = DateTimeOffset.Now,
                FailureKind = ErrorKind.TransportUnavailable,
                FailureMessage = RefusalMessage(machine, refusal),
            };
        }
        return await For(machine).ExecuteAsync(machine, request, cancellationToken).ConfigureAwait(false);
    }

    private static string RefusalMessage(AgentMachine machine, string refusal) =>
        $"{machine.Name}: transport: sshnet cannot serve this host: {refusal}. Use transport: auto or openssh for it.";

    /// <inheritdoc />
    public int EffectivePort(AgentMachine machine) =>
        DecisionFor(machine).Endpoint is { } endpoint ? endpoint.Port : _openSsh.EffectivePort(machine);

    /// <inheritdoc />
    public async Task CloseAsync(AgentMachine machine, CancellationToken cancellationToken) =>
        await For(machine).CloseAsync(machine, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task CloseAllAsync(CancellationToken cancellationToken) =>
        await Task.WhenAll(_sshNet.CloseAllAsync(cancellationToken), _openSsh.CloseAllAsync(cancellationToken)).ConfigureAwait(false);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => new(CloseAllAsync(CancellationToken.None));
}
