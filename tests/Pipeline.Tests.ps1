# The one host-operation pipeline, seen through the cmdlets: the same fault reads the same whatever was asked,
# and machines of several testbeds are journaled in one run per testbed.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../module/Provisioning/Provisioning.psd1') -Force
    $first = New-Testbed -Provider Local -Count 2 -Name pipeline-a
    $second = New-Testbed -Provider Local -Count 2 -Name pipeline-b
}

AfterAll {
    $first, $second, $dead | Where-Object { $_ } | Remove-Testbed -Confirm:$false
}

Describe 'An unreachable machine' {
    BeforeAll {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $port = $listener.LocalEndpoint.Port
        $listener.Stop()
        Set-Content -Path (Join-Path $TestDrive 'known_hosts') -Value ''
        Set-Content -Path (Join-Path $TestDrive 'dead.yaml') -Value @"
hosts:
  dead-1: { address: 127.0.0.1, port: $port, known_hosts: ./known_hosts }
"@
        $dead = New-Testbed -Path (Join-Path $TestDrive 'dead.yaml')
        $machine = $dead.Machines[0]
        $file = Join-Path $TestDrive 'a.txt'
        Set-Content -Path $file -Value 'a'
    }

    It 'is Unreachable with the same error id, category and target from a command, a push and a fetch' {
        $command = $machine | Invoke-RemoteCommand 'true' -ErrorVariable commandErrors -ErrorAction SilentlyContinue
        $push = $machine | Send-AgentFile $file 'in/' -ErrorVariable pushErrors -ErrorAction SilentlyContinue
        $fetch = $machine | Get-ExperimentResult 'out/*' (Join-Path $TestDrive 'home') -ErrorVariable fetchErrors -ErrorAction SilentlyContinue

        foreach ($result in @($command, $push, $fetch)) {
            @($result).Count | Should -Be 1
            $result.Status | Should -Be 'Unreachable'
            $result.Succeeded | Should -BeFalse
            $result.Error.Kind | Should -Be 'HostUnreachable'
        }
        foreach ($errors in @($commandErrors, $pushErrors, $fetchErrors)) {
            @($errors).Count | Should -Be 1
            $errors[0].FullyQualifiedErrorId | Should -BeLike 'AgentMachineUnreachable,*'
            $errors[0].CategoryInfo.Category | Should -Be 'ConnectionError'
            $errors[0].TargetObject | Should -Be $machine
            $errors[0].Exception.Message | Should -BeLike 'dead-1 (127.0.0.1:*) is unreachable: *'
        }
    }

    It 'is journaled as a failed run with an Unreachable step' {
        $null = $machine | Invoke-RemoteCommand 'true' -ErrorAction SilentlyContinue
        $run = Get-ExperimentRun -Testbed $dead -Last 1
        $run.Status | Should -Be 'Failed'
        $steps = @($run | Get-ExperimentResult)
        $steps.Count | Should -Be 1
        $steps[0].Status | Should -Be 'Unreachable'
    }
}

Describe 'Machines of two testbeds' {
    It 'run in one call, and each testbed journals a run of its own machines' {
        $results = @(@($first.Machines) + @($second.Machines) | Invoke-RemoteCommand 'echo {{ testbed }}')
        $results.Count | Should -Be 4
        $results | ForEach-Object { $_.Stdout.Trim() | Should -Be $_.Machine.Testbed.Name }

        foreach ($testbed in $first, $second) {
            $mine = @($results | Where-Object { $_.Machine.Testbed -eq $testbed })
            $mine.Count | Should -Be 2
            $mine.JournalPath | Select-Object -Unique | Should -Be $testbed.JournalPath
            $run = Get-ExperimentRun -JournalPath $testbed.JournalPath -Id $mine[0].RunId
            $run.Testbed | Should -Be $testbed.Name
            $run.HostCount | Should -Be 2
            $run.StepCount | Should -Be 2
            $run.Status | Should -Be 'Succeeded'
            @($run | Get-ExperimentResult).Name | Sort-Object | Should -Be ($testbed.Machines.Name | Sort-Object)
        }
    }
}
