using System.Formats.Tar;
using System.IO.Compression;
using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.Provision;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Local;
using static Provisioning.IntegrationTests.TransferTestKit;

namespace Provisioning.IntegrationTests.Provision;

/// <summary>
/// Invoke-Provision's engine on real agents with private roots (as root, so users, groups and /etc files change only
/// the agents' own roots): every task type's apply and idempotence, check mode with diffs, handlers, a failing task
/// among good hosts, -Step and hosts: subsets, and template errors.
/// </summary>
public sealed class ProvisionTests(ProvisionTests.ProvisionTestbed fixture) : IClassFixture<ProvisionTests.ProvisionTestbed>
{
    /// <summary>Three agents with private roots: one server, two clients.</summary>
    public sealed class ProvisionTestbed : IAsyncLifetime
    {
        public Testbed Testbed { get; private set; } = null!;
        public string Folder { get; } = Directory.CreateTempSubdirectory("prov-provision-").FullName;

        public async Task InitializeAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            Testbed = await LocalProvider.StartAsync(new LocalTestbedOptions
            {
                Count = 3, Name = "provision", Isolation = LocalIsolation.Private, Roles = new Dictionary<string, int> { ["server"] = 1, ["client"] = 2 },
            }, timeout.Token);
        }

        public async Task DisposeAsync()
        {
            await Testbed.RemoveAsync();
            Directory.Delete(Folder, recursive: true);
        }
    }

    private Testbed Testbed => fixture.Testbed;

    private string Write(string name, string text)
    {
        var path = Path.Combine(fixture.Folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static async Task<List<ProvisionRecord>> Run(ProvisionDocument document, bool check = false, IReadOnlyList<string>? steps = null, params AgentMachine[] machines) =>
        await DrainAsync(Provisioner.Operation(new ProvisionSpec { Document = document, Check = check, Steps = steps ?? [] }).Stream(machines, null, CancellationToken.None));

    private static async Task<string> Shell(AgentMachine machine, string command) => (await RemoteAsync(machine, command)).Trim();

    private static IEnumerable<ProvisionResult> Tasks(IEnumerable<ProvisionRecord> records, AgentMachine? machine = null) =>
        records.OfType<ProvisionResult>().Where(r => machine is null || r.Machine == machine);

    private static ProvisionSummary Summary(IEnumerable<ProvisionRecord> records, AgentMachine machine) =>
        Assert.Single(records.OfType<ProvisionSummary>(), s => s.Machine == machine);

    private ProvisionDocument Document(string yaml, string name) =>
        ProvisionDocumentReader.Read(yaml, Path.Combine(fixture.Folder, name), fixture.Folder);

    [Fact]
    public async Task Every_task_type_applies_then_a_second_run_changes_nothing()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        Write($"app-{tag}.conf.hbs", "port={{ port }}\nhost={{ name }}\nos={{ facts.os.id }}\n");
        Write($"copy-{tag}.bin", "raw {{ not rendered }}\n");
        var archive = Path.Combine(fixture.Folder, $"app-{tag}.tgz");
        using (var gz = new GZipStream(File.Create(archive), CompressionLevel.Fastest))
        using (var tar = new TarWriter(gz))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "bundle/readme.txt") { DataStream = new MemoryStream("bundled\n"u8.ToArray()) };
            tar.WriteEntry(entry);
        }
        var dir = $"/opt/prov-{tag}";
        var document = Document($$$"""
            vars: { dir: {{{dir}}}, port: 5201 }
            steps:
              - name: base
                tasks:
                  - group: { name: g{{{tag}}} }
                  - user: { name: u{{{tag}}}, shell: /bin/sh, groups: [g{{{tag}}}] }
                  - directory: { path: "{{ dir }}", owner: u{{{tag}}}, mode: "0750" }
                  - file: { path: "{{ dir }}/app.conf", template: ./app-{{{tag}}}.conf.hbs, mode: "0640" }
                    notify: reload
                  - file: { path: "{{ dir }}/inline.txt", content: "hello {{ name }}\n" }
                  - file: { path: "{{ dir }}/copy.bin", copy: ./copy-{{{tag}}}.bin }
                  - line: { path: "{{ dir }}/lines.txt", line: "port {{ port }}", regexp: "^port ", create: true }
                  - unarchive: { src: ./app-{{{tag}}}.tgz, dest: "{{ dir }}" }
                  - command: { run: "echo ran >> {{ dir }}/count", creates: "{{ dir }}/count" }
                  - command: { run: "echo ran >> {{ dir }}/unless", unless: "test -s {{ dir }}/unless" }
                  - service: { name: none-{{{tag}}}, state: started }
            handlers:
              - name: reload
                command: { run: "echo reloaded >> {{ dir }}/handler.log" }
            """, $"all-{tag}.yaml");
        var machine = Testbed.Machines[0];

        var first = await Run(document, machines: machine);
        Assert.All(Tasks(first), t => Assert.True(t.TaskStatus is ProvisionTaskStatus.Changed or ProvisionTaskStatus.Skipped, $"{t.Task}: {t.TaskStatus} {t.Message}"));
        Assert.Equal(ProvisionTaskStatus.Skipped, Assert.Single(Tasks(first), t => t.TaskType == ProvisionTaskType.Service).TaskStatus);
        Assert.Contains(Tasks(first), t => t.Task == "handler reload" && t.TaskStatus == ProvisionTaskStatus.Changed);
        var summary = Summary(first, machine);
        Assert.Equal((11, 0, 1), (summary.Changed, summary.Failed, summary.Skipped));

        var osId = await Shell(machine, ". /etc/os-release; echo $ID");
        Assert.Equal($"port=5201\nhost={machine.Name}\nos={osId}", await Shell(machine, $"cat {dir}/app.conf"));
        Assert.Equal($"640 root root", await Shell(machine, $"stat -c '%a %U %G' {dir}/app.conf"));
        Assert.Equal($"750 u{tag}", await Shell(machine, $"stat -c '%a %U' {dir}"));
        Assert.Equal($"hello {machine.Name}", await Shell(machine, $"cat {dir}/inline.txt"));
        Assert.Equal("port 5201", await Shell(machine, $"cat {dir}/lines.txt"));
        Assert.Equal("raw {{ not rendered }}", await Shell(machine, $"cat {dir}/copy.bin"));
        Assert.Equal("bundled", await Shell(machine, $"cat {dir}/bundle/readme.txt"));
        Assert.Contains($"g{tag}", await Shell(machine, $"id -nG u{tag}"));
        Assert.Equal("/bin/sh", await Shell(machine, $"getent passwd u{tag} | cut -d: -f7"));
        Assert.Empty(await Shell(Testbed.Machines[1], $"getent passwd u{tag} || true")); // one agent's root, not the others'
        Assert.Empty(File.Exists("/etc/passwd") ? File.ReadAllLines("/etc/passwd").Where(l => l.StartsWith($"u{tag}:", StringComparison.Ordinal)) : []);

        var second = await Run(document, machines: machine);
        Assert.DoesNotContain(Tasks(second), t => t.TaskStatus == ProvisionTaskStatus.Changed);
        Assert.Equal(0, Summary(second, machine).Changed);
        Assert.Equal("ran", await Shell(machine, $"cat {dir}/count"));
        Assert.Equal("ran", await Shell(machine, $"cat {dir}/unless"));
        Assert.Equal("reloaded", await Shell(machine, $"cat {dir}/handler.log")); // the handler ran once: nothing changed the second time

        var removal = Document($$$"""
            steps:
              - name: remove
                tasks:
                  - user: { name: u{{{tag}}}, state: absent }
                  - group: { name: g{{{tag}}}, state: absent }
                  - directory: { path: {{{dir}}}, state: absent }
            """, $"remove-{tag}.yaml");
        Assert.All(Tasks(await Run(removal, machines: machine)), t => Assert.Equal(ProvisionTaskStatus.Changed, t.TaskStatus));
        Assert.Equal("gone", await Shell(machine, $"getent passwd u{tag} || getent group g{tag} || test -e {dir} || echo gone"));
        Assert.All(Tasks(await Run(removal, machines: machine)), t => Assert.Equal(ProvisionTaskStatus.Ok, t.TaskStatus));
    }

    [Fact]
    public async Task Check_mode_reports_what_would_change_with_a_diff_and_changes_nothing()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var machine = Testbed.Machines[1];
        await Shell(machine, $"mkdir -p /srv/c{tag} && printf 'a\\nport 1\\n' > /srv/c{tag}/f");
        var document = Document($$$"""
            steps:
              - name: s
                tasks:
                  - line: { path: /srv/c{{{tag}}}/f, line: "port 2", regexp: "^port " }
                  - directory: { path: /srv/c{{{tag}}}/new }
                  - command: { run: "touch /srv/c{{{tag}}}/ran" }
            """, $"check-{tag}.yaml");

        var results = Tasks(await Run(document, check: true, machines: machine)).ToList();
        Assert.All(results, r => Assert.Equal(ProvisionTaskStatus.Changed, r.TaskStatus));
        Assert.All(results, r => Assert.True(r.CheckMode));
        var diff = results[0].Diff!;
        Assert.Contains("-port 1", diff);
        Assert.Contains("+port 2", diff);
        Assert.StartsWith("would change", results[1].Message);
        Assert.Equal("a\nport 1", await Shell(machine, $"cat /srv/c{tag}/f"));
        Assert.Equal("none", await Shell(machine, $"test -e /srv/c{tag}/new || test -e /srv/c{tag}/ran || echo none"));
    }

    [Fact]
    public async Task A_failing_task_skips_the_rest_of_its_host_and_the_other_hosts_go_on()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var document = Document($$$"""
            steps:
              - name: one
                tasks:
                  - command: { run: "test {{ index }} -ne 1 || { echo broken-{{{tag}}} >&2; exit 7; }" }
                  - directory: { path: /srv/f{{{tag}}} }
              - name: two
                tasks:
                  - directory: { path: /srv/f{{{tag}}}-2 }
            """, $"fail-{tag}.yaml");
        var records = await Run(document, machines: [.. Testbed.Machines]);
        var bad = Testbed.Machines[1];
        var failed = Assert.Single(Tasks(records, bad), t => t.TaskStatus == ProvisionTaskStatus.Failed);
        Assert.Equal(ErrorKind.ProvisionTaskFailed, failed.Error!.Kind);
        Assert.Contains(bad.Name, failed.Error.Message);
        Assert.Contains("step 'one'", failed.Error.Message);
        Assert.Contains($"fail-{tag}.yaml:4", failed.Error.Message);
        Assert.Contains("exit 7", failed.Error.Message);
        Assert.Contains($"broken-{tag}", failed.Error.Message);
        Assert.Equal(ProvisionTaskStatus.Skipped, Assert.Single(Tasks(records, bad), t => t.TaskType == ProvisionTaskType.Directory).TaskStatus);
        Assert.Equal(["one"], Summary(records, bad).FailedSteps);
        Assert.Equal(HostStatus.Failed, Summary(records, bad).Status);
        foreach (var good in Testbed.Machines.Where(m => m != bad))
        {
            Assert.Equal((3, 0), (Summary(records, good).Changed, Summary(records, good).Failed));
            Assert.Equal("yes", await Shell(good, $"test -d /srv/f{tag}-2 && echo yes"));
        }
        Assert.Equal("no", await Shell(bad, $"test -d /srv/f{tag} && echo yes || echo no"));
    }

    [Fact]
    public async Task Steps_and_host_patterns_pick_the_work()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var document = Document($$$"""
            steps:
              - name: everywhere
                tasks:
                  - directory: { path: /srv/e{{{tag}}} }
              - name: servers
                hosts: server
                tasks:
                  - directory: { path: /srv/s{{{tag}}} }
            """, $"steps-{tag}.yaml");
        var records = await Run(document, steps: ["servers"], machines: [.. Testbed.Machines]);
        var server = Assert.Single(Testbed.Machines, m => m.HasRole("server"));
        Assert.Equal(["servers"], Summary(records, server).Steps);
        Assert.Single(Tasks(records));
        Assert.All(Testbed.Machines.Where(m => m != server), m => Assert.Empty(Summary(records, m).Steps));
        Assert.Equal("no", await Shell(server, $"test -d /srv/e{tag} && echo yes || echo no"));
        Assert.Equal("yes", await Shell(server, $"test -d /srv/s{tag} && echo yes"));
        var unknown = Assert.Throws<ProvisioningException>(() => Provisioner.Operation(new ProvisionSpec { Document = document, Steps = ["nope"] }));
        Assert.Contains("everywhere, servers", unknown.Message);
    }

    [Fact]
    public async Task An_undefined_variable_fails_that_task_naming_it()
    {
        var document = Document("steps:\n  - name: s\n    tasks:\n      - directory: { path: /srv/ok-undefined }\n      - directory: { path: \"/srv/{{ nowhere }}\" }\n", "undefined.yaml");
        var machine = Testbed.Machines[2];
        var results = Tasks(await Run(document, machines: machine)).ToList();
        Assert.NotEqual(ProvisionTaskStatus.Failed, results[0].TaskStatus);
        Assert.Equal(ProvisionTaskStatus.Failed, results[1].TaskStatus);
        Assert.Equal(ErrorKind.TemplateVariableUndefined, results[1].Error!.Kind);
        Assert.Contains("nowhere", results[1].Error!.Message);
        Assert.Contains("undefined.yaml:5", results[1].Error!.Message);
    }

    [Fact]
    public async Task A_handler_that_cannot_be_rendered_is_reported_failed_not_lost()
    {
        var document = Document("steps:\n  - name: s\n    tasks:\n      - command: { run: \"true\" }\n        notify: h\nhandlers:\n  - name: h\n    command: { run: \"echo {{ missing_var }}\" }\n", "handler-undefined.yaml");
        var machine = Testbed.Machines[2];
        var records = await Run(document, machines: machine);
        var handler = Assert.Single(Tasks(records), t => t.Task == "handler h");
        Assert.Equal(ProvisionTaskStatus.Failed, handler.TaskStatus);
        Assert.Contains("missing_var", handler.Error!.Message);
        Assert.Contains("handler-undefined.yaml:7", handler.Error.Message);
        Assert.Equal(1, Summary(records, machine).Failed);
    }

    [Fact]
    public async Task Document_variables_may_be_templates_of_the_host_and_of_earlier_variables()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var document = Document($$$"""
            vars: { base: "/srv/v{{{tag}}}", dir: "{{ base }}-{{ name }}" }
            steps:
              - name: s
                tasks:
                  - directory: { path: "{{ dir }}" }
            """, $"vars-{tag}.yaml");
        var machine = Testbed.Machines[0];
        var task = Assert.Single(Tasks(await Run(document, machines: machine)));
        Assert.Equal($"directory: /srv/v{tag}-{machine.Name}", task.Task);
        Assert.Equal("yes", await Shell(machine, $"test -d /srv/v{tag}-{machine.Name} && echo yes"));
    }

    [Fact]
    public async Task A_step_that_runs_past_its_timeout_is_killed_and_its_task_times_out()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var document = Document($"steps:\n  - name: slow\n    tasks:\n      - command: {{ run: \"sleep 3{tag.Length}7\" }}\n      - directory: {{ path: /srv/t{tag} }}\n", $"timeout-{tag}.yaml");
        var machine = Testbed.Machines[1];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var records = await DrainAsync(Provisioner.Operation(new ProvisionSpec { Document = document, Timeout = TimeSpan.FromSeconds(2) }).Stream([machine], null, CancellationToken.None));
        clock.Stop();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the step took {clock.Elapsed}");
        var tasks = Tasks(records).ToList();
        Assert.Equal(ProvisionTaskStatus.Failed, tasks[0].TaskStatus);
        Assert.Equal(HostStatus.TimedOut, tasks[0].Status);
        Assert.Equal(ErrorKind.CommandTimedOut, tasks[0].Error!.Kind);
        Assert.Equal(ProvisionTaskStatus.Skipped, tasks[1].TaskStatus);
        Assert.Equal("gone", await Shell(machine, $"pgrep -f 'sleep 3{tag.Length}7' >/dev/null && echo running || echo gone"));
    }

    [Fact]
    public async Task A_folder_copy_sends_its_files_diffs_what_changed_and_keeps_the_hosts_others()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var local = Path.Combine(fixture.Folder, $"tree-{tag}");
        Directory.CreateDirectory(Path.Combine(local, "sub"));
        File.WriteAllText(Path.Combine(local, "a.txt"), "alpha\n");
        File.WriteAllText(Path.Combine(local, "sub", "b.txt"), "beta\n");
        var document = Document($$$"""
            steps:
              - name: s
                tasks:
                  - file: { path: /srv/tree-{{{tag}}}, copy: ./tree-{{{tag}}} }
            """, $"tree-{tag}.yaml");
        var machine = Testbed.Machines[2];

        var first = Assert.Single(Tasks(await Run(document, machines: machine)));
        Assert.Equal(ProvisionTaskStatus.Changed, first.TaskStatus);
        Assert.Contains("2 file(s) changed", first.Message);
        Assert.Equal("alpha beta", await Shell(machine, $"echo $(cat /srv/tree-{tag}/a.txt /srv/tree-{tag}/sub/b.txt)"));
        Assert.Equal(ProvisionTaskStatus.Ok, Assert.Single(Tasks(await Run(document, machines: machine))).TaskStatus);

        await Shell(machine, $"echo changed > /srv/tree-{tag}/sub/b.txt; echo mine > /srv/tree-{tag}/extra.txt");
        var check = Assert.Single(Tasks(await Run(document, check: true, machines: machine)));
        Assert.Contains("1 file(s) changed", check.Message);
        Assert.Contains("-changed", check.Diff);
        Assert.Contains("+beta", check.Diff);
        Assert.Equal(ProvisionTaskStatus.Changed, Assert.Single(Tasks(await Run(document, machines: machine))).TaskStatus);
        Assert.Equal("beta mine", await Shell(machine, $"echo $(cat /srv/tree-{tag}/sub/b.txt /srv/tree-{tag}/extra.txt)"));
    }
}
