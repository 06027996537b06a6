namespace Provisioning.PowerShellTests;

/// <summary>
/// A control node with no ssh binary (Windows without the OpenSSH client, a minimal container): a real pwsh whose
/// PATH holds no <c>ssh</c> drives the Local agents of another session through SSH.NET alone, with commands,
/// a push, a fetch and a detached process.
/// </summary>
public sealed class NoSshClientTests
{
    [SkippableFact]
    public void Without_ssh_on_PATH_auto_uses_ssh_net_for_every_host_and_everything_works()
    {
        var pwsh = PwshSession.Dll();
        Skip.If(pwsh is null, "the pwsh local tool is not restored: run 'dotnet tool restore' in the repository (.ci/run does)");
        var directory = Directory.CreateTempSubdirectory("prov-no-ssh-").FullName;
        // A PATH of its own: every program of this machine's bin folders except ssh. PROVISIONING_TRANSPORT is cleared, so
        // that the second CI pass (openssh) still tests auto.
        var bin = Path.Combine(directory, "bin");
        Directory.CreateDirectory(bin);
        foreach (var folder in new[] { "/usr/local/bin", "/usr/bin", "/bin" }.Where(Directory.Exists))
            foreach (var program in Directory.GetFiles(folder))
            {
                var name = Path.GetFileName(program);
                if (name is "ssh" or "slogin" || File.Exists(Path.Combine(bin, name))) continue;
                File.CreateSymbolicLink(Path.Combine(bin, name), program);
            }
        var (owner, yaml) = PwshSession.StartAgentOwner(pwsh!, 2, directory, "no-ssh");
        try
        {
            File.WriteAllText(Path.Combine(directory, "payload.txt"), "payload\n");
            var script =
                "if (Get-Command ssh -ErrorAction SilentlyContinue) { throw 'ssh is still on PATH' }; " +
                $"$tb = New-Testbed -Path '{yaml}'; " +
                "Get-AgentMachine | ForEach-Object { 'transport=' + $_.Transport }; " +
                "Get-AgentMachine | Invoke-RemoteCommand 'echo out-$(hostname)' | ForEach-Object { 'command=' + $_.Status + ':' + $_.Stdout.Trim() }; " +
                $"Get-AgentMachine | Send-AgentFile -Path '{directory}/payload.txt' -Destination 'in/' | ForEach-Object {{ 'push=' + $_.Status }}; " +
                "Get-AgentMachine | Invoke-RemoteCommand 'mkdir -p out; cp in/payload.txt out/r.txt' | Out-Null; " +
                $"Get-AgentMachine | Get-ExperimentResult -Path 'out/r.txt' -Destination '{directory}/results' | ForEach-Object {{ 'fetch=' + $_.Status }}; " +
                "Get-AgentMachine | Start-AgentProcess -Name nossh -Command 'sleep 60' | ForEach-Object { 'process=' + $_.State }; " +
                "Get-AgentMachine | Stop-AgentProcess -Name nossh -Confirm:$false | ForEach-Object { 'stopped=' + $_.State }; " +
                "'end'";
            using var controller = PwshSession.Start(pwsh!, script, new Dictionary<string, string> { ["PATH"] = bin, ["PROVISIONING_TRANSPORT"] = "" });
            var lines = new List<string>();
            for (var line = PwshSession.ReadLine(controller); line != "end"; line = PwshSession.ReadLine(controller)) lines.Add(line);
            controller.WaitForExit(10000);
            var said = string.Join("\n", lines) + "\n" + (controller.HasExited ? controller.StandardError.ReadToEnd() : "");
            Assert.True(lines.Count(l => l == "process=Running") == 2, $"both processes should run; the session said:\n{said}");
            Assert.Equal(2, lines.Count(l => l == "transport=SshNet"));
            Assert.Equal(2, lines.Count(l => l.StartsWith("command=Succeeded:out-", StringComparison.Ordinal)));
            Assert.Equal(2, lines.Count(l => l == "push=Succeeded"));
            Assert.Equal(2, lines.Count(l => l == "fetch=Succeeded"));
            Assert.Equal(2, lines.Count(l => l == "process=Running"));
            Assert.Equal(2, lines.Count(l => l == "stopped=Killed"));
            Assert.Equal(2, Directory.GetFiles(Path.Combine(directory, "results"), "r.txt", SearchOption.AllDirectories).Length);
        }
        finally
        {
            PwshSession.StopAgentOwner(owner);
            Directory.Delete(directory, recursive: true);
        }
    }
}
