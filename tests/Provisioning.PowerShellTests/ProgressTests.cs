using System.Management.Automation;

namespace Provisioning.PowerShellTests;

/// <summary>
/// Progress is written on the pipeline thread and counts hosts for every cmdlet, whatever each host returns
/// (one result per file for transfers). Read from the hosted engine's progress stream, which Pester cannot see.
/// </summary>
public sealed class ProgressTests
{
    private const string Script = """
        param([string] $Module)
        Import-Module $Module
        $testbed = New-Testbed -Provider Local -Count 2
        try {
            $folder = Join-Path ([System.IO.Path]::GetTempPath()) ([guid]::NewGuid())
            $null = New-Item -ItemType Directory -Path $folder
            1..3 | ForEach-Object { Set-Content -Path (Join-Path $folder "f$_.txt") -Value $_ }
            $sent = @(Get-AgentMachine | Send-AgentFile $folder 'progress/')
            $fetched = @(Get-AgentMachine | Receive-AgentFile 'progress/*.txt' (Join-Path $folder 'home'))
            $ran = @(Get-AgentMachine | Invoke-RemoteCommand 'true')
            Remove-Item -Recurse -Force $folder
            $sent.Count; $fetched.Count; $ran.Count
        }
        finally {
            $testbed | Remove-Testbed -Confirm:$false
        }
        """;

    [Fact]
    public void Every_cmdlet_counts_hosts_not_results()
    {
        using var runspace = PesterRunner.OpenRunspace();
        using var shell = PowerShell.Create(runspace);
        shell.AddScript(Script).AddParameter("Module", Path.Combine(RepositoryPaths.Root, "module", "Provisioning", "Provisioning.psd1"));
        var counts = shell.Invoke().Select(o => (int)o.BaseObject).ToArray();
        Assert.False(shell.HadErrors, string.Join("\n", shell.Streams.Error));
        Assert.Equal(new[] { 6, 6, 2 }, counts);

        var byActivity = shell.Streams.Progress.GroupBy(p => p.Activity).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var activity in new[] { "Send-AgentFile", "Receive-AgentFile", "Invoke-RemoteCommand" })
        {
            Assert.True(byActivity.ContainsKey(activity), $"no progress for {activity}: {string.Join(", ", byActivity.Keys)}");
            var records = byActivity[activity];
            Assert.All(records, p => Assert.Matches(@"^\d of 2 hosts done$", p.StatusDescription));
            Assert.Equal(new[] { "0 of 2 hosts done", "1 of 2 hosts done", "2 of 2 hosts done" },
                records.Select(p => p.StatusDescription).Distinct());
            Assert.Equal(ProgressRecordType.Completed, records[^1].RecordType);
        }
    }
}
