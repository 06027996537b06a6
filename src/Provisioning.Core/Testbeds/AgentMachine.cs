namespace Provisioning.Core.Testbeds;

/// <summary>
/// One host of a testbed. The same instance flows down the pipeline, so variables set on it are seen by
/// every later command of the session.
/// </summary>
public sealed class AgentMachine
{
    /// <summary>Creates a machine. <paramref name="connection"/> already has the testbed defaults merged in.</summary>
    public AgentMachine(string name, string address, int index, IEnumerable<string> roles, ConnectionSettings connection, VariableDictionary? variables = null)
    {
        Name = name;
        Address = address;
        Index = index;
        Roles = roles.Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        Connection = connection;
        Variables = variables ?? new VariableDictionary();
    }

    /// <summary>The host's name in the testbed (also its ssh alias when no address is given).</summary>
    public string Name { get; }
    /// <summary>Address or ssh alias to connect to.</summary>
    public string Address { get; }
    /// <summary>
    /// The port ssh connects to: the testbed's, or when the testbed leaves it unset, the one the transport's client
    /// configuration decides (<c>~/.ssh/config</c>), else 22.
    /// </summary>
    public int Port => Connection.Port ?? Testbed?.Transport.EffectivePort(this) ?? 22;
    /// <summary>Where the host is reached, <c>address:port</c>, for messages.</summary>
    public string Endpoint => $"{Address}:{Port}";
    /// <summary>The login user, or null when ~/.ssh/config or the current user decides.</summary>
    public string? User => Connection.User;
    /// <summary>Roles (groups) this host belongs to.</summary>
    public IReadOnlyList<string> Roles { get; internal set; }
    /// <summary>Host variables, used by templates. Case-insensitive.</summary>
    public VariableDictionary Variables { get; }
    /// <summary>0-based position of the host in its testbed.</summary>
    public int Index { get; }
    /// <summary>The testbed this host belongs to (set when the testbed is built).</summary>
    public Testbed? Testbed { get; internal set; }
    /// <summary>Connection settings after the testbed defaults were applied.</summary>
    public ConnectionSettings Connection { get; }
    /// <summary>Remote directory commands start in, or null for the login directory.</summary>
    public string? WorkDir => Connection.WorkDir;
    /// <summary>The SSH client that reaches the host: <c>SshNet</c> (in process) or <c>OpenSsh</c> (the system client).</summary>
    public string Transport => TransportChoice?.Kind.ToString() ?? nameof(Core.Transport.TransportKind.OpenSsh);
    /// <summary>Why the host has that transport (what the testbed asked for, or what made <c>auto</c> choose).</summary>
    public string TransportReason => TransportChoice?.Reason ?? "the testbed's transport is the OpenSSH client";

    private Core.Transport.TransportChoice? TransportChoice => Testbed?.Transport.Choice(this);

    /// <summary>For a node of a Slurm testbed: its name, job and Slurm facts (CPUs, memory, features); null otherwise.</summary>
    public Slurm.SlurmNode? Slurm { get; init; }

    /// <summary>The host's facts, once gathered (Get-AgentFact, or provisioning that needs them); the session's cache.</summary>
    public Facts.AgentFacts? Facts { get; set; }

    /// <summary>True when the host has <paramref name="role"/> (case-insensitive).</summary>
    public bool HasRole(string role) => Roles.Contains(role, StringComparer.OrdinalIgnoreCase);

    /// <inheritdoc />
    public override string ToString() => Name;
}
