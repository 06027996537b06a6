using System.Text.Json;

namespace Provisioning.PowerShellTests;

/// <summary>
/// Issue 11's rediscovery: processes started by one PowerShell session, which then ends, are found again by a new
/// session from the hosts' own registry (same pids, still Running, their logs readable), and stopped from there. A
/// third session owns the agents so that they outlive both.
/// </summary>
public sealed class ProcessRediscoveryTests
{
    [SkippableFact]
    public void A_new_session_finds_and_stops_the_processes_an_ended_session_started()
    {
        var pwsh = PwshSession.Dll();
        Skip.If(pwsh is null, "the pwsh local tool is not restored: run 'dotnet tool restore' in the repository (.ci/run does)");
        var directory = Directory.CreateTempSubdirectory("prov-rediscovery-").FullName;
        var (owner, yaml) = PwshSession.StartAgentOwner(pwsh!, 2, directory, "rediscovery");
        try
        {
            var name = $"rediscover{Random.Shared.Next(1000, 9999)}";
            // The agents have PID namespaces of their own: the test sees the processes by their command line.
            var marker = $"sleep {3000 + Random.Shared.Next(1000, 9000)}";
            var started = RunToEnd(pwsh!,
                $"New-Testbed -Path '{yaml}' | Out-Null; Get-AgentMachine | Start-AgentProcess -Name {name} -Command 'echo hello from {{{{ name }}}}; exec {marker}' | " +
                "ForEach-Object { @{ host = $_.Machine.Name; pid = $_.Pid; state = \"$($_.State)\" } | ConvertTo-Json -Compress }");
            Assert.Equal(2, started.Count);
            Assert.All(started, s => Assert.Equal("Running", s.GetProperty("state").GetString()));
            var pids = started.ToDictionary(s => s.GetProperty("host").GetString()!, s => s.GetProperty("pid").GetInt32());
            Assert.Equal(2, PwshSession.Processes().Count(p => p.CommandLine.Trim() == marker));

            var found = RunToEnd(pwsh!,
                $"New-Testbed -Path '{yaml}' | Out-Null; $p = Get-AgentMachine | Get-AgentProcess -Name 'rediscover*'; " +
                "$lines = Get-AgentMachine | Receive-AgentProcessOutput -Name " + name + "; " +
                "$p | ForEach-Object { $h = $_.Machine.Name; @{ host = $h; pid = $_.Pid; state = \"$($_.State)\"; line = ($lines | Where-Object { $_.Machine.Name -eq $h }).Line } | ConvertTo-Json -Compress }; " +
                $"Get-AgentMachine | Stop-AgentProcess -Name {name} -Confirm:$false | ForEach-Object {{ @{{ host = $_.Machine.Name; state = \"stopped:$($_.State)\" }} | ConvertTo-Json -Compress }}");
            var listed = found.Where(f => f.TryGetProperty("pid", out _)).ToList();
            Assert.Equal(2, listed.Count);
            foreach (var p in listed)
            {
                var host = p.GetProperty("host").GetString()!;
                Assert.Equal("Running", p.GetProperty("state").GetString());
                Assert.Equal(pids[host], p.GetProperty("pid").GetInt32());
                Assert.Equal($"hello from {host}", p.GetProperty("line").GetString());
            }
            var stopped = found.Where(f => !f.TryGetProperty("pid", out _)).Select(f => f.GetProperty("state").GetString()).ToList();
            Assert.Equal(["stopped:Killed", "stopped:Killed"], stopped);
            Assert.DoesNotContain(PwshSession.Processes(), p => p.CommandLine.Trim() == marker);
        }
        finally
        {
            PwshSession.StopAgentOwner(owner);
            Directory.Delete(directory, recursive: true);
        }
    }

    // Runs a whole session and returns the JSON lines it printed; a session that fails says why.
    private static List<JsonElement> RunToEnd(string pwsh, string script)
    {
        using var session = PwshSession.Start(pwsh, "$ErrorActionPreference = 'Stop'; " + script);
        session.StandardInput.Close();
        var output = session.StandardOutput.ReadToEndAsync();
        var error = session.StandardError.ReadToEndAsync();
        Assert.True(session.WaitForExit((int)TimeSpan.FromSeconds(90).TotalMilliseconds), "the session did not end");
        Assert.True(session.ExitCode == 0, $"the session failed ({session.ExitCode}): {error.Result}{output.Result}");
        return output.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }
}
