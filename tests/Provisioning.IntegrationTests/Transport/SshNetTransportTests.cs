using System.Diagnostics;
using System.Globalization;
using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;
using Provisioning.IntegrationTests.Commands;

namespace Provisioning.IntegrationTests.Transport;

/// <summary>
/// The in-process SSH.NET transport against the Local testbed's real sshd agents: host keys checked as strictly as
/// OpenSSH (unknown, changed, hashed, accept-new), the choice between the transports and why, keys that only
/// OpenSSH can use, timeouts and Ctrl+C that kill the remote group, the persistent shell's framing, and kex: fast.
/// </summary>
[Collection("LocalTestbed")]
public sealed class SshNetTransportTests(LocalTestbedFixture fixture) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("prov-sshnet-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private AgentMachine Agent(int index) => fixture.Testbed.Machines[index];

    /// <summary>A testbed file for one agent, with its own known_hosts and extra default keys.</summary>
    private Testbed Load(AgentMachine agent, string knownHosts, string extra = "", string? identity = null)
    {
        var c = agent.Connection;
        var file = Path.Combine(_directory, $"t{Random.Shared.Next(100000, 999999)}.yaml");
        File.WriteAllText(file, string.Create(CultureInfo.InvariantCulture, $$"""
            name: sshnet
            state_dir: ./state-{{Path.GetFileNameWithoutExtension(file)}}
            defaults: { user: {{c.User}}, identity_file: {{identity ?? c.IdentityFile}}, known_hosts: {{knownHosts}}{{extra}} }
            hosts:
              lab: { address: {{agent.Address}}, port: {{agent.Port}} }
            """));
        return TestbedLoader.Load(file);
    }

    /// <summary>Runs <paramref name="test"/> on a one-host testbed of <paramref name="agent"/> pinned to SSH.NET, then removes it.</summary>
    private async Task OnSshNetAsync(AgentMachine agent, string extra, Func<Testbed, Task> test)
    {
        var testbed = Load(agent, fixture.Testbed.Machines[0].Connection.KnownHostsFile!, ", transport: sshnet" + extra);
        try
        {
            await test(testbed);
        }
        finally
        {
            await testbed.RemoveAsync();
        }
    }

    private string KnownHostsWithout(AgentMachine agent, string? replacement = null)
    {
        var path = Path.Combine(_directory, $"known_hosts-{Random.Shared.Next(100000, 999999)}");
        var lookup = $"[{agent.Address}]:{agent.Port} ";
        var lines = File.ReadAllLines(fixture.Testbed.Machines[0].Connection.KnownHostsFile!).Where(l => !l.StartsWith(lookup, StringComparison.Ordinal)).ToList();
        if (replacement is not null) lines.Add(lookup + replacement);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static async Task<RemoteCommandResult> RunAsync(AgentMachine machine, RemoteCommandSpec spec, CancellationToken ct = default)
    {
        var results = new List<RemoteCommandResult>();
        await foreach (var r in new RemoteCommandRunner().Operation(spec).Stream([machine], null, ct).ReadAllAsync(CancellationToken.None))
            results.Add(r);
        return Assert.Single(results);
    }

    private static string Run(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return output;
    }

    [Fact]
    public async Task The_local_agents_use_ssh_net_unless_told_otherwise_and_say_why()
    {
        var machine = Agent(0);
        var expected = Environment.GetEnvironmentVariable(TransportRouter.EnvironmentVariable) == "openssh" ? "OpenSsh" : "SshNet";
        Assert.Equal(expected, machine.Transport);
        Assert.False(string.IsNullOrWhiteSpace(machine.TransportReason));
        var pinned = Load(Agent(1), fixture.Testbed.Machines[0].Connection.KnownHostsFile!, ", transport: openssh");
        try
        {
            Assert.Equal("OpenSsh", pinned["lab"]!.Transport);
            Assert.Equal("transport: openssh", pinned["lab"]!.TransportReason);
            var result = await RunAsync(pinned["lab"]!, new RemoteCommandSpec { Command = "hostname" });
            Assert.True(result.Succeeded, result.Error?.Message);
        }
        finally
        {
            await pinned.RemoveAsync();
        }
    }

    [Fact]
    public async Task An_unknown_host_key_is_refused_and_accept_new_appends_it()
    {
        var agent = Agent(2);
        var knownHosts = KnownHostsWithout(agent);
        var strict = Load(agent, knownHosts, ", transport: sshnet");
        try
        {
            var refused = await RunAsync(strict["lab"]!, new RemoteCommandSpec { Command = "true" });
            Assert.Equal(HostStatus.Unreachable, refused.Status);
            Assert.Equal(ErrorKind.HostKeyVerificationFailed, refused.Error!.Kind);
            Assert.Contains("Host key verification failed.", refused.Error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain($"[{agent.Address}]:{agent.Port}", File.ReadAllText(knownHosts), StringComparison.Ordinal);
        }
        finally
        {
            await strict.RemoveAsync();
        }

        var trusting = Load(agent, knownHosts, ", transport: sshnet, trust_new_host_keys: true");
        try
        {
            var accepted = await RunAsync(trusting["lab"]!, new RemoteCommandSpec { Command = "hostname" });
            Assert.True(accepted.Succeeded, accepted.Error?.Message);
            // Appended as OpenSSH's accept-new would, and OpenSSH's own lookup finds it.
            Assert.Contains($"[{agent.Address}]:{agent.Port} ssh-ed25519 ", File.ReadAllText(knownHosts), StringComparison.Ordinal);
            Assert.NotEmpty(Run("ssh-keygen", "-F", $"[{agent.Address}]:{agent.Port}", "-f", knownHosts).Trim());
        }
        finally
        {
            await trusting.RemoveAsync();
        }
    }

    [Fact]
    public async Task A_changed_host_key_is_refused_even_when_new_keys_are_trusted()
    {
        var agent = Agent(2);
        var otherKey = Path.Combine(_directory, "other");
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", otherKey);
        var knownHosts = KnownHostsWithout(agent, File.ReadAllText(otherKey + ".pub").Trim());
        var before = File.ReadAllText(knownHosts);
        var testbed = Load(agent, knownHosts, ", transport: sshnet, trust_new_host_keys: true");
        try
        {
            var result = await RunAsync(testbed["lab"]!, new RemoteCommandSpec { Command = "true" });
            Assert.Equal(ErrorKind.HostKeyVerificationFailed, result.Error!.Kind);
            Assert.Contains("REMOTE HOST IDENTIFICATION HAS CHANGED", result.Error.Message, StringComparison.Ordinal);
            Assert.Equal(before, File.ReadAllText(knownHosts));
        }
        finally
        {
            await testbed.RemoveAsync();
        }
    }

    [Fact]
    public async Task An_openssh_user_certificate_signed_by_a_trusted_ca_authenticates_on_sshnet()
    {
        var agent = Agent(5);
        var ca = Path.Combine(_directory, "user-ca");
        var user = Path.Combine(_directory, "certified");
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test-ca", "-f", ca);
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "certified", "-f", user);
        var login = agent.Connection.User ?? Environment.UserName;
        Run("ssh-keygen", "-q", "-s", ca, "-I", "provisioning-test", "-n", login, "-V", "+1h", user + ".pub");
        Assert.True(File.Exists(user + "-cert.pub"), "ssh-keygen did not sign the key");

        // The agents trust the CA for user certificates (authorized_keys' cert-authority); the key itself is not listed.
        var authorized = Path.Combine(fixture.Testbed.StateDirectory, "authorized_keys");
        var original = File.ReadAllText(authorized);
        File.AppendAllText(authorized, "cert-authority " + File.ReadAllText(ca + ".pub").Trim() + "\n");
        try
        {
            var knownHosts = fixture.Testbed.Machines[0].Connection.KnownHostsFile!;
            var certified = Load(agent, knownHosts, ", transport: sshnet", identity: user);
            try
            {
                Assert.Equal("SshNet", certified["lab"]!.Transport);
                var result = await RunAsync(certified["lab"]!, new RemoteCommandSpec { Command = "echo certified" });
                Assert.True(result.Succeeded, result.Error?.Message);
                Assert.Equal("certified\n", result.Stdout);
            }
            finally
            {
                await certified.RemoveAsync();
            }

            // The same key without its certificate is refused: the certificate is what authenticated it.
            File.Move(user + "-cert.pub", user + "-cert.hidden");
            var bare = Load(agent, knownHosts, ", transport: sshnet", identity: user);
            try
            {
                var result = await RunAsync(bare["lab"]!, new RemoteCommandSpec { Command = "true" });
                Assert.Equal(ErrorKind.AuthenticationFailed, result.Error?.Kind);
            }
            finally
            {
                await bare.RemoveAsync();
            }
        }
        finally
        {
            File.WriteAllText(authorized, original);
        }
    }

    [Fact]
    public async Task A_connection_killed_under_a_command_is_lost_and_the_next_command_reconnects()
    {
        var agent = Agent(6);
        await OnSshNetAsync(agent, "", async testbed =>
        {
            var lab = testbed["lab"]!;
            Assert.True((await RunAsync(lab, new RemoteCommandSpec { Command = "true" })).Succeeded);
            // The command kills the sshd process that serves its own connection (the first sshd above it), so the
            // connection drops while the host stays up.
            const string killOwnSession =
                "p=$$; while [ \"$p\" -gt 1 ]; do case $(cat /proc/$p/comm) in sshd*) kill -9 \"$p\"; break;; esac; " +
                "p=$(sed 's/.*) //' /proc/$p/stat | cut -d' ' -f2); done; sleep 20; echo survived";
            var lost = await RunAsync(lab, new RemoteCommandSpec { Command = killOwnSession, Timeout = TimeSpan.FromSeconds(60) });
            Assert.True(lost.Error?.Kind == ErrorKind.ConnectionLost, $"{lost.Status} {lost.Error?.Kind}: {lost.Error?.Message}");
            Assert.DoesNotContain("survived", lost.Stdout, StringComparison.Ordinal);

            var again = await RunAsync(lab, new RemoteCommandSpec { Command = "echo back" });
            Assert.True(again.Succeeded, again.Error?.Message);
            Assert.Equal("back\n", again.Stdout);
        });
    }

    [Fact]
    public async Task Input_sent_to_a_command_that_exits_without_reading_it_never_breaks_the_connection()
    {
        // SSH.NET checks that a channel is open and then sends its data without a lock, so data written while the
        // server closes the channel can follow the client's own close, and sshd then drops the whole connection
        // ("data packet referred to nonexistent channel"). A command that ignores its stdin must not race that.
        var agent = Agent(6);
        await OnSshNetAsync(agent, "", async testbed =>
        {
            var lab = testbed["lab"]!;
            var payload = new byte[48 * 1024];
            var outcomes = new List<RemoteExecution>();
            for (var round = 0; round < 25; round++)
            {
                var batch = Enumerable.Range(0, 8).Select(i => testbed.Transport.ExecuteAsync(lab, new RemoteExecutionRequest
                {
                    Command = i % 2 == 0 ? "exit 0" : "head -c 10 >/dev/null; exit 0",
                    WriteInput = async (stdin, token) =>
                    {
                        for (var k = 0; k < 4; k++) await stdin.WriteAsync(payload, token);
                    },
                    Timeout = TimeSpan.FromSeconds(30),
                }, CancellationToken.None));
                outcomes.AddRange(await Task.WhenAll(batch));
            }
            var broken = outcomes.Where(o => o.Outcome != ExecutionOutcome.Exited || o.ExitCode != 0).ToList();
            Assert.True(broken.Count == 0, $"{broken.Count} of {outcomes.Count}: {broken.FirstOrDefault()?.Outcome} {broken.FirstOrDefault()?.FailureMessage}");
        });
    }

    [Fact]
    public async Task A_hashed_known_hosts_entry_from_ssh_keygen_is_accepted()
    {
        var agent = Agent(3);
        var knownHosts = Path.Combine(_directory, "hashed");
        File.Copy(fixture.Testbed.Machines[0].Connection.KnownHostsFile!, knownHosts);
        Run("ssh-keygen", "-q", "-H", "-f", knownHosts);
        Assert.DoesNotContain(agent.Address, File.ReadAllText(knownHosts), StringComparison.Ordinal);
        var testbed = Load(agent, knownHosts, ", transport: sshnet");
        try
        {
            var result = await RunAsync(testbed["lab"]!, new RemoteCommandSpec { Command = "hostname" });
            Assert.True(result.Succeeded, result.Error?.Message);
        }
        finally
        {
            await testbed.RemoveAsync();
        }
    }

    [Fact]
    public async Task A_key_behind_a_passphrase_goes_to_openssh_under_auto_and_is_refused_under_sshnet()
    {
        var agent = Agent(4);
        var locked = Path.Combine(_directory, "locked");
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "a passphrase", "-f", locked);
        var auto = Load(agent, fixture.Testbed.Machines[0].Connection.KnownHostsFile!, identity: locked);
        var forced = Load(agent, fixture.Testbed.Machines[0].Connection.KnownHostsFile!, ", transport: sshnet", identity: locked);
        try
        {
            if (Environment.GetEnvironmentVariable(TransportRouter.EnvironmentVariable) != "openssh")
            {
                Assert.Equal("OpenSsh", auto["lab"]!.Transport);
                Assert.Contains("passphrase", auto["lab"]!.TransportReason, StringComparison.Ordinal);
            }
            // OpenSSH in batch mode cannot ask for the passphrase either: an authentication failure, not a hang.
            var viaOpenSsh = await RunAsync(auto["lab"]!, new RemoteCommandSpec { Command = "true" });
            Assert.Equal(ErrorKind.AuthenticationFailed, viaOpenSsh.Error!.Kind);

            var refused = await RunAsync(forced["lab"]!, new RemoteCommandSpec { Command = "true" });
            Assert.Equal(HostStatus.Unreachable, refused.Status);
            Assert.Equal(ErrorKind.TransportUnavailable, refused.Error!.Kind);
            Assert.Contains("passphrase", refused.Error.Message, StringComparison.Ordinal);
        }
        finally
        {
            await auto.RemoveAsync();
            await forced.RemoveAsync();
        }
    }

    [Fact]
    public async Task A_timeout_and_a_cancellation_kill_the_remote_group_on_ssh_net()
    {
        var agent = Agent(5);
        await OnSshNetAsync(agent, "", async testbed =>
        {
            var machine = testbed["lab"]!;
            var marker = RemoteProcessProbe.UniqueSleepSeconds();
            var timedOut = await RunAsync(machine, new RemoteCommandSpec { Command = $"sleep {marker} & sleep {marker}; echo never", Timeout = TimeSpan.FromSeconds(1) });
            Assert.Equal(HostStatus.TimedOut, timedOut.Status);
            Assert.Equal(0, await RemoteProcessProbe.WaitGoneAsync($"sleep {marker}", TimeSpan.FromSeconds(5)));

            var other = RemoteProcessProbe.UniqueSleepSeconds();
            using var cancel = new CancellationTokenSource();
            var run = RunAsync(machine, new RemoteCommandSpec { Command = $"sleep {other}" }, cancel.Token);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (RemoteProcessProbe.Count($"sleep {other}") == 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.Equal(1, RemoteProcessProbe.Count($"sleep {other}"));
            cancel.Cancel();
            var cancelled = await run.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(HostStatus.Cancelled, cancelled.Status);
            Assert.Equal(0, await RemoteProcessProbe.WaitGoneAsync($"sleep {other}", TimeSpan.FromSeconds(5)));

            // The connection is still good for the next command (a new shell replaces the killed one).
            var after = await RunAsync(machine, new RemoteCommandSpec { Command = "echo alive" });
            Assert.Equal("alive", after.Stdout.Trim());
        });
    }

    [Fact]
    public async Task The_persistent_shell_keeps_output_exit_codes_and_directories_apart_between_commands()
    {
        // Pinned to SSH.NET, so the OpenSSH CI pass runs it too.
        await OnSshNetAsync(Agent(6), $", workdir: {Agent(6).WorkDir}", async testbed =>
        {
            var machine = testbed["lab"]!;
            Assert.Equal("SshNet", machine.Transport);
            var first = await RunAsync(machine, new RemoteCommandSpec { Command = "printf 'no newline'; printf 'err' >&2; cd /; exit 7" });
            Assert.Equal(7, first.ExitCode);
            Assert.Equal("no newline", first.Stdout);
            Assert.Equal("err", first.Stderr);
            // Nothing of the first command (its directory, its variables) leaks into the next one on the same shell.
            var second = await RunAsync(machine, new RemoteCommandSpec { Command = "x=1; pwd; echo \"[$x]\"; printf '\\n\\n'" });
            Assert.Equal(0, second.ExitCode);
            Assert.Equal($"{machine.WorkDir}\n[1]\n\n\n", second.Stdout);
            var third = await RunAsync(machine, new RemoteCommandSpec { Command = "echo \"[$x]\"; read line; echo \"read:$?\"" });
            Assert.Equal("[]\nread:1\n", third.Stdout);
            // Output past the limit is cut and flagged, and the frame is still found.
            var big = await machine.Testbed!.Transport.ExecuteAsync(machine,
                new RemoteExecutionRequest { Command = "head -c 300000 /dev/zero | tr '\\0' a; echo tail >&2", OutputLimitBytes = 1000 }, CancellationToken.None);
            Assert.Equal(1000, big.Stdout.Length);
            Assert.Equal(new string('a', 1000), big.Stdout);
            Assert.True(big.OutputTruncated);
            Assert.Equal(0, big.ExitCode);
            Assert.Equal("tail\n", big.Stderr);
        });
    }

    [Fact]
    public async Task Kex_fast_negotiates_curve25519_on_ssh_net()
    {
        var agent = Agent(7);
        await OnSshNetAsync(agent, ", kex: fast", async testbed =>
        {
            var machine = testbed["lab"]!;
            var result = await RunAsync(machine, new RemoteCommandSpec { Command = "true" });
            Assert.True(result.Succeeded, result.Error?.Message);
            var negotiated = ((TransportRouter)testbed.Transport).SshNet.NegotiatedAlgorithms(machine);
            Assert.NotNull(negotiated);
            Assert.StartsWith("curve25519-sha256", negotiated!.Value.KeyExchange, StringComparison.Ordinal);
        });
    }
}
