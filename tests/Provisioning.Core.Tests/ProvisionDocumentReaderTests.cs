using Provisioning.Core.Errors;
using Provisioning.Core.Provision;

namespace Provisioning.Core.Tests;

/// <summary>Provision documents are checked key by key before anything runs, with file:line:column and the key path.</summary>
public sealed class ProvisionDocumentReaderTests
{
    private static ProvisionDocument Read(string yaml) => ProvisionDocumentReader.Read(yaml, "p.yaml", Path.GetTempPath());

    private static TestbedFormatException Fails(string yaml)
    {
        var ex = Assert.Throws<TestbedFormatException>(() => Read(yaml));
        Assert.Equal(ErrorKind.ProvisionFormat, ex.Kind);
        return ex;
    }

    [Fact]
    public void A_document_reads_into_steps_tasks_and_handlers()
    {
        var d = Read("""
            vars: { app_dir: /opt/app }
            steps:
              - name: base
                tasks:
                  - package: { name: [iperf3, tmux] }
                  - name: conf
                    line: { path: /etc/hosts, line: "x", create: true }
                    notify: [h]
              - name: configure
                hosts: server
                become: true
                tasks:
                  - command: "make install"
            handlers:
              - name: h
                command: { run: "true" }
            """);
        Assert.Equal("/opt/app", d.Variables["app_dir"]);
        Assert.Equal(["base", "configure"], d.Steps.Select(s => s.Name));
        Assert.Equal(["iperf3", "tmux"], d.Steps[0].Tasks[0].List("name"));
        Assert.Equal("conf", d.Steps[0].Tasks[1].Name);
        Assert.True(d.Steps[0].Tasks[1].Flag("create"));
        Assert.Equal(["h"], d.Steps[0].Tasks[1].Notify);
        Assert.Equal(6, d.Steps[0].Tasks[1].Line);
        Assert.Equal(("server", true), (d.Steps[1].Hosts, d.Steps[1].Become));
        Assert.Equal("make install", d.Steps[1].Tasks[0].Text("run"));
        Assert.NotNull(d.Handler("h"));
    }

    [Theory]
    [InlineData("steps:\n  - name: a\n    tasks:\n      - file: { path: /x, contnt: y }\n", 4, "steps.a.tasks[0].file.contnt", "did you mean 'content'")]
    [InlineData("steps:\n  - name: a\n    tasks:\n      - directory: { path: /x, mode: rwx }\n", 4, "steps.a.tasks[0].directory.mode", "octal")]
    [InlineData("steps:\n  - name: a\n    tasks:\n      - package: { name: x, state: installed }\n", 4, "steps.a.tasks[0].package.state", "present, absent, latest")]
    [InlineData("steps:\n  - name: a\n    tasks:\n      - directory: { mode: \"0755\" }\n", 4, "steps.a.tasks[0].directory.path", "needs 'path'")]
    [InlineData("steps:\n  - name: a\n    tasks:\n      - command: { run: x }\n        notify: nobody\n", 4, "notify", "not a handler")]
    [InlineData("steps:\n  - name: a\n    tasks:\n      - command: { run: x }\n        directory: { path: /x }\n", 5, "steps.a.tasks[0].directory", "one type")]
    [InlineData("steps:\n  - name: a\n    tasks:\n      - file: { path: /x }\n", 4, "steps.a.tasks[0].file", "one of content, template or copy")]
    [InlineData("steps:\n  - name: a\n    tasks:\n      - file: { path: /x, template: ./missing.hbs }\n", 4, "steps.a.tasks[0].file.template", "does not exist")]
    [InlineData("stepz: []\n", 1, "stepz", "did you mean 'steps'")]
    [InlineData("steps:\n  - name: a\n    tasks: []\n", 3, "steps.a.tasks", "empty")]
    [InlineData("steps:\n  - name: a\n    tasks:\n      - command: x\n  - name: a\n    tasks:\n      - command: y\n", 5, "steps[1].name", "duplicate step")]
    [InlineData("steps:\n  - name: a\n    become: maybe\n    tasks:\n      - command: x\n", 3, "steps.a.become", "true or false")]
    public void A_bad_document_names_the_line_and_key(string yaml, int line, string key, string problem)
    {
        var ex = Fails(yaml);
        Assert.Equal(line, ex.Line);
        Assert.Equal(key, ex.Key);
        Assert.Contains(problem, ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith($"p.yaml:{line}:", ex.Message);
    }

    [Fact]
    public void A_yaml_syntax_error_is_a_provision_format_error_at_its_position()
    {
        var ex = Fails("steps:\n  - name: a\n    tasks: [\n");
        Assert.True(ex.Line >= 3);
    }

    [Fact]
    public void Inline_tasks_become_a_one_step_document()
    {
        var d = ProvisionDocumentReader.FromTasks([new Dictionary<string, object?> { ["package"] = new Dictionary<string, object?> { ["name"] = "iperf3" } }], Path.GetTempPath());
        var task = Assert.Single(Assert.Single(d.Steps).Tasks);
        Assert.Equal((ProvisionTaskType.Package, "iperf3"), (task.Type, task.Text("name")));
        var bad = Assert.Throws<TestbedFormatException>(() => ProvisionDocumentReader.FromTasks([new Dictionary<string, object?> { ["pakage"] = "x" }], Path.GetTempPath()));
        Assert.Contains("-Task", bad.Message);
    }
}
