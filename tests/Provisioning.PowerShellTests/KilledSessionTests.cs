using System.Diagnostics;
using System.Text.Json;

namespace Provisioning.PowerShellTests;

/// <summary>
/// A PowerShell session killed with SIGKILL while it holds a Local testbed with private roots and an offline network:
/// the crash guard stops the agents and the namespace holder and deletes the state, and no mount of theirs is left.
/// This runs a real pwsh (the repository's local tool, <c>dotnet tool restore</c>), because only a separate process
/// can be killed.
/// </summary>
public sealed class KilledSessionTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public void A_killed_session_leaves_no_agent_mount_namespace_or_state_behind()
    {
        Skip.IfNot(IsRoot(), "private roots and offline networks need root (CI runs as root)");
        var pwsh = PwshDll();
        Skip.If(pwsh is null, "the pwsh local tool is not restored: run 'dotnet tool restore' in the repository (.ci/run does)");
        var hostMounts = File.ReadAllLines("/proc/self/mountinfo");

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryPaths.Root };
        foreach (var a in new[] { pwsh!, "-NoProfile", "-NonInteractive", "-Command",
                     $"Import-Module '{RepositoryPaths.ModuleManifest}'; $tb = New-Testbed -Provider Local -Count 3 -Network Offline -Isolation Private; " +
                     "@{ pid = $PID; state = $tb.StateDirectory } | ConvertTo-Json -Compress; Start-Sleep 600" })
            start.ArgumentList.Add(a);
        using var session = Process.Start(start)!;
        string? state = null;
        try
        {
            var line = session.StandardOutput.ReadLineAsync();
            Assert.True(line.Wait(Patience), "the session did not start its testbed in time");
            Assert.NotNull(line.Result);
            using var said = JsonDocument.Parse(line.Result!);
            var pid = said.RootElement.GetProperty("pid").GetInt32();
            state = said.RootElement.GetProperty("state").GetString()!;
            Assert.Equal(session.Id, pid);

            // The agents are up, each with its overlay root mounted in its own namespace only.
            var listeners = Processes().Where(p => p.CommandLine.Contains(state, StringComparison.Ordinal) && p.CommandLine.Contains("sshd -D")).ToList();
            Assert.Equal(3, listeners.Count);
            Assert.All(listeners, l => Assert.Contains(File.ReadLines($"/proc/{l.Pid}/mountinfo"), m => m.Contains(" overlay ", StringComparison.Ordinal)));
            Assert.DoesNotContain(File.ReadLines("/proc/self/mountinfo"), m => m.Contains(state, StringComparison.Ordinal));
            Assert.Contains(Processes(), p => p.CommandLine.Contains("provisioning-offline-network", StringComparison.Ordinal) && p.CommandLine.Contains(state));

            session.Kill(); // SIGKILL: no exit handler of the session runs
            Assert.True(session.WaitForExit(5000));

            var clock = Stopwatch.StartNew();
            while ((Processes().Any(p => p.CommandLine.Contains(state, StringComparison.Ordinal)) || Directory.Exists(state)) && clock.Elapsed < Patience)
                Thread.Sleep(100);
            Assert.DoesNotContain(Processes(), p => p.CommandLine.Contains(state, StringComparison.Ordinal));
            Assert.False(Directory.Exists(state), $"the state folder {state} (keys, upper layers) is still there");
            Assert.Equal(hostMounts.Order(), File.ReadAllLines("/proc/self/mountinfo").Order());
        }
        finally
        {
            if (!session.HasExited) session.Kill(entireProcessTree: true);
        }
    }

    [SkippableFact]
    public void A_killed_controller_leaves_no_remote_command_running()
    {
        var pwsh = PwshDll();
        Skip.If(pwsh is null, "the pwsh local tool is not restored: run 'dotnet tool restore' in the repository (.ci/run does)");
        var directory = Directory.CreateTempSubdirectory("prov-killed-controller-").FullName;
        // One session owns the agents and stays alive; a second one, the controller, runs the commands and is killed.
        using var owner = StartPwsh(pwsh!,
            "$tb = New-Testbed -Provider Local -Count 3; " +
            "Get-AgentMachine | ForEach-Object { @{ address = $_.Address; port = $_.Port; user = $_.User; key = $_.Connection.IdentityFile; known = $_.Connection.KnownHostsFile } | ConvertTo-Json -Compress }; " +
            "'ready'; Start-Sleep 600");
        Process? controller = null;
        try
        {
            var agents = new List<JsonElement>();
            for (var line = ReadLine(owner); line != "ready"; line = ReadLine(owner))
                agents.Add(JsonDocument.Parse(line).RootElement.Clone());
            Assert.Equal(3, agents.Count);
            var yaml = Path.Combine(directory, "agents.yaml");
            File.WriteAllLines(yaml, new[]
            {
                "name: killed-controller",
                "state_dir: ./state",
                "defaults:",
                $"  user: {agents[0].GetProperty("user").GetString()}",
                $"  identity_file: {agents[0].GetProperty("key").GetString()}",
                $"  known_hosts: {agents[0].GetProperty("known").GetString()}",
                "hosts:",
            }.Concat(agents.Select((a, i) => $"  a{i}: {{ address: {a.GetProperty("address").GetString()}, port: {a.GetProperty("port").GetInt32()} }}")));

            var marker = $"sleep {3000 + Random.Shared.Next(1000, 9000)}";
            controller = StartPwsh(pwsh!, $"$tb = New-Testbed -Path '{yaml}'; 'ready'; Get-AgentMachine | Invoke-RemoteCommand '{marker}; echo done'");
            Assert.Equal("ready", ReadLine(controller));
            var clock = Stopwatch.StartNew();
            while (Processes().Count(p => p.CommandLine.Trim() == marker) < 3 && clock.Elapsed < Patience) Thread.Sleep(100);
            Assert.Equal(3, Processes().Count(p => p.CommandLine.Trim() == marker));

            controller.Kill(); // SIGKILL: nothing of the controller's own can clean up
            Assert.True(controller.WaitForExit(5000));

            clock.Restart();
            while (Processes().Any(p => p.CommandLine.Trim() == marker) && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(100);
            Assert.DoesNotContain(Processes(), p => p.CommandLine.Trim() == marker);
        }
        finally
        {
            if (controller is { HasExited: false }) controller.Kill(entireProcessTree: true);
            controller?.Dispose();
            owner.StandardInput.Close();
            owner.Kill(); // its crash guard removes the agents
            owner.WaitForExit(10000);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static Process StartPwsh(string pwsh, string script)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, WorkingDirectory = RepositoryPaths.Root };
        foreach (var a in new[] { pwsh, "-NoProfile", "-NonInteractive", "-Command", $"Import-Module '{RepositoryPaths.ModuleManifest}'; " + script })
            start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }

    private static string ReadLine(Process process)
    {
        var line = process.StandardOutput.ReadLineAsync();
        Assert.True(line.Wait(Patience), "the PowerShell session did not answer in time");
        return line.Result ?? throw new Xunit.Sdk.XunitException("the PowerShell session ended: " + process.StandardError.ReadToEnd());
    }

    private static bool IsRoot() =>
        File.ReadAllLines("/proc/self/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t')[1] == "0");

    // The pwsh of the local tool manifest (.config/dotnet-tools.json), run with dotnet directly so that the process
    // killed is PowerShell itself, not a launcher in front of it.
    private static string? PwshDll()
    {
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Root, ".config", "dotnet-tools.json")));
        var version = manifest.RootElement.GetProperty("tools").GetProperty("powershell").GetProperty("version").GetString()!;
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var tools = Path.Combine(packages, "powershell", version, "tools");
        return Directory.Exists(tools) ? Directory.GetFiles(tools, "pwsh.dll", SearchOption.AllDirectories).FirstOrDefault(p => p.Contains("unix", StringComparison.Ordinal)) : null;
    }

    private static IEnumerable<(int Pid, string CommandLine)> Processes()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (File.ReadAllText(Path.Combine(dir, "stat")).Split(") ")[^1].StartsWith('Z')) continue;
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }
            yield return (pid, text);
        }
    }
}
