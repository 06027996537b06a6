using System.Text.RegularExpressions;
using Provisioning.Core.Testbeds;

namespace Provisioning.Benchmarks;

/// <summary>
/// How a peer tool reaches one agent: the same address, port, user, key and known_hosts the engine uses,
/// under an alias that is safe in ssh_config, a pssh hosts file, a ClusterShell node set and an Ansible inventory.
/// </summary>
/// <param name="Alias">Host alias in the generated ssh_config.</param>
/// <param name="Address">Address to connect to.</param>
/// <param name="Port">TCP port.</param>
/// <param name="User">Login user, or null for ssh's default.</param>
/// <param name="IdentityFile">Private key, or null for ssh's default keys.</param>
/// <param name="KnownHostsFile">known_hosts file, or null for the user's.</param>
/// <param name="TrustNewHostKeys">Accept unknown host keys (accept-new) instead of strict checking.</param>
internal sealed partial record AgentEndpoint(
    string Alias, string Address, int Port, string? User, string? IdentityFile, string? KnownHostsFile, bool TrustNewHostKeys)
{
    /// <summary>The peers' view of an engine machine.</summary>
    public static AgentEndpoint From(AgentMachine machine) => new(
        SafeAlias().IsMatch(machine.Name) ? machine.Name : $"host-{machine.Index + 1}",
        machine.Address,
        machine.Port,
        machine.User,
        machine.Connection.IdentityFile,
        machine.Connection.KnownHostsFile,
        machine.Connection.TrustNewHostKeys ?? false);

    // Letters, digits, dot, dash, underscore: nothing that ssh_config patterns, NodeSet or YAML treat specially.
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex SafeAlias();
}
