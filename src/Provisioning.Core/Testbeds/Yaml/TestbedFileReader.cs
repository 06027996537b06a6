using Provisioning.Core.Errors;

namespace Provisioning.Core.Testbeds.Yaml;

/// <summary>
/// Validates a testbed file against its schema and turns it into a <see cref="TestbedDefinition"/>. Every
/// problem is a <see cref="TestbedFormatException"/> pointing at the offending node, with the key path
/// (<c>hosts.node1.port</c>) and, for unknown keys, the closest valid one.
/// </summary>
internal sealed class TestbedFileReader
{
    private static readonly string[] TopLevelKeys = ["name", "state_dir", "provider", "slurm", "defaults", "hosts", "roles"];
    private static readonly string[] SlurmKeys = ["nodes", "partition", "time_limit", "account", "constraint", "job_id"];
    private static readonly string[] SlurmDefaultsKeys = ["vars"];
    private static readonly string[] DefaultsKeys = ["user", "port", "identity_file", "proxy_jump", "known_hosts", "trust_new_host_keys", "workdir", "kex", "transport", "vars"];
    private static readonly string[] HostKeys = ["address", .. DefaultsKeys];

    /// <summary>Characters a host or role name cannot hold, because host patterns give them a meaning.</summary>
    private static readonly char[] PatternCharacters = [':', ',', '!', '&', '*', '?', '[', ']', '~'];

    private readonly string _file;
    private readonly string _baseDirectory;

    /// <param name="file">The file name errors are reported against.</param>
    /// <param name="baseDirectory">The folder relative local paths resolve against (the file's folder).</param>
    public TestbedFileReader(string file, string baseDirectory)
    {
        _file = file;
        _baseDirectory = baseDirectory;
    }

    /// <summary>Parses and validates <paramref name="yaml"/>.</summary>
    public TestbedDefinition Read(string yaml)
    {
        var root = YamlSourceReader.ReadSingleDocument(yaml, _file);
        if (root is null || root is YamlSourceScalar { IsNull: true })
            throw Fail(root, null, "the file is empty; a testbed file needs at least a 'hosts:' mapping.");
        if (root is not YamlSourceMapping rootMapping)
            throw Fail(root, null, $"a testbed file must be a mapping (name:, defaults:, hosts:, roles:), not {root.KindDescription}.");

        var top = Entries(rootMapping, "", TopLevelKeys);
        var name = top.TryGetValue("name", out var nameEntry) ? ReadString(nameEntry.Value, "name") : null;
        var stateDir = top.TryGetValue("state_dir", out var stateEntry) ? ReadLocalPath(stateEntry.Value, "state_dir") : null;

        var provider = top.TryGetValue("provider", out var providerEntry) ? ReadString(providerEntry.Value, "provider")?.ToLowerInvariant() : null;
        if (provider is not (null or "static" or "slurm"))
            throw Fail(providerEntry.Value, "provider", $"provider is 'static' (the hosts listed under 'hosts:') or 'slurm' (nodes allocated by Slurm), not '{provider}'.");
        if (provider == "slurm") return ReadSlurm(rootMapping, top, name, stateDir);
        if (top.TryGetValue("slurm", out var strayEntry))
            throw Fail(strayEntry.Key, "slurm", "'slurm:' describes an allocation, which only a testbed with 'provider: slurm' has.");

        var defaults = new ConnectionSettings();
        var defaultVariables = new VariableDictionary();
        if (top.TryGetValue("defaults", out var defaultsEntry) && AsMapping(defaultsEntry.Value, "defaults", "connection settings") is { } defaultsMapping)
        {
            (defaults, defaultVariables, _) = ReadSettings(defaultsMapping, "defaults", DefaultsKeys);
        }

        if (!top.TryGetValue("hosts", out var hostsEntry))
            throw Fail(rootMapping, "hosts", "the testbed has no 'hosts:' mapping; list at least one host.");
        var hosts = ReadHosts(hostsEntry);
        var roles = top.TryGetValue("roles", out var rolesEntry) ? ReadRoles(rolesEntry.Value, hosts) : [];

        return new TestbedDefinition(name, stateDir, defaults, defaultVariables, hosts, roles);
    }

    /// <summary>A testbed whose nodes come from a Slurm allocation: <c>slurm:</c> says what to ask for, roles are counts.</summary>
    private TestbedDefinition ReadSlurm(YamlSourceMapping root, Dictionary<string, (YamlSourceScalar Key, YamlSourceNode Value)> top, string? name, string? stateDir)
    {
        if (top.TryGetValue("hosts", out var hostsEntry))
            throw Fail(hostsEntry.Key, "hosts", "a testbed with 'provider: slurm' gets its hosts from the allocation; remove 'hosts:' and give 'slurm: { nodes: N }'.");
        if (!top.TryGetValue("slurm", out var slurmEntry) || AsMapping(slurmEntry.Value, "slurm", "allocation settings (nodes, partition, time_limit, ...)") is not { } mapping)
            throw Fail(root, "slurm", "'provider: slurm' needs a 'slurm:' mapping with 'nodes:' (a new allocation) or 'job_id:' (one that exists).");
        var entries = Entries(mapping, "slurm", SlurmKeys);
        string? Text(string key) => entries.TryGetValue(key, out var e) ? ReadString(e.Value, $"slurm.{key}") : null;
        int? nodes = entries.TryGetValue("nodes", out var nodesEntry)
            ? ReadCount(nodesEntry.Value, "slurm.nodes", 1, text => $"nodes is a whole number from 1 to {Slurm.SlurmProvider.MaxNodes}, not '{text}'.")
            : null;
        var jobId = Text("job_id");
        if (jobId is not null && !Slurm.SlurmProvider.JobIdRegex().IsMatch(jobId))
            throw Fail(entries["job_id"].Value, "slurm.job_id", $"job_id is a Slurm job id (digits), not '{jobId}'.");
        if (nodes is null == (jobId is null))
            throw Fail(mapping, "slurm", "give either 'nodes:' (a new allocation) or 'job_id:' (one that exists), not both and not neither.");

        var variables = new VariableDictionary();
        if (top.TryGetValue("defaults", out var defaultsEntry) && AsMapping(defaultsEntry.Value, "defaults", "defaults") is { } defaultsMapping)
            (_, variables, _) = ReadSettings(defaultsMapping, "defaults", SlurmDefaultsKeys);

        var roleCounts = new List<KeyValuePair<string, int>>();
        if (top.TryGetValue("roles", out var rolesEntry) && AsMapping(rolesEntry.Value, "roles", "role names and node counts") is { } rolesMapping)
        {
            foreach (var (keyNode, valueNode) in rolesMapping.Entries)
            {
                var key = HostOrRoleKey(keyNode, "roles", "role");
                var path = $"roles.{key.Value}";
                CheckName(key.Value, key, path, "role");
                var count = ReadCount(valueNode, path, 0, text => $"with 'provider: slurm', a role gives how many nodes have it (a whole number), not '{text}'.");
                if (roleCounts.Any(r => string.Equals(r.Key, key.Value, StringComparison.OrdinalIgnoreCase)))
                    throw Fail(key, path, $"role '{key.Value}' is defined twice (role names ignore case).");
                roleCounts.Add(new(key.Value, count));
            }
            if (nodes is { } n && roleCounts.Sum(r => r.Value) > n)
                throw Fail(rolesEntry.Value, "roles", $"the roles ask for {roleCounts.Sum(r => r.Value)} nodes but 'slurm.nodes' is {n}.");
        }

        var request = new SlurmRequest(nodes ?? 1, Text("partition"), Text("time_limit"), Text("account"), Text("constraint"), jobId, roleCounts);
        return new TestbedDefinition(name, stateDir, new ConnectionSettings(), variables, [], []) { Slurm = request };
    }

    /// <summary>A whole number from <paramref name="minimum"/> to the most nodes a Slurm testbed asks for, digits only.</summary>
    private int ReadCount(YamlSourceNode node, string path, int minimum, Func<string?, string> problem)
    {
        var text = ReadString(node, path);
        if (text is not null && text.Length <= 6 && text.All(char.IsAsciiDigit)
            && int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) is var count && count >= minimum && count <= Slurm.SlurmProvider.MaxNodes)
            return count;
        throw Fail(node, path, problem(text));
    }

    private List<HostDefinition> ReadHosts((YamlSourceScalar Key, YamlSourceNode Value) hostsEntry)
    {
        var hostsMapping = AsMapping(hostsEntry.Value, "hosts", "host names");
        if (hostsMapping is null || hostsMapping.Entries.Count == 0)
            throw Fail(hostsEntry.Value, "hosts", "'hosts:' is empty; list at least one host.");

        var hosts = new List<HostDefinition>();
        var firstSeen = new Dictionary<string, YamlSourceScalar>(StringComparer.OrdinalIgnoreCase);
        foreach (var (keyNode, valueNode) in hostsMapping.Entries)
        {
            var key = HostOrRoleKey(keyNode, "hosts", "host");
            var path = $"hosts.{key.Value}";
            var names = ExpandRange(key.Value, key, path);
            foreach (var hostName in names) CheckName(hostName, key, path, "host");

            var settings = new ConnectionSettings();
            var variables = new VariableDictionary();
            YamlSourceNode? addressNode = null;
            if (AsMapping(valueNode, path, "host settings (address, port, user, ...)") is { } settingsMapping)
            {
                (settings, variables, addressNode) = ReadSettings(settingsMapping, path, HostKeys);
            }
            var addresses = Addresses(names, addressNode, key, path);

            for (var i = 0; i < names.Count; i++)
            {
                if (firstSeen.TryGetValue(names[i], out var first))
                {
                    var origin = names.Count > 1 ? $" (from the range '{key.Value}')" : "";
                    throw Fail(key, path, $"host '{names[i]}'{origin} is defined twice; it is first defined at line {first.Start.Line}, column {first.Start.Column}.");
                }
                firstSeen[names[i]] = key;
                hosts.Add(new HostDefinition(names[i], addresses[i], settings, variables));
            }
        }
        return hosts;
    }

    /// <summary>
    /// Addresses for the hosts of one entry. For a range of several hosts, <c>address</c> is either absent (each
    /// host's name is its address) or a range of the same length (zipped in order); a single address for several
    /// hosts is an error, since several hosts on one address is almost always a mistake in the file.
    /// </summary>
    private IReadOnlyList<string> Addresses(IReadOnlyList<string> names, YamlSourceNode? addressNode, YamlSourceScalar key, string path)
    {
        var address = addressNode is null ? null : ReadString(addressNode, $"{path}.address");
        if (address is null) return names;
        // A single host's address is taken literally, so "[::1]" or an alias with brackets is never mangled.
        if (names.Count == 1) return [address];

        var addresses = ExpandRange(address, addressNode!, $"{path}.address");
        if (addresses.Count == 1)
            throw Fail(addressNode, $"{path}.address",
                $"'{key.Value}' names {names.Count} hosts but the address '{address}' is a single one; give a range of {names.Count} addresses (for example 10.0.0.[1-{names.Count}]) or leave address out.");
        if (addresses.Count != names.Count)
            throw Fail(addressNode, $"{path}.address",
                $"'{key.Value}' names {names.Count} hosts but the address range '{address}' gives {addresses.Count} addresses; they must match one to one.");
        return addresses;
    }

    private List<RoleDefinition> ReadRoles(YamlSourceNode rolesNode, IReadOnlyList<HostDefinition> hosts)
    {
        var rolesMapping = AsMapping(rolesNode, "roles", "role names");
        if (rolesMapping is null) return [];

        var hostNames = hosts.Select(h => h.Name).ToArray();
        var canonical = hostNames.ToDictionary(n => n, StringComparer.OrdinalIgnoreCase);
        var roles = new List<RoleDefinition>();
        var firstSeen = new Dictionary<string, YamlSourceScalar>(StringComparer.OrdinalIgnoreCase);
        foreach (var (keyNode, valueNode) in rolesMapping.Entries)
        {
            var key = HostOrRoleKey(keyNode, "roles", "role");
            var path = $"roles.{key.Value}";
            CheckName(key.Value, key, path, "role");
            if (firstSeen.TryGetValue(key.Value, out var first))
                throw Fail(key, path, $"role '{key.Value}' is defined twice; it is first defined at line {first.Start.Line}, column {first.Start.Column} (role names ignore case).");
            firstSeen[key.Value] = key;

            IReadOnlyList<YamlSourceNode> items = valueNode switch
            {
                YamlSourceScalar { IsNull: true } => [],
                YamlSourceScalar scalar => [scalar],
                YamlSourceSequence sequence => sequence.Items,
                _ => throw Fail(valueNode, path, $"a role lists host names or ranges (one, or a list), not {valueNode.KindDescription}."),
            };

            var members = new List<string>();
            foreach (var item in items)
            {
                if (item is not YamlSourceScalar { IsNull: false } entry)
                    throw Fail(item, path, $"a role lists host names or ranges, not {item.KindDescription}.");
                foreach (var hostName in ExpandRange(entry.Value, entry, path))
                {
                    if (!canonical.TryGetValue(hostName, out var known))
                        throw Fail(entry, path, $"role '{key.Value}' names the unknown host '{hostName}'{SpellingSuggestion.Hint(hostName, hostNames)}; roles can only name hosts listed under 'hosts:'.");
                    if (!members.Contains(known, StringComparer.Ordinal)) members.Add(known);
                }
            }
            roles.Add(new RoleDefinition(key.Value, members));
        }
        return roles;
    }

    /// <summary>Reads the keys shared by <c>defaults:</c> and each host; <c>address</c> is returned as a node (ranges need it).</summary>
    private (ConnectionSettings Settings, VariableDictionary Variables, YamlSourceNode? Address) ReadSettings(YamlSourceMapping mapping, string path, string[] allowedKeys)
    {
        var entries = Entries(mapping, path, allowedKeys);
        string Sub(string key) => $"{path}.{key}";
        YamlSourceNode? Node(string key) => entries.TryGetValue(key, out var e) ? e.Value : null;

        var settings = new ConnectionSettings
        {
            User = Node("user") is { } user ? ReadString(user, Sub("user")) : null,
            Port = Node("port") is { } port ? ReadPort(port, Sub("port")) : null,
            IdentityFile = Node("identity_file") is { } identity ? ReadLocalPath(identity, Sub("identity_file")) : null,
            ProxyJump = Node("proxy_jump") is { } jump ? ReadString(jump, Sub("proxy_jump")) : null,
            KnownHostsFile = Node("known_hosts") is { } knownHosts ? ReadLocalPath(knownHosts, Sub("known_hosts")) : null,
            TrustNewHostKeys = Node("trust_new_host_keys") is { } trust ? ReadBool(trust, Sub("trust_new_host_keys")) : null,
            WorkDir = Node("workdir") is { } workdir ? ReadString(workdir, Sub("workdir")) : null,
            FastKeyExchange = Node("kex") is { } kex ? ReadKex(kex, Sub("kex")) : null,
            Transport = Node("transport") is { } transport ? ReadTransport(transport, Sub("transport")) : null,
        };
        var variables = Node("vars") is { } vars && AsMapping(vars, Sub("vars"), "variables") is { } varsMapping
            ? YamlValueConverter.ToDictionary(varsMapping, Sub("vars"), _file)
            : new VariableDictionary();
        return (settings, variables, Node("address"));
    }

    /// <summary>
    /// The entries of a mapping whose keys are fixed words: each key must be one of <paramref name="allowedKeys"/>
    /// (case-sensitive, as YAML is) and appear once.
    /// </summary>
    private Dictionary<string, (YamlSourceScalar Key, YamlSourceNode Value)> Entries(YamlSourceMapping mapping, string path, string[] allowedKeys) =>
        YamlMappingKeys.Read(mapping, path, allowedKeys, Fail);

    /// <summary>The mapping under a key, or null when the key has no value (<c>defaults:</c> alone is allowed).</summary>
    private YamlSourceMapping? AsMapping(YamlSourceNode node, string path, string contents) => node switch
    {
        YamlSourceMapping mapping => mapping,
        YamlSourceScalar { IsNull: true } => null,
        _ => throw Fail(node, path, $"expected a mapping of {contents}, found {node.KindDescription}."),
    };

    private YamlSourceScalar HostOrRoleKey(YamlSourceNode keyNode, string path, string what) =>
        keyNode is YamlSourceScalar { IsNull: false } key && key.Value.Length > 0
            ? key
            : throw Fail(keyNode, path, $"a {what} name must be a non-empty word, not {keyNode.KindDescription}.");

    private void CheckName(string name, YamlSourceScalar key, string path, string what)
    {
        if (string.Equals(name, "all", StringComparison.OrdinalIgnoreCase))
            throw Fail(key, path, $"'{name}' cannot be a {what} name: host patterns use 'all' for every host.");
        var bad = name.FirstOrDefault(c => char.IsWhiteSpace(c) || char.IsControl(c) || PatternCharacters.Contains(c));
        if (bad != default)
            throw Fail(key, path, $"the {what} name '{name}' contains '{bad}', which host patterns give a meaning to; use letters, digits, '.', '-' and '_'.");
    }

    private IReadOnlyList<string> ExpandRange(string expression, YamlSourceNode node, string path)
    {
        try
        {
            return HostRange.Expand(expression);
        }
        catch (FormatException ex)
        {
            throw Fail(node, path, ex.Message);
        }
    }

    private string? ReadString(YamlSourceNode node, string path)
    {
        if (node is not YamlSourceScalar scalar)
            throw Fail(node, path, $"expected a single value, found {node.KindDescription}.");
        if (scalar.IsNull) return null;
        if (scalar.Value.Length == 0) throw Fail(node, path, "the value is empty; leave the key out instead.");
        return scalar.Value;
    }

    private int? ReadPort(YamlSourceNode node, string path)
    {
        var text = ReadString(node, path);
        if (text is null) return null;
        // Digits only: "22.0", "0x16" and "+22" are all typos for a port, not ports.
        if (text.Length <= 5 && text.All(char.IsAsciiDigit) && int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) is >= 1 and <= 65535 and var port)
            return port;
        throw Fail(node, path, $"a port is a whole number from 1 to 65535, not '{text}'.");
    }

    private bool? ReadBool(YamlSourceNode node, string path)
    {
        var text = ReadString(node, path);
        if (text is null) return null;
        return YamlValueConverter.ParseBool(text) ?? throw Fail(node, path, $"expected true or false, not '{text}'.");
    }

    private bool? ReadKex(YamlSourceNode node, string path) => ReadString(node, path) switch
    {
        null => null,
        "fast" => true,
        "default" => false,
        var other => throw Fail(node, path, $"kex is 'default' or 'fast' (curve25519-sha256 only, without post-quantum protection), not '{other}'."),
    };

    private Transport.TransportKind? ReadTransport(YamlSourceNode node, string path) => ReadString(node, path)?.ToLowerInvariant() switch
    {
        null => null,
        "auto" => Transport.TransportKind.Auto,
        "sshnet" or "ssh.net" => Transport.TransportKind.SshNet,
        "openssh" => Transport.TransportKind.OpenSsh,
        var other => throw Fail(node, path, $"transport is 'auto', 'sshnet' or 'openssh', not '{other}'."),
    };

    private string? ReadLocalPath(YamlSourceNode node, string path)
    {
        var text = ReadString(node, path);
        return text is null ? null : LocalPath.Resolve(text, _baseDirectory);
    }

    private TestbedFormatException Fail(YamlSourceNode? node, string? key, string problem) =>
        new(_file, node?.Start.Line ?? 1, node?.Start.Column ?? 1, key, problem);
}
