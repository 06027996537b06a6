using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds.Yaml;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Testbeds;

/// <summary>
/// Loads a testbed from its YAML description (see README "Testbed file"):
/// <code>
/// name: lab                      # default: the file name without extension
/// state_dir: ./state             # default: see TestbedStateDirectory
/// defaults:
///   user: exp
///   port: 22
///   identity_file: ~/.ssh/id_ed25519
///   proxy_jump: gw.example.org
///   known_hosts: ./known_hosts
///   trust_new_host_keys: false
///   workdir: /tmp/exp
///   vars: { iface: eth0 }
/// hosts:
///   server: { address: 10.0.0.1, vars: { iface: eth1 } }
///   node[01-20]:                 # 20 hosts, each addressed by its name (ssh_config aliases work)
///   gpu[1-2]:
///     address: 10.0.1.[1-2]      # one address per host, in order
///     port: 2222
/// roles:
///   servers: server
///   clients: ["node[01-20]", "gpu[1-2]"]   # inside [ ] or { }, YAML needs ranges quoted
/// </code>
/// </summary>
/// <remarks>
/// <para>Host settings override <c>defaults</c>. <c>vars</c> merge key by key (the host wins; a nested value is
/// replaced whole) and every machine gets its own copy. <c>~</c> in identity_file, known_hosts and state_dir is
/// $HOME, and relative paths resolve against the file's folder. A key set to nothing (<c>user:</c>) is unset.</para>
/// <para>A range key naming several hosts takes either no address or an address range of the same length; one
/// address for several hosts is an error. A single host's address is never expanded. Host and role names cannot
/// contain the characters host patterns use (<c>: , ! &amp; * ? [ ] ~</c>) or whitespace, nor be <c>all</c>. A
/// role may share its name with a host; a pattern naming it then selects both. Roles list their hosts in the
/// order written, without repeats; machines keep file order.</para>
/// <para>Variables: mappings become case-insensitive <see cref="VariableDictionary"/>s, sequences
/// <c>List&lt;object?&gt;</c>. Plain scalars become bool (<c>true</c>/<c>false</c>), long, double or null
/// (<c>~</c>, <c>null</c>, nothing) by the YAML 1.2 core schema, except that a number whose text would not come
/// back unchanged (<c>1.10</c>, <c>0755</c>, <c>2.0</c>, <c>1e3</c>) stays a string, because variables end up in
/// templates. Quoted scalars and <c>!!str</c> stay strings; <c>!!int</c>, <c>!!float</c>, <c>!!bool</c> force a
/// type. <c>yes</c>/<c>no</c> are strings (YAML 1.1 booleans are not). Anchors and aliases work; merge keys
/// (<c>&lt;&lt;</c>) are refused.</para>
/// </remarks>
public static class TestbedLoader
{
    /// <summary>
    /// Reads and validates <paramref name="path"/>. Throws <see cref="Errors.TestbedFormatException"/> (file, line,
    /// column, key) for bad YAML, unknown keys, duplicate hosts, roles naming unknown hosts, bad ports and bad ranges,
    /// and <see cref="Errors.ProvisioningException"/> with <see cref="Errors.ErrorKind.LocalPathNotFound"/> for a missing file.
    /// Nothing is returned half-loaded.
    /// </summary>
    public static Testbed Load(string path) => Load(path, stateRoot: null);

    /// <summary><see cref="Load(string)"/> with every host on <paramref name="transport"/> (New-Testbed -Transport); null keeps the file's.</summary>
    public static Testbed Load(string path, TransportKind? transport) => Load(path, stateRoot: null, transport);

    /// <summary>Parses YAML text; <paramref name="sourceName"/> is used in error messages and as SourcePath.
    /// Relative paths in the text resolve against the folder of <paramref name="sourceName"/> (or the current directory).</summary>
    public static Testbed Parse(string yaml, string sourceName) => Parse(yaml, sourceName, stateRoot: null);

    /// <summary>
    /// <see cref="Load(string, TransportKind?)"/> for any file, including one with <c>provider: slurm</c>, whose nodes are
    /// allocated (and waited for, until <paramref name="cancellationToken"/> is cancelled) by <see cref="Slurm.SlurmProvider"/>;
    /// <paramref name="progress"/> receives the allocation's status lines.
    /// </summary>
    public static async Task<Testbed> LoadAsync(string path, TransportKind? transport, Action<string>? progress, CancellationToken cancellationToken)
    {
        var (yaml, fullPath) = ReadFile(path);
        var baseDirectory = Path.GetDirectoryName(fullPath)!;
        var definition = new TestbedFileReader(fullPath, baseDirectory).Read(yaml);
        if (definition.Slurm is null) return Build(definition, fullPath, fullPath, null, transport);
        return await StartSlurmAsync(definition, fullPath, transport, progress, cancellationToken).ConfigureAwait(false);
    }

    private static Task<Testbed> StartSlurmAsync(TestbedDefinition definition, string sourcePath, TransportKind? transport, Action<string>? progress,
        CancellationToken cancellationToken)
    {
        var request = definition.Slurm!;
        if (transport is not null)
            throw new ArgumentException($"-Transport does not apply to '{sourcePath}': a testbed with 'provider: slurm' reaches its nodes through srun.", nameof(transport));
        var roles = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var (role, count) in request.Roles) roles[role] = count;
        return Slurm.SlurmProvider.StartAsync(new Slurm.SlurmTestbedOptions
        {
            Nodes = request.Nodes,
            Partition = request.Partition,
            TimeLimit = request.TimeLimit,
            Account = request.Account,
            Constraint = request.Constraint,
            JobId = request.JobId,
            Roles = roles,
            Name = definition.Name ?? DefaultName(sourcePath),
            StateDirectory = definition.StateDirectory,
            Variables = definition.DefaultVariables,
            SourcePath = sourcePath,
            Progress = progress,
        }, cancellationToken);
    }

    /// <summary><see cref="Load(string)"/> with the default state folders under <paramref name="stateRoot"/> (tests).</summary>
    internal static Testbed Load(string path, string? stateRoot, TransportKind? transport = null)
    {
        var (yaml, fullPath) = ReadFile(path);
        return Build(yaml, fullPath, fullPath, Path.GetDirectoryName(fullPath)!, stateRoot, transport);
    }

    private static (string Yaml, string FullPath) ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = Path.GetFullPath(path);
        if (Directory.Exists(fullPath))
            throw new ProvisioningException(ErrorKind.LocalPathNotFound, $"The testbed file '{fullPath}' is a directory; give the path of a YAML file.", fullPath);
        string yaml;
        try
        {
            yaml = File.ReadAllText(fullPath);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ProvisioningException(ErrorKind.LocalPathNotFound, $"The testbed file '{fullPath}' does not exist.", fullPath, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new ProvisioningException(ErrorKind.PermissionDenied, $"The testbed file '{fullPath}' cannot be read: {ex.Message}", fullPath, ex);
        }
        return (yaml, fullPath);
    }

    /// <summary><see cref="Parse(string, string)"/> with the default state folders under <paramref name="stateRoot"/> (tests).</summary>
    internal static Testbed Parse(string yaml, string sourceName, string? stateRoot)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentException.ThrowIfNullOrEmpty(sourceName);
        var baseDirectory = Path.GetDirectoryName(Path.GetFullPath(sourceName)) ?? Environment.CurrentDirectory;
        return Build(yaml, sourceName, sourceName, baseDirectory, stateRoot);
    }

    private static Testbed Build(string yaml, string file, string sourcePath, string baseDirectory, string? stateRoot, TransportKind? transport = null)
    {
        var definition = new TestbedFileReader(file, baseDirectory).Read(yaml);
        if (definition.Slurm is not null)
        {
            // A Slurm testbed waits for its allocation; only the asynchronous path can be cancelled while it does.
            return StartSlurmAsync(definition, sourcePath, transport, null, CancellationToken.None).GetAwaiter().GetResult();
        }
        return Build(definition, file, sourcePath, stateRoot, transport);
    }

    private static Testbed Build(TestbedDefinition definition, string file, string sourcePath, string? stateRoot, TransportKind? transport)
    {

        var name = definition.Name ?? DefaultName(file);
        var stateDirectory = definition.StateDirectory
            ?? TestbedStateDirectory.For(file, name, stateRoot ?? TestbedStateDirectory.Root);

        var machines = new List<AgentMachine>(definition.Hosts.Count);
        foreach (var host in definition.Hosts)
        {
            var roles = definition.Roles.Where(r => r.Hosts.Contains(host.Name, StringComparer.Ordinal)).Select(r => r.Name);
            machines.Add(new AgentMachine(host.Name, host.Address, machines.Count, roles, host.Settings.Over(definition.Defaults), MergeVariables(definition.DefaultVariables, host.Variables)));
        }
        var roleMap = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var role in definition.Roles) roleMap[role.Name] = role.Hosts;

        // Last, once everything is valid: a bad file leaves nothing behind.
        CreateStateDirectory(stateDirectory);
        return new Testbed(name, ProviderName, stateDirectory, machines, roleMap, NewTransport(transport), sourcePath: sourcePath);
    }

    /// <summary>The <see cref="Testbed.Provider"/> value of testbeds loaded from a file.</summary>
    public const string ProviderName = "Static";

    /// <summary>
    /// The transport of a testbed from a file: per host, SSH.NET or the system OpenSSH client (with the user's
    /// ~/.ssh/config, and master sockets in a short folder of the testbed's own under /tmp); see <see cref="TransportRouter"/>.
    /// </summary>
    public static ISshTransport NewTransport(TransportKind? transport = null) =>
        new TransportRouter(new OpenSshTransport(new OpenSshOptions { ControlDirectory = OpenSshOptions.DefaultControlDirectory(Guid.NewGuid().ToString("N")[..12]) }),
            new TransportRouterOptions { Override = transport });

    /// <summary>Defaults first, then the host's own values over them; every machine gets its own deep copy.</summary>
    private static VariableDictionary MergeVariables(VariableDictionary defaults, VariableDictionary host)
    {
        var merged = VariableCopy.Deep(defaults);
        foreach (var (key, value) in host) merged[key] = VariableCopy.Deep(value);
        return merged;
    }

    private static string DefaultName(string file) =>
        Path.GetFileNameWithoutExtension(file) is { Length: > 0 } name ? name : "testbed";

    private static void CreateStateDirectory(string stateDirectory)
    {
        try
        {
            Directory.CreateDirectory(stateDirectory);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new ProvisioningException(ErrorKind.PermissionDenied, $"The testbed state folder '{stateDirectory}' cannot be created: {ex.Message}", stateDirectory, ex);
        }
        catch (IOException ex)
        {
            throw new ProvisioningException(ErrorKind.LocalPathNotFound, $"The testbed state folder '{stateDirectory}' cannot be created: {ex.Message}", stateDirectory, ex);
        }
    }
}
