using Provisioning.Core.Execution;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transfer;
using static Provisioning.IntegrationTests.TransferTestKit;

namespace Provisioning.IntegrationTests;

/// <summary>Send-AgentFile's engine against the shared 8-agent Local testbed.</summary>
[Collection("LocalTestbed")]
public sealed class TransferSendTests(LocalTestbedFixture fixture)
{
    private readonly AgentFileSender _sender = new();
    private IReadOnlyList<AgentMachine> Machines => fixture.Testbed.Machines;

    private Task<List<FileSendResult>> SendAsync(FileSendSpec spec, IReadOnlyList<AgentMachine>? machines = null) =>
        DrainAsync(_sender.Operation(spec).Stream(machines ?? Machines, null, CancellationToken.None));

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    [Fact]
    public async Task A_file_reaches_every_host_and_a_resend_changes_nothing()
    {
        using var local = new ScratchFolder();
        var source = local.File("app.conf", "listen 8080\n");
        var folder = Unique("send");
        var spec = new FileSendSpec { Path = source, Destination = $"{folder}/etc/app.conf" };

        var first = await SendAsync(spec);
        Assert.Equal(Machines.Count, first.Count);
        foreach (var r in first)
        {
            Assert.True(r.Succeeded, r.Error?.Message);
            Assert.True(r.Changed);
            Assert.Equal(source, r.Source);
            Assert.Equal($"{folder}/etc/app.conf", r.Destination);
            Assert.Equal(12, r.Length);
            Assert.Equal(Sha256OfText("listen 8080\n"), r.Sha256);
            Assert.Equal("listen 8080\n", File.ReadAllText(WorkPath(r.Machine, $"{folder}/etc/app.conf")));
            Assert.Empty(TemporaryFiles(WorkPath(r.Machine, folder)));
        }

        var second = await SendAsync(spec);
        Assert.All(second, r => Assert.True(r.Succeeded && !r.Changed, $"{r.Machine.Name}: {r}"));

        // Only the host whose copy drifted gets the file again.
        File.WriteAllText(WorkPath(Machines[2], $"{folder}/etc/app.conf"), "tampered\n");
        var third = await SendAsync(spec);
        Assert.Equal(new[] { Machines[2].Name }, third.Where(r => r.Changed).Select(r => r.Machine.Name));
        Assert.Equal("listen 8080\n", File.ReadAllText(WorkPath(Machines[2], $"{folder}/etc/app.conf")));
    }

    [Fact]
    public async Task A_template_file_is_rendered_per_host_and_stays_unchanged_on_resend()
    {
        using var local = new ScratchFolder();
        var source = local.File("node.conf", "name={{ name }}\naddress={{ address }}\nserver={{ server.address }}\n");
        var folder = Unique("tpl");
        var server = Machines[0];
        var spec = new FileSendSpec
        {
            Path = source,
            Destination = $"{folder}/node-{{{{ index }}}}.conf",
            Template = true,
            Variables = new Dictionary<string, object?> { ["server"] = server },
        };

        var first = await SendAsync(spec);
        foreach (var r in first)
        {
            Assert.True(r.Succeeded, r.Error?.Message);
            var expected = $"name={r.Machine.Name}\naddress={r.Machine.Address}\nserver={server.Address}\n";
            Assert.Equal($"{folder}/node-{r.Machine.Index}.conf", r.Destination);
            Assert.Equal(expected, File.ReadAllText(WorkPath(r.Machine, r.Destination)));
            Assert.Equal(Sha256OfText(expected), r.Sha256);
        }
        Assert.Equal(Machines.Count, first.Select(r => r.Sha256).Distinct().Count());

        var second = await SendAsync(spec);
        Assert.All(second, r => Assert.False(r.Changed));
    }

    [Fact]
    public async Task A_template_naming_an_undefined_variable_fails_that_file_only()
    {
        using var local = new ScratchFolder();
        var source = local.File("x.conf", "value={{ nowhere_defined }}\n");
        var results = await SendAsync(new FileSendSpec { Path = source, Destination = Unique("undef") + "/x.conf", Template = true }, Machines.Take(2).ToArray());
        Assert.All(results, r =>
        {
            Assert.Equal(HostStatus.TemplateError, r.Status);
            Assert.Equal(ErrorKind.TemplateVariableUndefined, r.Error!.Kind);
            Assert.Contains("nowhere_defined", r.Error.Message);
        });
    }

    [Fact]
    public async Task A_directory_goes_over_as_one_tree_and_only_changed_files_are_sent_again()
    {
        using var local = new ScratchFolder();
        local.File("site/index.html", "<h1>hi</h1>\n");
        local.File("site/css/main.css", "body{}\n");
        local.File("site/.hidden", "dot\n");
        local.File("site/deep/a/b/c.txt", "deep\n");
        var folder = Unique("tree");
        var spec = new FileSendSpec { Path = Path.Combine(local.Path, "site"), Destination = $"{folder}/www" };
        var hosts = Machines.Take(3).ToArray();

        var first = await SendAsync(spec, hosts);
        Assert.Equal(hosts.Length * 4, first.Count);
        Assert.All(first, r => Assert.True(r.Succeeded && r.Changed, r.Error?.Message));
        foreach (var m in hosts)
        {
            var root = WorkPath(m, $"{folder}/www");
            Assert.Equal(new[] { ".hidden", "css/main.css", "deep/a/b/c.txt", "index.html" },
                Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).Order(StringComparer.Ordinal));
            Assert.Equal("deep\n", File.ReadAllText(Path.Combine(root, "deep/a/b/c.txt")));
        }

        local.File("site/css/main.css", "body{color:red}\n");
        var second = await SendAsync(spec, hosts);
        Assert.Equal(hosts.Select(m => (m.Name, $"{folder}/www/css/main.css")).Order(),
            second.Where(r => r.Changed).Select(r => (r.Machine.Name, r.Destination)).Order());
        Assert.All(second, r => Assert.True(r.Succeeded));
        Assert.Equal("body{color:red}\n", File.ReadAllText(WorkPath(hosts[0], $"{folder}/www/css/main.css")));
    }

    [Fact]
    public async Task A_glob_sends_the_matching_files_with_their_relative_paths()
    {
        using var local = new ScratchFolder();
        local.File("conf/a.txt", "a\n");
        local.File("conf/b.txt", "b\n");
        local.File("conf/skip.bin", "no\n");
        local.File("conf/sub/c.txt", "c\n");
        var folder = Unique("glob");
        var host = Machines[3];

        var top = await SendAsync(new FileSendSpec { Path = Path.Combine(local.Path, "conf/*.txt"), Destination = folder }, [host]);
        Assert.Equal(new[] { $"{folder}/a.txt", $"{folder}/b.txt" }, top.Select(r => r.Destination).Order());
        Assert.False(File.Exists(WorkPath(host, $"{folder}/skip.bin")));

        var deep = await SendAsync(new FileSendSpec { Path = Path.Combine(local.Path, "conf/**/*.txt"), Destination = folder + "/all" }, [host]);
        Assert.Equal(new[] { $"{folder}/all/a.txt", $"{folder}/all/b.txt", $"{folder}/all/sub/c.txt" }, deep.Select(r => r.Destination).Order());
        Assert.Equal("c\n", File.ReadAllText(WorkPath(host, $"{folder}/all/sub/c.txt")));
    }

    [Fact]
    public async Task Mode_is_applied_and_a_mode_difference_alone_resends_the_file()
    {
        using var local = new ScratchFolder();
        var source = local.File("run.sh", "#!/bin/sh\necho hi\n");
        var folder = Unique("mode");
        var host = Machines[4];
        var target = WorkPath(host, $"{folder}/run.sh");

        var first = await SendAsync(new FileSendSpec { Path = source, Destination = $"{folder}/run.sh", Mode = (UnixFileMode)Convert.ToInt32("750", 8) }, [host]);
        Assert.True(first.Single().Changed);
        Assert.Equal("750", Convert.ToString((int)File.GetUnixFileMode(target), 8));
        Assert.Equal("hi\n", await RemoteAsync(host, $"./{folder}/run.sh"));

        var same = await SendAsync(new FileSendSpec { Path = source, Destination = $"{folder}/run.sh", Mode = (UnixFileMode)Convert.ToInt32("750", 8) }, [host]);
        Assert.False(same.Single().Changed);

        var narrower = await SendAsync(new FileSendSpec { Path = source, Destination = $"{folder}/run.sh", Mode = (UnixFileMode)Convert.ToInt32("600", 8) }, [host]);
        Assert.True(narrower.Single().Changed);
        Assert.Equal("600", Convert.ToString((int)File.GetUnixFileMode(target), 8));
    }

    [Fact]
    public async Task A_single_file_sent_to_an_existing_directory_goes_inside_it()
    {
        using var local = new ScratchFolder();
        var source = local.File("data.csv", "1,2\n");
        var folder = Unique("into");
        var host = Machines[5];
        Directory.CreateDirectory(WorkPath(host, folder));

        var into = await SendAsync(new FileSendSpec { Path = source, Destination = folder }, [host]);
        Assert.Equal($"{folder}/data.csv", into.Single().Destination);
        Assert.Equal("1,2\n", File.ReadAllText(WorkPath(host, $"{folder}/data.csv")));

        var slash = await SendAsync(new FileSendSpec { Path = source, Destination = $"{folder}/new/" }, [host]);
        Assert.Equal($"{folder}/new/data.csv", slash.Single().Destination);
        Assert.True(File.Exists(WorkPath(host, $"{folder}/new/data.csv")));
    }

    [Fact]
    public async Task Temporary_files_a_dead_transfer_left_are_swept_a_day_later_by_the_next_send_to_those_folders()
    {
        using var local = new ScratchFolder();
        local.File("t/a.txt", "a\n");
        local.File("t/sub/b.txt", "b\n");
        var folder = Unique("sweep");
        var host = Machines[7];
        var root = WorkPath(host, folder);
        Directory.CreateDirectory(Path.Combine(root, "sub"));
        string Leftover(string relative, TimeSpan age)
        {
            var path = Path.Combine(root, relative);
            File.WriteAllText(path, "partial");
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
            return path;
        }
        var staleTop = Leftover(".prov-0123456789ab-0", TimeSpan.FromDays(2));
        var staleList = Leftover(".prov-0123456789ab.list", TimeSpan.FromDays(2));
        var staleSub = Leftover("sub/.prov-0123456789ab-1", TimeSpan.FromDays(2));
        var fresh = Leftover("sub/.prov-ba9876543210-0", TimeSpan.FromMinutes(5));
        var notOurs = Leftover("sub/keep.txt", TimeSpan.FromDays(2));

        var results = await SendAsync(new FileSendSpec { Path = Path.Combine(local.Path, "t"), Destination = folder }, [host]);
        Assert.All(results, r => Assert.True(r.Succeeded, r.Error?.Message));
        Assert.False(File.Exists(staleTop));
        Assert.False(File.Exists(staleList));
        Assert.False(File.Exists(staleSub));
        Assert.True(File.Exists(fresh), "a recent temporary file (maybe a transfer still running) must stay");
        Assert.True(File.Exists(notOurs));
    }

    [Fact]
    public async Task Every_file_of_every_host_is_journaled_as_a_send_step()
    {
        using var local = new ScratchFolder();
        local.File("j/one.txt", "1\n");
        local.File("j/two.txt", "2\n");
        var recorder = new MemoryRunRecorder();
        var hosts = Machines.Take(2).ToArray();
        var results = await DrainAsync(_sender.Operation(new FileSendSpec { Path = Path.Combine(local.Path, "j"), Destination = Unique("journal") }).Stream(hosts, recorder, CancellationToken.None));

        Assert.All(results, r => Assert.Equal(42, r.RunId));
        Assert.Equal(4, recorder.Steps.Count);
        Assert.All(recorder.Steps, s =>
        {
            Assert.Equal("send", s.Step);
            Assert.Equal(42, s.RunId);
            Assert.True(s.Succeeded);
            Assert.Contains(" -> ", s.Detail);
        });
        Assert.Equal(hosts.SelectMany(h => new[] { h.Name, h.Name }).Order(), recorder.Steps.Select(s => s.Name).Order());
    }

    [Fact]
    public void Plan_renders_each_destination_without_contacting_a_host()
    {
        using var local = new ScratchFolder();
        var source = local.File("p.txt", "p\n");
        var plan = _sender.Plan(Machines.Take(2).ToArray(), new FileSendSpec { Path = source, Destination = "/srv/{{ name }}/" });
        Assert.Equal(new[] { "/srv/agent-1/p.txt", "/srv/agent-2/p.txt" }, plan.Select(p => p.Destination));
        Assert.All(plan, p => Assert.Null(p.Error));
    }
}
