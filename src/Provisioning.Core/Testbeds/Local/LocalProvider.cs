using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Versioning;
using System.Text;
using Provisioning.Core.Errors;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Testbeds.Local;

/// <summary>
/// Starts real OpenSSH sshd agents on loopback addresses (127.0.x.y), each with its own host key, port,
/// working directory, a generated client key and known_hosts (strict host key checking, no trust on first use).
/// </summary>
/// <remarks>
/// Agents are named agent-1..agent-N and log in as the current user with the generated key only. As root,
/// where the kernel allows it, each agent also runs in its own UTS and mount namespaces: its hostname is its
/// name and the login user's home is a clean per-agent folder (so a slow ~/.bashrc on this machine does not
/// slow every command). State layout: <c>id_ed25519</c>, <c>known_hosts</c>, <c>ssh_config</c>,
/// <c>cm/</c> (control sockets) and <c>agents/&lt;name&gt;/{sshd_config, sshd.log, work/, home/}</c>.
/// </remarks>
public static class LocalProvider
{
    /// <summary>The <see cref="Testbed.Provider"/> value of Local testbeds.</summary>
    public const string ProviderName = "Local";
    /// <summary>Largest <see cref="LocalTestbedOptions.Count"/> accepted.</summary>
    public const int MaxCount = 10_000;

    // Unix socket paths hold 107 bytes; ssh binds "<ControlPath>.<16 random chars>" before renaming it to
    // "<dir>/<40 hex of %C>", so the folder may take at most 107 - 58 bytes.
    private const int MaxControlDirectoryBytes = 49;

    [SupportedOSPlatform("linux")]
    private static readonly ConditionalWeakTable<Testbed, LocalTestbedLifetime> Lifetimes = new();

    /// <summary>Starts the agents and returns a testbed whose removal stops them and deletes their state.</summary>
    /// <exception cref="ArgumentException">Count is out of range, or the roles ask for more agents than Count.</exception>
    /// <exception cref="ProvisioningException">
    /// <see cref="ErrorKind.DependencyMissing"/> when sshd or ssh-keygen is not installed;
    /// <see cref="ErrorKind.ProviderFailed"/> when an agent does not start (the message quotes its sshd log).
    /// </exception>
    public static async Task<Testbed> StartAsync(LocalTestbedOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!OperatingSystem.IsLinux())
        {
            throw new ProvisioningException(ErrorKind.DependencyMissing,
                "The Local provider runs sshd agents on Linux loopback addresses and needs Linux; describe remote machines in a testbed YAML file instead.");
        }
        var roleOf = AssignRoles(options.Count, options.Roles);
        var tools = OpenSshTools.Locate(options.SshdPath, options.SshKeygenPath);
        var account = LoginAccount.Current();

        var (stateDirectory, createdState) = PrepareStateDirectory(options.StateDirectory);
        var lifetime = new LocalTestbedLifetime(stateDirectory);
        try
        {
            var testbed = await StartCoreAsync(options, roleOf, tools, account, stateDirectory, createdState, lifetime, cancellationToken)
                .ConfigureAwait(false);
            Lifetimes.AddOrUpdate(testbed, lifetime);
            return testbed;
        }
        catch (Exception e)
        {
            lifetime.Stop();
            if (e is ProvisioningException or OperationCanceledException or ArgumentException) throw;
            throw new ProvisioningException(ErrorKind.ProviderFailed, $"The Local testbed could not start: {e.Message}", stateDirectory, e);
        }
    }

    /// <summary>The agents' owner behind a Local testbed, or null for other testbeds (tests, fault injection).</summary>
    [SupportedOSPlatform("linux")]
    internal static LocalTestbedLifetime? LifetimeOf(Testbed testbed) => Lifetimes.TryGetValue(testbed, out var l) ? l : null;

    [SupportedOSPlatform("linux")]
    private static async Task<Testbed> StartCoreAsync(
        LocalTestbedOptions options,
        IReadOnlyList<string[]> roleOf,
        OpenSshTools tools,
        LoginAccount account,
        string state,
        bool createdState,
        LocalTestbedLifetime lifetime,
        CancellationToken cancellationToken)
    {
        var files = new StateFiles(state);
        if (createdState) lifetime.Own(state);
        else foreach (var path in files.All) lifetime.Own(path);
        var controlDirectory = CreateControlDirectory(files.ControlDirectory, lifetime);

        var reservation = LoopbackReservation.Reserve(options.Count);
        lifetime.Hold(reservation);
        var offline = options.Network == LocalNetwork.Offline;
        var launcher = SshdLauncher.Create(tools, account, state, files.AuthorizedKeys, options.UseNamespaces, options.Isolation, offline);
        lifetime.Isolated = launcher.Isolated;
        lifetime.Isolation = launcher.Isolation;
        var agents = LayOutAgents(options.Count, reservation, files, launcher);
        OfflineNetwork? network = null;
        if (offline)
        {
            network = OfflineNetwork.Create(state);
            lifetime.Hold(network);
        }

        // ed25519 keys are cheap; ssh-keygen's process start dominates, so run a few at a time.
        var keys = agents.Select(a => (Path: a.HostKeyPath, Comment: a.Name)).Prepend((Path: files.ClientKey, Comment: "provisioning-local-client"));
        await Parallel.ForEachAsync(keys,
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(2, Environment.ProcessorCount * 2), CancellationToken = cancellationToken },
            async (key, ct) => await tools.GenerateKeyAsync(key.Path, key.Comment, ct).ConfigureAwait(false)).ConfigureAwait(false);

        const UnixFileMode private600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        const UnixFileMode public644 = private600 | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        WriteFile(files.AuthorizedKeys, File.ReadAllText(files.ClientKey + ".pub").Trim() + "\n", private600);
        WriteFile(files.KnownHosts, KnownHosts(agents), public644);
        WriteFile(files.SshConfig, network is null ? ClientConfig : ClientConfig + $"    ProxyCommand {network.ProxyCommand(SshdLauncher.FindProgram("nsenter")!)}\n", public644);
        foreach (var agent in agents)
            WriteFile(agent.ConfigPath, SshdConfig.Render(agent, account, files.AuthorizedKeys, tools.SshdVersion), public644);

        if (account.IsRoot) EnsurePrivilegeSeparationDirectory();
        cancellationToken.ThrowIfCancellationRequested();
        foreach (var agent in agents) lifetime.Started(agent, launcher.Start(agent, network));
        lifetime.ArmCrashGuard();
        await WaitListeningAsync(agents, options.StartTimeout ?? DefaultStartTimeout(options.Count), cancellationToken).ConfigureAwait(false);

        var machines = agents.Select((agent, i) => new AgentMachine(agent.Name, agent.Address, i, roleOf[i], new ConnectionSettings
        {
            Port = agent.Port,
            User = account.UserName,
            IdentityFile = files.ClientKey,
            KnownHostsFile = files.KnownHosts,
            TrustNewHostKeys = false,
            WorkDir = agent.WorkDirectory,
        })).ToArray();
        var roles = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (role, _) in options.Roles ?? new Dictionary<string, int>())
            roles[role] = machines.Where(m => m.HasRole(role)).Select(m => m.Name).ToArray();

        // The provider wrote the whole client configuration, so there is nothing for ssh -G to add; offline agents sit
        // in a network namespace that only nsenter's ProxyCommand reaches.
        var transport = new TransportRouter(new OpenSshTransport(new OpenSshOptions { ControlDirectory = controlDirectory, ConfigFile = files.SshConfig }),
            new TransportRouterOptions
            {
                Override = options.Transport,
                ReadClientConfig = false,
                OpenSshOnlyReason = network is null ? null : "offline agents are reached through nsenter (a ProxyCommand)",
            });
        var testbedName = options.Name ?? "local-" + Guid.NewGuid().ToString("N")[..6];
        var notes = launcher.FallbackReason is { } reason ? new[] { reason } : [];
        return new Testbed(testbedName, ProviderName, state, machines, roles, transport, sourcePath: null, lifetime, notes);
    }

    /// <summary>Where a Local testbed's generated files go in its state folder.</summary>
    private sealed record StateFiles(string State)
    {
        public string ClientKey => Path.Combine(State, "id_ed25519");
        public string AuthorizedKeys => Path.Combine(State, "authorized_keys");
        public string KnownHosts => Path.Combine(State, "known_hosts");
        public string SshConfig => Path.Combine(State, "ssh_config");
        public string AgentsDirectory => Path.Combine(State, "agents");
        public string ControlDirectory => Path.Combine(State, "cm");
        /// <summary>The agents' private roots (overlay layers), kept apart from the agent folders the agents see.</summary>
        public string RootsDirectory => Path.Combine(State, "roots");
        /// <summary>Everything the provider creates, deleted on removal when the folder itself is the user's.</summary>
        public IEnumerable<string> All => [AgentsDirectory, RootsDirectory, ClientKey, ClientKey + ".pub", AuthorizedKeys, KnownHosts, SshConfig, ControlDirectory];
    }

    [SupportedOSPlatform("linux")]
    private static string CreateControlDirectory(string preferred, LocalTestbedLifetime lifetime)
    {
        const UnixFileMode private700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        if (Encoding.UTF8.GetByteCount(preferred) <= MaxControlDirectoryBytes)
        {
            Directory.CreateDirectory(preferred, private700);
            return preferred;
        }
        // A long state path: keep the sockets in a short folder of their own (in /tmp if even TMPDIR is long).
        var parent = Path.GetTempPath();
        if (Encoding.UTF8.GetByteCount(parent) > MaxControlDirectoryBytes - 13) parent = "/tmp";
        var shortDirectory = Path.Combine(parent, "pcm-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(shortDirectory, private700);
        lifetime.Own(shortDirectory);
        return shortDirectory;
    }

    [SupportedOSPlatform("linux")]
    private static List<LocalAgent> LayOutAgents(int count, LoopbackReservation reservation, StateFiles files, SshdLauncher launcher)
    {
        var isolated = launcher.Isolated;
        var skeleton = isolated && Directory.Exists("/etc/skel") ? Directory.GetFiles("/etc/skel") : [];
        var agents = new List<LocalAgent>(count);
        for (var i = 0; i < count; i++)
        {
            var name = $"agent-{i + 1}";
            var agent = new LocalAgent(name, reservation.Addresses[i].ToString(), reservation.Port, Path.Combine(files.AgentsDirectory, name),
                Path.Combine(files.RootsDirectory, name))
            {
                PidInOwnNamespace = launcher.OwnPidNamespace ? 1 : null,
            };
            Directory.CreateDirectory(agent.WorkDirectory);
            if (isolated)
            {
                // The clean home mounted over the login user's: only the distribution's default dot files.
                Directory.CreateDirectory(agent.HomeDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                foreach (var file in skeleton) File.Copy(file, Path.Combine(agent.HomeDirectory, Path.GetFileName(file)));
            }
            agents.Add(agent);
        }
        return agents;
    }

    // Nothing host-specific: ssh -F with this file only keeps the user's ~/.ssh/config (and the system's
    // known hosts) from changing how the agents are reached; the transport passes the rest per machine.
    private const string ClientConfig = """
        # Generated by the Provisioning Local provider: used with ssh -F instead of ~/.ssh/config.
        Host *
            IdentitiesOnly yes
            GlobalKnownHostsFile /dev/null
            UpdateHostKeys no
            CheckHostIP no

        """;

    /// <summary>
    /// Validates the role counts and returns each agent's roles, assigned in the dictionary's order.
    /// </summary>
    internal static IReadOnlyList<string[]> AssignRoles(int count, IReadOnlyDictionary<string, int>? roles)
    {
        if (count < 1 || count > MaxCount)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"A Local testbed has 1 to {MaxCount} agents; {count} was asked for.");
        var result = Enumerable.Range(0, count).Select(_ => Array.Empty<string>()).ToArray();
        if (roles is null) return result;
        var next = 0;
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (role, n) in roles)
        {
            if (string.IsNullOrWhiteSpace(role)) throw new ArgumentException("A role name is empty.", nameof(roles));
            if (!seen.Add(role)) throw new ArgumentException($"Role '{role}' is given twice (role names are case-insensitive).", nameof(roles));
            if (n < 0) throw new ArgumentException($"Role '{role}' asks for {n} agents; a role count cannot be negative.", nameof(roles));
            next += n;
        }
        if (next > count)
        {
            var asked = string.Join(", ", roles.Select(r => $"{r.Key} = {r.Value}"));
            throw new ArgumentException(
                $"The roles ask for {next} agents ({asked}) but the testbed has {count}. Raise Count to at least {next} or lower the role counts.",
                nameof(roles));
        }
        next = 0;
        foreach (var (role, n) in roles)
        {
            for (var i = 0; i < n; i++, next++) result[next] = [role];
        }
        return result;
    }

    [SupportedOSPlatform("linux")]
    private static (string Path, bool Created) PrepareStateDirectory(string? requested)
    {
        if (requested is null) return (Directory.CreateTempSubdirectory("prov-").FullName, true);
        var path = Path.GetFullPath(requested);
        var created = !Directory.Exists(path);
        Directory.CreateDirectory(path);
        if (Directory.Exists(Path.Combine(path, "agents")))
        {
            throw new ProvisioningException(ErrorKind.ProviderFailed,
                $"The state folder '{path}' already holds a Local testbed's agents (an 'agents' folder). Remove that testbed first, or choose another folder.",
                path);
        }
        return (path, created);
    }

    [SupportedOSPlatform("linux")]
    private static string KnownHosts(IEnumerable<LocalAgent> agents)
    {
        var b = new StringBuilder();
        foreach (var agent in agents)
        {
            // "ssh-ed25519 AAAA... comment": keep the type and key only.
            var fields = File.ReadAllText(agent.HostKeyPath + ".pub").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            b.Append('[').Append(agent.Address).Append("]:").Append(agent.Port).Append(' ').Append(fields[0]).Append(' ').Append(fields[1]).Append('\n');
        }
        return b.ToString();
    }

    [SupportedOSPlatform("linux")]
    private static void WriteFile(string path, string content, UnixFileMode mode)
    {
        using var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = mode });
        var bytes = Encoding.UTF8.GetBytes(content);
        stream.Write(bytes);
    }

    // sshd running as root refuses to start without its privilege separation folder (/run is a tmpfs, so it
    // is missing after boot until the system's own sshd service creates it).
    [SupportedOSPlatform("linux")]
    private static void EnsurePrivilegeSeparationDirectory()
    {
        if (Directory.Exists("/run/sshd")) return;
        Directory.CreateDirectory("/run/sshd", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    private static TimeSpan DefaultStartTimeout(int count) => TimeSpan.FromSeconds(Math.Max(20, count * 0.2));

    [SupportedOSPlatform("linux")]
    private static async Task WaitListeningAsync(IReadOnlyList<LocalAgent> agents, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var pending = agents.ToList();
        var clock = Stopwatch.StartNew();
        var delay = 2;
        try
        {
            while (true)
            {
                pending.RemoveAll(a => a.IsListening());
                if (pending.Count == 0) return;
                if (clock.Elapsed > timeout)
                {
                    var first = pending[0];
                    throw new ProvisioningException(ErrorKind.ProviderFailed,
                        $"{pending.Count} of {agents.Count} Local agents were not listening after {timeout.TotalSeconds:0} s " +
                        $"({string.Join(", ", pending.Take(5).Select(a => a.Name))}{(pending.Count > 5 ? ", ..." : "")}). " +
                        $"Last lines of {first.LogPath}:{Environment.NewLine}{first.LogTail()}",
                        first.Name);
                }
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = Math.Min(delay * 2, 50);
            }
        }
        catch (AgentStartException e)
        {
            throw new ProvisioningException(ErrorKind.ProviderFailed,
                $"Local agent {e.Agent} failed to start: {e.Reason}. Last lines of {e.Agent.LogPath}:{Environment.NewLine}{e.Agent.LogTail()}",
                e.Agent.Name, e);
        }
    }
}
