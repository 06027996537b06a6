using System.Globalization;
using Provisioning.Core.Execution;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;

namespace Provisioning.IntegrationTests.Commands;

/// <summary>
/// <c>kex: fast</c> against real sshd agents: a cold connection negotiates curve25519-sha256 (ssh's own debug log says
/// so), and the command runs as over the default exchange.
/// </summary>
[Collection("LocalTestbed")]
public sealed class KeyExchangeTests(LocalTestbedFixture fixture) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("prov-kex-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Kex_fast_connects_with_curve25519_and_runs_the_command()
    {
        var agent = fixture.Testbed.Machines[6];
        var c = agent.Connection;
        var file = Path.Combine(_directory, "fast.yaml");
        File.WriteAllText(file, string.Create(CultureInfo.InvariantCulture, $$"""
            name: fast
            state_dir: ./state
            defaults: { user: {{c.User}}, identity_file: {{c.IdentityFile}}, known_hosts: {{c.KnownHostsFile}}, kex: fast }
            hosts:
              lab: { address: {{agent.Address}}, port: {{agent.Port}} }
            """));
        var testbed = TestbedLoader.Load(file);
        try
        {
            var machine = testbed["lab"]!;
            var transport = ((TransportRouter)testbed.Transport).OpenSsh;
            // What ssh itself negotiates with these arguments, on a connection of its own (no master).
            var args = transport.BaseArguments(machine, master: false).Select(a => a.StartsWith("ControlPath=", StringComparison.Ordinal) ? "ControlPath=none" : a).ToList();
            var probe = new System.Diagnostics.ProcessStartInfo("ssh") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args.Concat(["-v", machine.Address, "true"])) probe.ArgumentList.Add(a);
            using (var ssh = System.Diagnostics.Process.Start(probe)!)
            {
                var log = await ssh.StandardError.ReadToEndAsync();
                await ssh.WaitForExitAsync();
                Assert.True(ssh.ExitCode == 0, log);
                Assert.Contains("kex: algorithm: curve25519-sha256", log);
            }

            var results = new List<RemoteCommandResult>();
            await foreach (var r in new RemoteCommandRunner().Operation(new RemoteCommandSpec { Command = "hostname" }).Stream([machine], null, CancellationToken.None).ReadAllAsync())
                results.Add(r);
            var result = Assert.Single(results);
            Assert.True(result.Succeeded, result.Error?.Message);
            Assert.Equal(agent.Name, result.Stdout.Trim());
        }
        finally
        {
            await testbed.RemoveAsync();
        }
    }
}
