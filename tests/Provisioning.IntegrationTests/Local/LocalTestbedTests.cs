using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Local;

namespace Provisioning.IntegrationTests.Local;

/// <summary>What the shared 8-agent Local testbed looks like from a plain ssh client.</summary>
[Collection("LocalTestbed")]
public sealed class LocalTestbedTests(LocalTestbedFixture fixture)
{
    private Testbed Testbed => fixture.Testbed;

    [Fact]
    public void Machines_carry_the_generated_connection_settings()
    {
        Assert.Equal(LocalProvider.ProviderName, Testbed.Provider);
        Assert.Equal(LocalTestbedFixture.AgentCount, Testbed.Machines.Count);
        Assert.Equal(Enumerable.Range(1, LocalTestbedFixture.AgentCount).Select(i => $"agent-{i}"), Testbed.Machines.Select(m => m.Name));
        Assert.Equal(LocalTestbedFixture.AgentCount, Testbed.Machines.Select(m => m.Address).Distinct().Count());
        foreach (var m in Testbed.Machines)
        {
            Assert.StartsWith("127.0.", m.Address);
            Assert.Equal(Environment.UserName, m.User);
            Assert.False(m.Connection.TrustNewHostKeys);
            Assert.True(File.Exists(m.Connection.IdentityFile));
            Assert.True(File.Exists(m.Connection.KnownHostsFile));
            Assert.StartsWith(Testbed.StateDirectory, m.WorkDir);
            Assert.Same(Testbed, m.Testbed);
        }
        // Nothing host-specific in the ssh -F file: the machines carry their own settings.
        Assert.DoesNotContain("127.0.", File.ReadAllText(fixture.SshConfigFile));
    }

    [Fact]
    public void Roles_are_assigned_in_order()
    {
        Assert.Equal(new[] { "agent-1", "agent-2" }, Testbed.Roles["server"]);
        Assert.Equal(Enumerable.Range(3, 6).Select(i => $"agent-{i}"), Testbed.Roles["client"]);
        Assert.Equal(new[] { "server" }, Testbed["agent-2"]!.Roles);
        Assert.Equal(new[] { "client" }, Testbed["agent-3"]!.Roles);
    }

    [Fact]
    public async Task Every_agent_answers_with_strict_host_key_checking()
    {
        var results = await Task.WhenAll(Testbed.Machines.Select(m => PlainSsh.RunAsync(m, "echo ok; id -un")));
        foreach (var (m, r) in Testbed.Machines.Zip(results))
        {
            Assert.True(r.ExitCode == 0, $"{m.Name}: exit {r.ExitCode}: {r.Stderr}");
            Assert.Equal($"ok\n{Environment.UserName}\n", r.Stdout);
        }
    }

    [Fact]
    public async Task A_wrong_or_missing_host_key_is_rejected()
    {
        var target = Testbed["agent-1"]!;
        var other = Testbed["agent-2"]!;
        var lines = File.ReadAllLines(target.Connection.KnownHostsFile!);
        var otherKey = lines.Single(l => l.StartsWith($"[{other.Address}]:", StringComparison.Ordinal)).Split(' ', 2)[1];
        var dir = Directory.CreateTempSubdirectory("prov-kh-");
        try
        {
            var wrong = Path.Combine(dir.FullName, "wrong");
            File.WriteAllText(wrong, $"[{target.Address}]:{target.Port} {otherKey}\n");
            var r = await PlainSsh.RunAsync(target, "true", wrong);
            Assert.Equal(255, r.ExitCode);
            Assert.Contains("REMOTE HOST IDENTIFICATION HAS CHANGED", r.Stderr);

            // No trust on first use: an unknown host is refused, not added.
            var empty = Path.Combine(dir.FullName, "empty");
            File.WriteAllText(empty, "");
            r = await PlainSsh.RunAsync(target, "true", empty);
            Assert.Equal(255, r.ExitCode);
            Assert.Contains("Host key verification failed", r.Stderr);
            Assert.Equal("", File.ReadAllText(empty));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Each_agent_has_its_own_working_directory()
    {
        Assert.Equal(Testbed.Machines.Count, Testbed.Machines.Select(m => m.WorkDir).Distinct().Count());
        var writer = Testbed["agent-1"]!;
        var reader = Testbed["agent-2"]!;
        var file = $"only-on-agent-1-{Guid.NewGuid():N}";
        var w = await PlainSsh.RunAsync(writer, $"cd '{writer.WorkDir}' && echo hello > {file} && pwd");
        Assert.True(w.ExitCode == 0, w.Stderr);
        Assert.Equal(writer.WorkDir + "\n", w.Stdout);

        var r = await PlainSsh.RunAsync(reader, $"cd '{reader.WorkDir}' && ls -A");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.DoesNotContain(file, r.Stdout);
        Assert.True(File.Exists(Path.Combine(writer.WorkDir!, file)));
        Assert.False(File.Exists(Path.Combine(reader.WorkDir!, file)));
    }

    [Fact]
    public async Task Isolated_agents_have_their_own_hostname_and_a_clean_home()
    {
        var results = await Task.WhenAll(Testbed.Machines.Select(m => PlainSsh.RunAsync(m, "hostname; ls -A \"$HOME\"")));
        var skeleton = Directory.GetFiles("/etc/skel").Select(Path.GetFileName).Order().ToArray();
        foreach (var (m, r) in Testbed.Machines.Zip(results))
        {
            Assert.True(r.ExitCode == 0, $"{m.Name}: {r.Stderr}");
            var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (fixture.Isolated)
            {
                Assert.Equal(m.Name, lines[0]);
                Assert.Equal(skeleton, lines.Skip(1).Order());
            }
            else
            {
                Assert.Equal(Environment.MachineName, lines[0]);
            }
        }
        // Where this process could create the namespaces itself, the provider must not have fallen back.
        Assert.Equal(NamespacesWork(), fixture.Isolated);
    }

    private static bool NamespacesWork()
    {
        if (Environment.UserName != "root" || !File.Exists("/usr/bin/unshare")) return false;
        var start = new System.Diagnostics.ProcessStartInfo("/usr/bin/unshare") { RedirectStandardError = true };
        foreach (var a in new[] { "--uts", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                     "printf probe > /proc/sys/kernel/hostname && mount --bind /tmp /tmp" })
            start.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(start)!;
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0;
    }
}
