using System.Globalization;
using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Testbeds;

namespace Provisioning.IntegrationTests.Commands;

/// <summary>
/// proxy_jump with real sshd agents: through a frontend that is itself a host of the testbed file (its own key, port
/// and known_hosts carry the jump), through a <c>user@address:port</c> that is not (the testbed's key and
/// known_hosts carry it; ssh -J alone would look for them in ~/.ssh), through a chain of two, and a failed jump whose
/// error names the jump host and ssh's first, real reason.
/// </summary>
[Collection("LocalTestbed")]
public sealed class ProxyJumpTests : IDisposable
{
    private readonly LocalTestbedFixture _fixture;
    private readonly string _directory = Directory.CreateTempSubdirectory("prov-jump-").FullName;

    public ProxyJumpTests(LocalTestbedFixture fixture) => _fixture = fixture;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("openssh")]
    [InlineData("sshnet")]
    public async Task A_host_behind_a_frontend_of_the_testbed_is_reached_through_it(string transport)
    {
        var frontend = _fixture.Testbed.Machines[4];
        var node = _fixture.Testbed.Machines[5];
        var c = frontend.Connection;
        var file = Path.Combine(_directory, "jumped.yaml");
        File.WriteAllText(file, string.Create(CultureInfo.InvariantCulture, $"""
            name: jumped
            state_dir: ./state
            defaults:
              user: {c.User}
              identity_file: {c.IdentityFile}
              known_hosts: {c.KnownHostsFile}
              transport: {transport}
            hosts:
              frontend: {"{"} address: {frontend.Address}, port: {frontend.Port} {"}"}
              node: {"{"} address: {node.Address}, port: {node.Port}, proxy_jump: frontend {"}"}
            """));
        var testbed = TestbedLoader.Load(file);
        var jumpProcess = $"-W [{node.Address}]:{node.Port} -- {frontend.Address}";
        try
        {
            var results = new List<RemoteCommandResult>();
            await foreach (var r in new RemoteCommandRunner().Operation(new RemoteCommandSpec { Command = "hostname" }).Stream([testbed["node"]!], null, CancellationToken.None).ReadAllAsync())
                results.Add(r);

            var result = Assert.Single(results);
            Assert.True(result.Succeeded, result.Error?.Message + result.Stderr);
            Assert.Equal(node.Name, result.Stdout.Trim());
            Assert.Equal(transport == "sshnet" ? "SshNet" : "OpenSsh", testbed["node"]!.Transport);
            // On OpenSSH, the node's master connection lives on, and so does the ssh -W that carries it through the
            // frontend; SSH.NET carries it in process, on a channel of the frontend's connection.
            if (transport == "openssh") Assert.NotEmpty(ProcessTable.WithCommandLineContaining(jumpProcess));
            else Assert.Empty(ProcessTable.WithCommandLineContaining(jumpProcess));
        }
        finally
        {
            await testbed.RemoveAsync();
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (ProcessTable.WithCommandLineContaining(jumpProcess).Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Empty(ProcessTable.WithCommandLineContaining(jumpProcess));
    }

    [Theory]
    [InlineData("openssh")]
    [InlineData("sshnet")]
    public async Task A_jump_host_outside_the_testbed_uses_the_testbeds_key_and_known_hosts(string transport)
    {
        var jump = _fixture.Testbed.Machines[4];
        var node = _fixture.Testbed.Machines[5];
        var testbed = TestbedLoader.Load(WriteTestbed("outside.yaml", $"{jump.User}@{jump.Address}:{jump.Port}", node, _fixture.Testbed.Machines[0].Connection.KnownHostsFile!, transport));
        try
        {
            var result = await RunHostname(testbed["node"]!);
            Assert.True(result.Succeeded, result.Error?.Message + result.Stderr);
            Assert.Equal(node.Name, result.Stdout.Trim());
        }
        finally
        {
            await testbed.RemoveAsync();
        }
    }

    [Theory]
    [InlineData("openssh")]
    [InlineData("sshnet")]
    public async Task A_chain_of_two_jump_hosts_outside_the_testbed_is_followed_in_order(string transport)
    {
        var first = _fixture.Testbed.Machines[3];
        var second = _fixture.Testbed.Machines[4];
        var node = _fixture.Testbed.Machines[5];
        var chain = $"{first.User}@{first.Address}:{first.Port},{second.User}@{second.Address}:{second.Port}";
        var testbed = TestbedLoader.Load(WriteTestbed("chain.yaml", chain, node, _fixture.Testbed.Machines[0].Connection.KnownHostsFile!, transport));
        try
        {
            var result = await RunHostname(testbed["node"]!);
            Assert.True(result.Succeeded, result.Error?.Message + result.Stderr);
            Assert.Equal(node.Name, result.Stdout.Trim());
            Assert.Equal(transport == "sshnet" ? "SshNet" : "OpenSsh", testbed["node"]!.Transport);
            // On OpenSSH, the second hop is reached through the first: its ssh -W runs inside the first one's ProxyCommand.
            if (transport == "openssh")
                Assert.Contains(ProcessTable.WithCommandLineContaining($"-W [{second.Address}]:{second.Port} -- {first.Address}"), _ => true);
        }
        finally
        {
            await testbed.RemoveAsync();
        }
    }

    [Theory]
    [InlineData("openssh")]
    [InlineData("sshnet")]
    public async Task A_failed_jump_names_the_jump_host_and_the_real_reason(string transport)
    {
        var jump = _fixture.Testbed.Machines[4];
        var node = _fixture.Testbed.Machines[5];
        // known_hosts knows the node but not the jump host (and ~/.ssh/known_hosts does not know a fresh agent key).
        var knownHosts = Path.Combine(_directory, "known_hosts");
        File.WriteAllLines(knownHosts, File.ReadAllLines(_fixture.Testbed.Machines[0].Connection.KnownHostsFile!)
            .Where(l => !l.StartsWith($"[{jump.Address}]:{jump.Port} ", StringComparison.Ordinal)));
        var spec = $"{jump.User}@{jump.Address}:{jump.Port}";
        var testbed = TestbedLoader.Load(WriteTestbed("failing.yaml", spec, node, knownHosts, transport));
        try
        {
            var result = await RunHostname(testbed["node"]!);
            Assert.Equal(HostStatus.Unreachable, result.Status);
            Assert.Equal(ErrorKind.HostKeyVerificationFailed, result.Error!.Kind);
            Assert.True(result.Error.Message.Contains($"jump host {spec}: ", StringComparison.Ordinal), result.Error.Message);
            Assert.EndsWith("Host key verification failed.", result.Error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("UNKNOWN port 65535", result.Error.Message, StringComparison.Ordinal);
        }
        finally
        {
            await testbed.RemoveAsync();
        }
    }

    private string WriteTestbed(string name, string proxyJump, AgentMachine node, string knownHosts, string transport)
    {
        var c = node.Connection;
        var file = Path.Combine(_directory, name);
        File.WriteAllText(file, string.Create(CultureInfo.InvariantCulture, $"""
            name: {Path.GetFileNameWithoutExtension(name)}
            state_dir: ./state-{Path.GetFileNameWithoutExtension(name)}-{transport}
            defaults:
              user: {c.User}
              identity_file: {c.IdentityFile}
              known_hosts: {knownHosts}
              proxy_jump: "{proxyJump}"
              transport: {transport}
            hosts:
              node: {"{"} address: {node.Address}, port: {node.Port} {"}"}
            """));
        return file;
    }

    private static async Task<RemoteCommandResult> RunHostname(AgentMachine machine)
    {
        var results = new List<RemoteCommandResult>();
        await foreach (var r in new RemoteCommandRunner().Operation(new RemoteCommandSpec { Command = "hostname" }).Stream([machine], null, CancellationToken.None).ReadAllAsync())
            results.Add(r);
        return Assert.Single(results);
    }
}
