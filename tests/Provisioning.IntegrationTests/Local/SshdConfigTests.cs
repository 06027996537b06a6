using System.Diagnostics;
using Provisioning.Core.Testbeds.Local;

namespace Provisioning.IntegrationTests.Local;

/// <summary>The generated sshd_config for each kind of account, checked by the real sshd (<c>sshd -t</c>).</summary>
public sealed class SshdConfigTests
{
    [Theory]
    [InlineData(0, "root", false, "PermitRootLogin prohibit-password", "UsePAM no")]
    // A locked root (shadow '!') is refused by sshd without PAM, even with a key.
    [InlineData(0, "root", true, "PermitRootLogin prohibit-password", "UsePAM yes")]
    [InlineData(1000, "researcher", false, "PermitRootLogin no", "UsePAM no")]
    public void The_config_fits_the_account_and_sshd_accepts_it(int uid, string user, bool locked, string rootLine, string pamLine)
    {
        var dir = Directory.CreateTempSubdirectory("prov-cfg-").FullName;
        try
        {
            var agent = new LocalAgent("agent-1", "127.0.250.1", 22222, dir, Path.Combine(dir, "root"));
            var account = new LoginAccount(uid, user, "/home/" + user, locked);
            var text = SshdConfig.Render(agent, account, Path.Combine(dir, "authorized_keys"), new Version(9, 2));
            var lines = text.Split('\n');
            Assert.Contains(rootLine, lines);
            Assert.Contains(pamLine, lines);
            Assert.Contains($"AllowUsers {user}", lines);
            Assert.Contains("AuthenticationMethods publickey", lines);
            Assert.Contains("ListenAddress 127.0.250.1:22222", lines);
            Assert.DoesNotContain(lines, l => l.StartsWith("PerSourcePenalties", StringComparison.Ordinal));

            File.WriteAllText(agent.ConfigPath, text);
            Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", agent.HostKeyPath);
            Directory.CreateDirectory("/run/sshd");
            var (exit, stderr) = Run("/usr/sbin/sshd", "-t", "-f", agent.ConfigPath);
            Assert.True(exit == 0, stderr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Source_penalties_are_turned_off_where_sshd_has_them()
    {
        var agent = new LocalAgent("agent-1", "127.0.250.1", 22222, "/tmp/x", "/tmp/x-root");
        var account = new LoginAccount(0, "root", "/root", false);
        Assert.Contains("PerSourcePenalties no", SshdConfig.Render(agent, account, "/tmp/x/ak", new Version(9, 8)).Split('\n'));
        Assert.DoesNotContain("PerSourcePenalties", SshdConfig.Render(agent, account, "/tmp/x/ak", new Version(9, 7)));
    }

    private static (int Exit, string Stderr) Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stderr);
    }
}
