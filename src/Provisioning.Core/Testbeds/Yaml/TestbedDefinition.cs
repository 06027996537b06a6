namespace Provisioning.Core.Testbeds.Yaml;

/// <summary>A testbed file after validation, before any machine or folder exists.</summary>
internal sealed record TestbedDefinition(
    string? Name,
    string? StateDirectory,
    ConnectionSettings Defaults,
    VariableDictionary DefaultVariables,
    IReadOnlyList<HostDefinition> Hosts,
    IReadOnlyList<RoleDefinition> Roles)
{
    /// <summary>For <c>provider: slurm</c>: what to ask the scheduler for (the testbed has no hosts of its own then).</summary>
    public SlurmRequest? Slurm { get; init; }
}

/// <summary>A testbed file's <c>slurm:</c> section, and its roles as node counts in the written order.</summary>
internal sealed record SlurmRequest(int Nodes, string? Partition, string? TimeLimit, string? Account, string? Constraint, string? JobId,
    IReadOnlyList<KeyValuePair<string, int>> Roles);

/// <summary>One host after range expansion; <see cref="Settings"/> holds only what the host itself sets.</summary>
internal sealed record HostDefinition(string Name, string Address, ConnectionSettings Settings, VariableDictionary Variables);

/// <summary>A role and its hosts (canonical host names, in the order the file lists them, without repeats).</summary>
internal sealed record RoleDefinition(string Name, IReadOnlyList<string> Hosts);
