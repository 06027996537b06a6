using System.Text;

namespace Provisioning.Benchmarks;

/// <summary>The first N agents as every peer tool wants them listed.</summary>
/// <param name="Agents">The agents.</param>
/// <param name="HostsFile">One alias a line (pssh -h, the floor scripts).</param>
/// <param name="InventoryFile">Ansible YAML inventory.</param>
internal sealed record PeerHosts(IReadOnlyList<AgentEndpoint> Agents, string HostsFile, string InventoryFile)
{
    /// <summary>Number of agents.</summary>
    public int Count => Agents.Count;
    /// <summary>Comma-separated aliases (clush -w).</summary>
    public string CommaList => string.Join(',', Agents.Select(a => a.Alias));
}

/// <summary>
/// A temporary folder with everything the peers need to reach the engine's agents exactly as the engine does:
/// an ssh_config (address, port, user, key, known_hosts, strict host keys, BatchMode, the transport's extra options),
/// hosts files, Ansible inventories and a tuned ansible.cfg, and the floor's bash loops. Also keeps the helper
/// master connections the floor and the copy/fetch checks run over.
/// </summary>
internal sealed class PeerWorkspace : IAsyncDisposable
{
    /// <summary>How long a helper or Ansible master connection lingers when idle (it is closed explicitly anyway).</summary>
    private const string Persist = "15m";

    private readonly IReadOnlyList<AgentEndpoint> _agents;

    private PeerWorkspace(string root, IReadOnlyList<AgentEndpoint> agents)
    {
        Root = root;
        _agents = agents;
        Directory.CreateDirectory(MasterDirectory);
        Directory.CreateDirectory(AnsibleControlDirectory);
        Directory.CreateDirectory(Path.Combine(root, "ansible-local"));
    }

    /// <summary>The folder (under /tmp: control socket paths must stay under 108 bytes).</summary>
    public string Root { get; }
    /// <summary>The generated ssh_config every peer is pointed at (ssh -F).</summary>
    public string SshConfig => Path.Combine(Root, "ssh_config");
    /// <summary>Sockets of the helper masters (the floor's warm connections).</summary>
    public string MasterDirectory => Path.Combine(Root, "cm");
    /// <summary>Ansible's control_path_dir.</summary>
    public string AnsibleControlDirectory => Path.Combine(Root, "acp");
    /// <summary>The tuned ansible.cfg.</summary>
    public string AnsibleConfig => Path.Combine(Root, "ansible.cfg");

    /// <summary>ssh options that reuse a helper master (never open one).</summary>
    public IReadOnlyList<string> OverMasterOptions =>
        ["-F", SshConfig, "-o", "ControlMaster=no", "-o", $"ControlPath={MasterDirectory}/%C"];

    /// <summary>Environment for every ansible run: the tuned config, no colours, no noise.</summary>
    public IReadOnlyDictionary<string, string> AnsibleEnvironment => new Dictionary<string, string>
    {
        ["ANSIBLE_CONFIG"] = AnsibleConfig,
        ["ANSIBLE_NOCOLOR"] = "1",
        ["ANSIBLE_FORCE_COLOR"] = "0",
        ["ANSIBLE_HOST_KEY_CHECKING"] = "True",
        ["ANSIBLE_DEPRECATION_WARNINGS"] = "False",
        ["ANSIBLE_LOCAL_TEMP"] = Path.Combine(Root, "ansible-local"),
    };

    /// <summary>Creates the folder and writes the configuration for <paramref name="agents"/>.</summary>
    public static PeerWorkspace Create(IReadOnlyList<AgentEndpoint> agents, IReadOnlyList<string> extraSshOptions, string? includedConfig)
    {
        var root = Directory.CreateTempSubdirectory("prov-bench-").FullName;
        var ws = new PeerWorkspace(root, agents);
        File.WriteAllText(ws.SshConfig, SshConfigText(agents, extraSshOptions, includedConfig));
        File.WriteAllText(ws.AnsibleConfig, ws.AnsibleConfigText());
        foreach (var (name, body) in FloorScripts) ws.WriteScript(name, body);
        return ws;
    }

    /// <summary>The first <paramref name="n"/> agents, with their hosts file and inventory written.</summary>
    public PeerHosts Hosts(int n)
    {
        if (n > _agents.Count) throw new InvalidOperationException($"{n} agents wanted, {_agents.Count} available.");
        var agents = _agents.Take(n).ToArray();
        var hostsFile = Path.Combine(Root, $"hosts-{n}.txt");
        var inventory = Path.Combine(Root, $"inventory-{n}.yml");
        File.WriteAllLines(hostsFile, agents.Select(a => a.Alias));
        var yaml = new StringBuilder("all:\n  hosts:\n");
        foreach (var a in agents) yaml.Append("    ").Append(a.Alias).Append(":\n");
        File.WriteAllText(inventory, yaml.ToString());
        return new PeerHosts(agents, hostsFile, inventory);
    }

    /// <summary>Path of a floor script (see <see cref="FloorScripts"/>); run it with /bin/bash.</summary>
    public string Script(string name) => Path.Combine(Root, name);

    /// <summary>Opens a helper master to every host that has none (untimed setup of the floor).</summary>
    public async Task OpenMastersAsync(PeerHosts hosts, CancellationToken ct)
    {
        var outcomes = await Task.WhenAll(hosts.Agents.Select(async a =>
        {
            string[] common = ["-F", SshConfig, "-o", $"ControlPath={MasterDirectory}/%C"];
            var check = await ExternalProcess.RunAsync("ssh", [.. common, "-O", "check", a.Alias], TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
            if (check.ExitCode == 0) return (a.Alias, (ProcessOutcome?)null);
            var open = await ExternalProcess.RunAsync("ssh",
                [.. common, "-o", "ControlMaster=yes", "-o", $"ControlPersist={Persist}", "-N", "-f", a.Alias],
                TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
            return (a.Alias, open.ExitCode == 0 ? null : open);
        })).ConfigureAwait(false);
        var failed = outcomes.Where(o => o.Item2 is not null).ToArray();
        if (failed.Length > 0)
            throw new VerificationException($"could not open master connections to {failed.Length} hosts; {failed[0].Alias}: {failed[0].Item2!.Describe()}");
    }

    /// <summary>Closes every helper master.</summary>
    public Task CloseMastersAsync(CancellationToken ct) => CloseSocketsAsync(MasterDirectory, ct);

    /// <summary>Closes the master connections Ansible's ControlPersist left behind (a cold start for Ansible).</summary>
    public Task CloseAnsibleMastersAsync(CancellationToken ct) => CloseSocketsAsync(AnsibleControlDirectory, ct);

    /// <summary>
    /// Runs <paramref name="command"/> on every host over the helper masters and returns each host's outcome.
    /// <paramref name="oneAtATime"/> serialises the hosts: agents that share a filesystem would otherwise race
    /// (two `rm -rf` of one folder fail each other).
    /// </summary>
    public async Task<IReadOnlyList<(AgentEndpoint Agent, ProcessOutcome Outcome)>> OnEachAsync(
        PeerHosts hosts, string command, CancellationToken ct, bool oneAtATime = false)
    {
        Task<ProcessOutcome> Run(AgentEndpoint a) =>
            ExternalProcess.RunAsync("ssh", [.. OverMasterOptions, a.Alias, command], TimeSpan.FromMinutes(2), ct);
        if (!oneAtATime)
            return await Task.WhenAll(hosts.Agents.Select(async a => (a, await Run(a).ConfigureAwait(false)))).ConfigureAwait(false);
        var outcomes = new List<(AgentEndpoint, ProcessOutcome)>();
        foreach (var a in hosts.Agents) outcomes.Add((a, await Run(a).ConfigureAwait(false)));
        return outcomes;
    }

    /// <summary>Like <see cref="OnEachAsync"/>, and throws unless every host exited 0.</summary>
    public async Task<IReadOnlyList<(AgentEndpoint Agent, ProcessOutcome Outcome)>> OnEachOrThrowAsync(
        PeerHosts hosts, string command, CancellationToken ct, bool oneAtATime = false)
    {
        var outcomes = await OnEachAsync(hosts, command, ct, oneAtATime).ConfigureAwait(false);
        var bad = outcomes.FirstOrDefault(o => o.Outcome.ExitCode != 0);
        if (bad.Outcome is not null)
            throw new VerificationException($"helper command failed on {bad.Agent.Alias}: {bad.Outcome.Describe()}");
        return outcomes;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await CloseAnsibleMastersAsync(CancellationToken.None).ConfigureAwait(false);
        await CloseMastersAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A socket of a master that is still exiting; /tmp is cleaned eventually.
        }
    }

    private static async Task CloseSocketsAsync(string directory, CancellationToken ct)
    {
        if (!Directory.Exists(directory)) return;
        await Task.WhenAll(Directory.EnumerateFileSystemEntries(directory).Select(async socket =>
        {
            // -O exit needs some destination; the socket decides which master answers.
            await ExternalProcess.RunAsync("ssh", ["-F", "/dev/null", "-o", $"ControlPath={socket}", "-O", "exit", "placeholder"],
                TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
            File.Delete(socket);
        })).ConfigureAwait(false);
    }

    private static string SshConfigText(IReadOnlyList<AgentEndpoint> agents, IReadOnlyList<string> extraSshOptions, string? includedConfig)
    {
        var s = new StringBuilder("# generated by Provisioning.Benchmarks: the agents exactly as the engine reaches them\n");
        foreach (var a in agents)
        {
            s.Append("Host ").Append(a.Alias).Append('\n');
            s.Append("    HostName ").Append(a.Address).Append('\n');
            s.Append("    Port ").Append(a.Port).Append('\n');
            if (a.User is not null) s.Append("    User ").Append(Quote(a.User)).Append('\n');
            if (a.IdentityFile is not null)
                s.Append("    IdentityFile ").Append(Quote(a.IdentityFile)).Append("\n    IdentitiesOnly yes\n");
            if (a.KnownHostsFile is not null) s.Append("    UserKnownHostsFile ").Append(Quote(a.KnownHostsFile)).Append('\n');
            s.Append("    StrictHostKeyChecking ").Append(a.TrustNewHostKeys ? "accept-new" : "yes").Append('\n');
        }
        // No multiplexing unless a command line asks for it (-o beats the file): whether a peer reuses connections is
        // what each row of the table is about, and an included config must not turn it on behind our back.
        s.Append("Host *\n    BatchMode yes\n    LogLevel ERROR\n    ControlMaster no\n    ControlPath none\n");
        // The transport's own choices (for example KexAlgorithms), so peers pay the same key exchange.
        foreach (var o in extraSshOptions.Where(o => !o.StartsWith("Control", StringComparison.OrdinalIgnoreCase)))
            s.Append("    ").Append(o).Append('\n');
        // Then whatever the engine's ssh reads (first value wins in ssh_config, so the lines above take precedence).
        if (includedConfig is not null) s.Append("Include ").Append(Quote(includedConfig)).Append('\n');
        return s.ToString();
    }

    private static string Quote(string value) => value.Contains(' ') ? $"\"{value}\"" : value;

    private string AnsibleConfigText() => $"""
        # Tuned as an Ansible user would for speed: pipelining, persistent masters, no fact gathering, free strategy.
        [defaults]
        strategy = free
        gathering = explicit
        host_key_checking = True
        interpreter_python = auto_silent
        retry_files_enabled = False
        deprecation_warnings = False

        [ssh_connection]
        pipelining = True
        ssh_args = -F {SshConfig} -o ControlMaster=auto -o ControlPersist={Persist}
        control_path_dir = {AnsibleControlDirectory}

        """;

    private void WriteScript(string name, string loopBody)
    {
        var path = Script(name);
        File.WriteAllText(path, $$"""
            #!/usr/bin/env bash
            # {{name}}: one background ssh per host over the warm helper masters, then wait for all (the floor).
            # usage: bash {{name}} HOSTS_FILE [ARG...]
            set -u -o pipefail
            o=(-F {{SshConfig}} -o ControlMaster=no -o ControlPath={{MasterDirectory}}/%C)
            mapfile -t hosts <"$1"   # not a while-read loop: ssh would eat the list from stdin
            shift
            pids=()
            for h in "${hosts[@]}"; do
                {{loopBody}} &
                pids+=($!)
            done
            rc=0
            for p in "${pids[@]}"; do wait "$p" || rc=1; done
            exit $rc

            """);
    }

    /// <summary>The floor scripts: name and the per-host body of the loop ($h is the host, $1.. the arguments).</summary>
    private static readonly (string Name, string Body)[] FloorScripts =
    [
        // `hostname` on every host.
        ("floor-cmd.sh", """ssh -n "${o[@]}" "$h" hostname"""),
        // Push $1 to remote path $2 with scp (SFTP protocol in OpenSSH 9).
        ("floor-scp.sh", """scp -q "${o[@]}" "$1" "$h:$2" """),
        // Push $1 to remote path $2 as a plain stream.
        ("floor-cat.sh", """ssh "${o[@]}" "$h" "cat >$2" <"$1" """),
        // Fetch remote directory $1 into $2/<host>/ as one tar stream.
        ("floor-tar.sh", """{ mkdir -p "$2/$h" && ssh -n "${o[@]}" "$h" "tar -C $1 -cf - ." | tar -C "$2/$h" -xf -; }"""),
    ];
}
