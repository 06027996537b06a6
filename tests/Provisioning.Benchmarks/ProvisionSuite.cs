using System.Diagnostics;
using Provisioning.Core.Execution;
using Provisioning.Core.Provision;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Testbeds;

namespace Provisioning.Benchmarks;

/// <summary>
/// Issue 9's timings: one 10-task document in 3 steps (directories, templated files, copied content, lines, guarded
/// commands) on N agents, first run and unchanged re-run, the engine against ansible-playbook tuned as the other suites
/// tune it, both over warm connections. Each host works in a folder of its own (the agents may share one root), and
/// package and user tasks are left out for the same reason: on shared roots they would change this machine.
/// </summary>
internal sealed class ProvisionSuite(BenchmarkContext context)
{
    /// <summary>The job name in cells and the report.</summary>
    public const string Job = "provision";

    /// <summary>Row labels, shared with the report.</summary>
    public const string EngineFirst = "Provisioning engine, first run", EngineAgain = "Provisioning engine, unchanged re-run",
        AnsibleFirst = "ansible-playbook (tuned), first run", AnsibleAgain = "ansible-playbook (tuned), unchanged re-run";

    private const string EngineRoot = "/tmp/prov-bench-engine";
    private const string AnsibleRoot = "/tmp/prov-bench-ansible";

    private static string Document(string root, string host) => $$$"""
        vars: { port: 5201 }
        steps:
          - name: layout
            tasks:
              - directory: { path: "{{{root}}}/{{{host}}}" }
              - directory: { path: "{{{root}}}/{{{host}}}/etc", mode: "0755" }
              - file: { path: "{{{root}}}/{{{host}}}/etc/app.conf", template: ./app.conf.hbs, mode: "0644" }
              - file: { path: "{{{root}}}/{{{host}}}/etc/motd", content: "provisioned\n" }
          - name: configure
            tasks:
              - file: { path: "{{{root}}}/{{{host}}}/etc/peers.conf", template: ./peers.conf.hbs }
              - line: { path: "{{{root}}}/{{{host}}}/etc/hosts", line: "127.0.0.1 server", regexp: " server$", create: true }
              - line: { path: "{{{root}}}/{{{host}}}/etc/limits", line: "nofile 65536", regexp: "^nofile ", create: true }
          - name: install
            tasks:
              - command: { run: "touch {{{root}}}/{{{host}}}/installed", creates: "{{{root}}}/{{{host}}}/installed" }
              - command: { run: "echo built > {{{root}}}/{{{host}}}/built", creates: "{{{root}}}/{{{host}}}/built" }
              - file: { path: "{{{root}}}/{{{host}}}/etc/version", content: "1.0\n" }
        """;

    private static string Playbook(string root) => $$$"""
        - hosts: all
          gather_facts: false
          vars: { port: 5201 }
          tasks:
            - file: { path: "{{{root}}}/{{ inventory_hostname }}", state: directory }
            - file: { path: "{{{root}}}/{{ inventory_hostname }}/etc", state: directory, mode: "0755" }
            - template: { src: app.conf.j2, dest: "{{{root}}}/{{ inventory_hostname }}/etc/app.conf", mode: "0644" }
            - copy: { content: "provisioned\n", dest: "{{{root}}}/{{ inventory_hostname }}/etc/motd" }
            - template: { src: peers.conf.j2, dest: "{{{root}}}/{{ inventory_hostname }}/etc/peers.conf" }
            - lineinfile: { path: "{{{root}}}/{{ inventory_hostname }}/etc/hosts", line: "127.0.0.1 server", regexp: " server$", create: true }
            - lineinfile: { path: "{{{root}}}/{{ inventory_hostname }}/etc/limits", line: "nofile 65536", regexp: "^nofile ", create: true }
            - command: { cmd: "touch {{{root}}}/{{ inventory_hostname }}/installed", creates: "{{{root}}}/{{ inventory_hostname }}/installed" }
            - shell: { cmd: "echo built > {{{root}}}/{{ inventory_hostname }}/built", creates: "{{{root}}}/{{ inventory_hostname }}/built" }
            - copy: { content: "1.0\n", dest: "{{{root}}}/{{ inventory_hostname }}/etc/version" }
        """;

    /// <summary>Measures the engine and Ansible at <paramref name="n"/> agents.</summary>
    public async Task RunAsync(int n, CancellationToken ct)
    {
        var ws = context.Workspace;
        var machines = context.Engine.Testbed.Machines.Take(n).ToArray();
        File.WriteAllText(Path.Combine(ws.Root, "app.conf.hbs"), "name={{ name }}\nport={{ port }}\n");
        File.WriteAllText(Path.Combine(ws.Root, "peers.conf.hbs"), "server={{ address }}\n");
        File.WriteAllText(Path.Combine(ws.Root, "app.conf.j2"), "name={{ inventory_hostname }}\nport={{ port }}\n");
        File.WriteAllText(Path.Combine(ws.Root, "peers.conf.j2"), "server={{ ansible_host }}\n");
        var playbook = Path.Combine(ws.Root, "provision.yml");
        File.WriteAllText(playbook, Playbook(AnsibleRoot));
        var document = ProvisionDocumentReader.Read(Document(EngineRoot, "{{ name }}"), Path.Combine(ws.Root, "provision.yaml"), ws.Root);

        async Task Wipe(string root, CancellationToken c) =>
            await Drain(new RemoteCommandRunner().Operation(new RemoteCommandSpec { Command = $"rm -rf {root}", ThrottleLimit = n }).Stream(machines, null, c), c).ConfigureAwait(false);

        async Task<TimeSpan> Engine(int changedPerHost, CancellationToken c)
        {
            var clock = Stopwatch.StartNew();
            var records = await Drain(Provisioner.Operation(new ProvisionSpec { Document = document, ThrottleLimit = n }).Stream(machines, null, c), c).ConfigureAwait(false);
            clock.Stop();
            var recaps = records.OfType<ProvisionSummary>().ToList();
            if (recaps.Count != n || recaps.Any(r => r.Failed > 0 || r.Changed != changedPerHost))
                throw new VerificationException($"expected {n} hosts with {changedPerHost} changed and 0 failed; got " +
                    string.Join(", ", recaps.Where(r => r.Failed > 0 || r.Changed != changedPerHost).Take(3).Select(r => r.ToString())));
            return clock.Elapsed;
        }

        await context.Runner.MeasureAsync(Job, EngineFirst, Temperature.Warm, n, new Trial
        {
            Prepare = c => Wipe(EngineRoot, c),
            Run = c => Engine(10, c),
        }, ct).ConfigureAwait(false);
        await context.Runner.MeasureAsync(Job, EngineAgain, Temperature.Warm, n, new Trial
        {
            Setup = async c => { await Wipe(EngineRoot, c).ConfigureAwait(false); await Engine(10, c).ConfigureAwait(false); },
            Run = c => Engine(0, c),
            Cleanup = c => Wipe(EngineRoot, c),
        }, ct).ConfigureAwait(false);
        await context.Engine.CloseConnectionsQuietlyAsync(context.Runner.Log).ConfigureAwait(false);

        var hosts = ws.Hosts(n);
        async Task<TimeSpan> Ansible(bool unchanged, CancellationToken c)
        {
            var r = await context.RunPeerAsync("ansible-playbook", ["-i", hosts.InventoryFile, "-f", $"{n}", playbook], c, ws.AnsibleEnvironment).ConfigureAwait(false);
            PeerOutput.RequireAll(unchanged ? PeerOutput.AnsiblePlaybookUnchanged(r.Stdout) : PeerOutput.AnsiblePlaybookSucceeded(r.Stdout), hosts, r);
            return r.Elapsed;
        }
        await context.MeasurePeerAsync("ansible-playbook", Job, AnsibleFirst, Temperature.Warm, n, new Trial
        {
            Setup = ws.CloseAnsibleMastersAsync,
            Prepare = c => Wipe(AnsibleRoot, c),
            Run = c => Ansible(unchanged: false, c),
        }, ct).ConfigureAwait(false);
        await context.MeasurePeerAsync("ansible-playbook", Job, AnsibleAgain, Temperature.Warm, n, new Trial
        {
            Setup = async c => { await Wipe(AnsibleRoot, c).ConfigureAwait(false); await Ansible(unchanged: false, c).ConfigureAwait(false); },
            Run = c => Ansible(unchanged: true, c),
            Cleanup = async c => { await Wipe(AnsibleRoot, c).ConfigureAwait(false); await ws.CloseAnsibleMastersAsync(c).ConfigureAwait(false); },
        }, ct).ConfigureAwait(false);
    }

    private static async Task<List<T>> Drain<T>(System.Threading.Channels.ChannelReader<T> reader, CancellationToken ct)
    {
        var list = new List<T>();
        await foreach (var item in reader.ReadAllAsync(ct).ConfigureAwait(false)) list.Add(item);
        return list;
    }
}
