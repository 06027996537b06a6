using System.Globalization;
using Provisioning.Core.Execution;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Testbeds;

namespace Provisioning.IntegrationTests.Commands;

/// <summary>
/// proxy_jump through a frontend that is itself a host of the testbed file, with two real sshd agents: the
/// frontend's own key, port and known_hosts carry the jump (ssh -J alone would look for them in ~/.ssh/config).
/// </summary>
[Collection("LocalTestbed")]
public sealed class ProxyJumpTests : IDisposable
{
    private readonly LocalTestbedFixture _fixture;
    private readonly string _directory = Directory.CreateTempSubdirectory("prov-jump-").FullName;

    public ProxyJumpTests(LocalTestbedFixture fixture) => _fixture = fixture;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_host_behind_a_frontend_of_the_testbed_is_reached_through_it()
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
            // The node's master connection lives on, and so does the ssh -W that carries it through the frontend.
            Assert.NotEmpty(ProcessTable.WithCommandLineContaining(jumpProcess));
        }
        finally
        {
            await testbed.RemoveAsync();
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (ProcessTable.WithCommandLineContaining(jumpProcess).Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Empty(ProcessTable.WithCommandLineContaining(jumpProcess));
    }
}
