# Experiment processes through the cmdlets, on Local agents: EnOSlib's server-and-clients flow, errors, -WhatIf,
# piping processes, and the journal.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../module/Provisioning/Provisioning.psd1') -Force
    $testbed = New-Testbed -Provider Local -Count 3 -Role @{ server = 1; client = 2 }
    $server = Get-AgentMachine -Role server
    $clients = @(Get-AgentMachine -Role client)
    Get-AgentMachine | Set-AgentVariable -Name sink_port -Value (Get-Random -Minimum 20000 -Maximum 60000)
    # A sink that counts the bytes of each connection (Perl is on every Debian system; iperf3 may not be).
    $sink = 'exec perl -MIO::Socket::INET -e ''$| = 1; my $s = IO::Socket::INET->new(LocalAddr => shift, LocalPort => shift, Listen => 8, ReuseAddr => 1) or die "listen: $!"; ' +
        'while (my $c = $s->accept) { my ($n, $b) = (0); $n += length $b while sysread $c, $b, 65536; print "received $n bytes\n"; close $c }'' {{ address }} {{ sink_port }}'
}

AfterAll {
    $testbed | Remove-Testbed -Confirm:$false
}

Describe 'The EnOSlib server and clients flow' {
    It 'starts a server, runs clients against it, reads its log and stops it' {
        $started = $server | Start-AgentProcess -Name sink -Command $sink
        $started | Should -BeOfType 'Provisioning.Core.Processes.AgentProcess'
        $started.State | Should -Be 'Running'
        $started.Machine | Should -Be $server

        $sent = $clients | Invoke-RemoteCommand 'for i in 1 2 3 4 5 6 7 8 9 10; do bash -c "head -c 100000 /dev/zero > /dev/tcp/{{ server.address }}/{{ sink_port }}" 2>/dev/null && exit 0; sleep 0.2; done; exit 1' -ErrorAction Stop
        $sent.Succeeded | Should -Be @($true, $true)

        $lines = @($server | Receive-AgentProcessOutput sink -Stream Stdout)
        $lines.Count | Should -Be 2
        $lines | ForEach-Object { $_.Line | Should -Be 'received 100000 bytes'; $_.Process | Should -Be 'sink'; $_.Stream | Should -Be 'Stdout' }

        (Get-AgentProcess -InputObject $server sink).State | Should -Be 'Running'
        $stopped = $server | Stop-AgentProcess sink -GraceSec 1
        $stopped.State | Should -Be 'Killed'
        (Get-AgentProcess -InputObject $server sink).State | Should -Be 'Killed'
    }
}

Describe 'Start-AgentProcess' {
    It 'refuses a name that is not safe in a path' {
        { $server | Start-AgentProcess -Name '../x' -Command 'true' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
    }

    It 'refuses an environment variable name the shell cannot export, before anything runs' {
        $err = $null
        try { $server | Start-AgentProcess -Name envcheck -Command 'true' -Environment @{ 'BAD-NAME' = 1 } } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'AgentProcessSpecInvalid,*'
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.TargetObject | Should -Be 'BAD-NAME'
        ($server | Get-AgentProcess -Name 'envcheck*') | Should -BeNullOrEmpty
    }

    It 'gives an AgentProcessAlreadyRunning error for a name that runs, with the machine as target' {
        $null = $clients | Start-AgentProcess -Name twice -Command 'exec sleep 30'
        $again = $clients | Start-AgentProcess -Name twice -Command 'exec sleep 30' -ErrorVariable failures -ErrorAction SilentlyContinue
        $again.Status | Should -Be @('Failed', 'Failed')
        $failures.Count | Should -Be 2
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'AgentProcessAlreadyRunning,*'
        $failures[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        $clients | Should -Contain $failures[0].TargetObject
        ($clients | Start-AgentProcess -Name twice -Command 'exec sleep 31' -Force).State | Should -Be @('Running', 'Running')
    }

    It 'changes nothing with -WhatIf' {
        $server | Start-AgentProcess -Name ghost -Command 'sleep 30' -WhatIf | Should -BeNullOrEmpty
        $ghost = $server | Get-AgentProcess -Name ghost -ErrorAction SilentlyContinue -ErrorVariable missing
        $ghost.Status | Should -Be 'Failed'
        $ghost.State | Should -Be 'Unknown'
        $missing[0].FullyQualifiedErrorId | Should -BeLike 'AgentProcessNotFound,*'
    }

    It 'is journaled' {
        $null = $server | Start-AgentProcess -Name journaled -Command 'exec sleep 5'
        $run = Get-ExperimentRun -Last 1
        $run.Cmdlet | Should -Be 'Start-AgentProcess'
        $step = @($run | Get-ExperimentResult)[0]
        $step.Step | Should -Be 'process-start'
        $step.Detail | Should -BeLike 'journaled: exec sleep 5 -> Running*'
    }

    It 'completes -Name with the processes the journal has seen, on every process cmdlet' {
        $null = $server | Start-AgentProcess -Name completed-one -Command 'exec sleep 5'
        foreach ($command in 'Stop-AgentProcess', 'Get-AgentProcess', 'Wait-AgentProcess', 'Receive-AgentProcessOutput', 'Start-AgentProcess') {
            $line = "Get-AgentMachine | $command -Name completed-"
            $offered = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
            $offered | Should -Contain 'completed-one' -Because $command
            $offered | Should -Not -Contain 'journaled' -Because 'only names that start with what was typed are offered'
        }
    }
}

Describe 'Stop-, Wait-AgentProcess and piped processes' {
    It 'stops exactly the piped processes, each on its own machine' {
        $null = Get-AgentMachine | Start-AgentProcess -Name keep -Command 'exec sleep 30'
        $null = Get-AgentMachine | Start-AgentProcess -Name drop -Command 'exec sleep 30'
        $stopped = @(Get-AgentMachine | Get-AgentProcess -Name drop | Where-Object Name -ne $server.Name | Stop-AgentProcess -GraceSec 1)
        $stopped.Count | Should -Be 2
        $stopped.ProcessName | Select-Object -Unique | Should -Be 'drop'
        (Get-AgentMachine | Get-AgentProcess -Name keep).State | Select-Object -Unique | Should -Be 'Running'
        (Get-AgentProcess -InputObject $server -Name drop).State | Should -Be 'Running'
        $null = Get-AgentMachine | Stop-AgentProcess -Name keep, drop -GraceSec 1 -WhatIf
        (Get-AgentMachine | Get-AgentProcess -Name keep).State | Select-Object -Unique | Should -Be 'Running'
        $null = Get-AgentMachine | Stop-AgentProcess -Name keep, drop -GraceSec 1
    }

    It 'waits for processes to end and returns their exit codes, or times out with an error' {
        $null = $clients | Start-AgentProcess -Name short -Command 'sleep 0.5; exit {{ index }}'
        $done = $clients | Wait-AgentProcess short -TimeoutSec 20
        $done.State | Should -Be @('Exited', 'Exited')
        ($done | Sort-Object Name).ExitCode | Should -Be @($clients | Sort-Object Name | ForEach-Object Index)

        $null = $server | Start-AgentProcess -Name long -Command 'exec sleep 30'
        $late = $server | Wait-AgentProcess long -TimeoutSec 1 -ErrorVariable waited -ErrorAction SilentlyContinue
        $late.Status | Should -Be 'TimedOut'
        $late.State | Should -Be 'Running'
        $waited[0].FullyQualifiedErrorId | Should -BeLike 'RemoteCommandTimedOut,*'
        $null = $server | Stop-AgentProcess long -GraceSec 1
    }

    It 'follows output until the processes end, with progress counting machines' {
        $null = $clients | Start-AgentProcess -Name count -Command 'for i in 1 2 3 4 5; do echo {{ name }} $i; sleep 0.1; done'
        $lines = @($clients | Receive-AgentProcessOutput count -Follow -Stream Stdout)
        $lines.Count | Should -Be 10
        foreach ($client in $clients) {
            ($lines | Where-Object Name -eq $client.Name).Line | Should -Be (1..5 | ForEach-Object { "$($client.Name) $_" })
        }
    }
}
