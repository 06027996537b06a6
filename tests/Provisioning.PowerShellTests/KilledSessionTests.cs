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
    private static readonly TimeSpan Patience = PwshSession.Patience;

    [SkippableFact]
    public void A_killed_session_leaves_no_agent_mount_namespace_or_state_behind()
    {
        Skip.IfNot(PwshSession.IsRoot(), "private roots and offline networks need root (CI runs as root)");
        var pwsh = PwshSession.Dll();
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
            var listeners = PwshSession.Processes().Where(p => p.CommandLine.Contains(state, StringComparison.Ordinal) && p.CommandLine.Contains("sshd -D")).ToList();
            Assert.Equal(3, listeners.Count);
            Assert.All(listeners, l => Assert.Contains(File.ReadLines($"/proc/{l.Pid}/mountinfo"), m => m.Contains(" overlay ", StringComparison.Ordinal)));
            Assert.DoesNotContain(File.ReadLines("/proc/self/mountinfo"), m => m.Contains(state, StringComparison.Ordinal));
            Assert.Contains(PwshSession.Processes(), p => p.CommandLine.Contains("provisioning-offline-network", StringComparison.Ordinal) && p.CommandLine.Contains(state));

            session.Kill(); // SIGKILL: no exit handler of the session runs
            Assert.True(session.WaitForExit(5000));

            var clock = Stopwatch.StartNew();
            while ((PwshSession.Processes().Any(p => p.CommandLine.Contains(state, StringComparison.Ordinal)) || Directory.Exists(state)) && clock.Elapsed < Patience)
                Thread.Sleep(100);
            Assert.DoesNotContain(PwshSession.Processes(), p => p.CommandLine.Contains(state, StringComparison.Ordinal));
            Assert.False(Directory.Exists(state), $"the state folder {state} (keys, upper layers) is still there");
            Assert.Equal(hostMounts.Order(), File.ReadAllLines("/proc/self/mountinfo").Order());
        }
        finally
        {
            if (!session.HasExited) session.Kill(entireProcessTree: true);
        }
    }

    [SkippableTheory]
    [InlineData("OpenSsh")]
    [InlineData("SshNet")]
    public void A_killed_controller_leaves_no_remote_command_running(string transport)
    {
        var pwsh = PwshSession.Dll();
        Skip.If(pwsh is null, "the pwsh local tool is not restored: run 'dotnet tool restore' in the repository (.ci/run does)");
        var directory = Directory.CreateTempSubdirectory("prov-killed-controller-").FullName;
        // One session owns the agents and stays alive; a second one, the controller, runs the commands and is killed.
        var (owner, yaml) = PwshSession.StartAgentOwner(pwsh!, 3, directory, "killed-controller");
        Process? controller = null;
        try
        {
            var marker = $"sleep {3000 + Random.Shared.Next(1000, 9000)}";
            controller = PwshSession.Start(pwsh!, $"$tb = New-Testbed -Path '{yaml}' -Transport {transport}; 'ready'; Get-AgentMachine | Invoke-RemoteCommand '{marker}; echo done'");
            Assert.Equal("ready", PwshSession.ReadLine(controller));
            var clock = Stopwatch.StartNew();
            while (PwshSession.Processes().Count(p => p.CommandLine.Trim() == marker) < 3 && clock.Elapsed < Patience) Thread.Sleep(100);
            Assert.Equal(3, PwshSession.Processes().Count(p => p.CommandLine.Trim() == marker));

            controller.Kill(); // SIGKILL: nothing of the controller's own can clean up
            Assert.True(controller.WaitForExit(5000));

            clock.Restart();
            while (PwshSession.Processes().Any(p => p.CommandLine.Trim() == marker) && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(100);
            Assert.DoesNotContain(PwshSession.Processes(), p => p.CommandLine.Trim() == marker);
        }
        finally
        {
            if (controller is { HasExited: false }) controller.Kill(entireProcessTree: true);
            controller?.Dispose();
            PwshSession.StopAgentOwner(owner);
            Directory.Delete(directory, recursive: true);
        }
    }
}
