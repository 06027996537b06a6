# User flows of Get-AgentMachine, Set-AgentVariable and Test-AgentMachine on a Local testbed.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../module/Provisioning/Provisioning.psd1') -Force
    $testbed = New-Testbed -Provider Local -Count 4 -Role @{ server = 1; client = 3 }
    $clients = @(Get-AgentMachine -Role client)
}

AfterAll {
    $testbed | Remove-Testbed -Confirm:$false
}

Describe 'Get-AgentMachine' {
    It 'returns typed machines with their testbed' {
        $machine = Get-AgentMachine | Select-Object -First 1
        $machine | Should -BeOfType 'Provisioning.Core.Testbeds.AgentMachine'
        $machine.Testbed | Should -Be $testbed
        $machine.Index | Should -Be 0
    }

    It 'selects by name with wildcards' {
        $name = $clients[0].Name
        (Get-AgentMachine -Name $name).Name | Should -Be $name
        (Get-AgentMachine -Name ($name.Substring(0, $name.Length - 1) + '*')).Name | Should -Contain $name
    }

    It 'follows Ansible host patterns' {
        @(Get-AgentMachine -Pattern 'server:client').Count | Should -Be 4
        @(Get-AgentMachine -Pattern 'all:&server').Count | Should -Be 1
        $left = Get-AgentMachine -Pattern "client:!$($clients[0].Name)"
        @($left).Count | Should -Be 2
        $left.Name | Should -Not -Contain $clients[0].Name
    }

    It 'stops on a malformed pattern' {
        { Get-AgentMachine -Pattern 'server:&' } | Should -Throw -ErrorId 'HostPatternInvalid,*'
    }

    It 'warns on an empty selection instead of failing' {
        $result = Get-AgentMachine -Name 'no-such-machine*' -WarningVariable warnings -WarningAction SilentlyContinue
        $result | Should -BeNullOrEmpty
        $warnings.Count | Should -BeGreaterThan 0
    }

    It 'takes machines back from results by property name, once each' {
        $results = $clients | Invoke-RemoteCommand 'true'
        $again = @($results; $results) | Get-AgentMachine
        @($again).Count | Should -Be 3
        ($again.Name | Sort-Object) | Should -Be ($clients.Name | Sort-Object)
    }
}

Describe 'Tab completion' {
    BeforeAll {
        function Complete([string] $line, [int] $back = 0) {
            (TabExpansion2 $line ($line.Length - $back)).CompletionMatches.CompletionText
        }
    }

    It 'completes machine names and roles' {
        Complete 'Get-AgentMachine -Name agent-' | Should -Be @('agent-1', 'agent-2', 'agent-3', 'agent-4')
        Complete 'Get-AgentMachine -Role cl' | Should -Be 'client'
    }

    It 'completes the last term of a host pattern, keeping what comes before it' {
        Complete "Get-AgentMachine -Pattern 'server:&cl'" 1 | Should -Be "'server:&client'"
        Complete 'Get-AgentMachine -Pattern server:!agent-' | Should -Be @('server:!agent-1', 'server:!agent-2', 'server:!agent-3', 'server:!agent-4')
    }

    It 'completes run ids from the journal, newest first' {
        $null = $clients | Invoke-RemoteCommand 'true'
        $newest = (Get-ExperimentRun -Last 1).Id
        (Complete 'Get-ExperimentResult -RunId ')[0] | Should -Be "$newest"
    }
}

Describe 'Set-AgentVariable' {
    It 'sets a variable that later commands see' {
        $clients | Set-AgentVariable -Name rate -Value 42
        $results = $clients | Invoke-RemoteCommand 'echo {{ rate }}'
        $results.Stdout.Trim() | Should -Be @('42', '42', '42')
        $clients[0].Variables['RATE'] | Should -Be 42
    }

    It 'sets several variables from a table and passes the machines on' {
        $out = $clients[0] | Set-AgentVariable -Variable @{ a = 'x'; b = @{ c = 'y' } } -PassThru
        $out | Should -Be $clients[0]
        ($out | Invoke-RemoteCommand 'echo {{ a }}-{{ b.c }}').Stdout.Trim() | Should -Be 'x-y'
    }
}

Describe 'Test-AgentMachine' {
    It 'reports every agent as reachable with a latency' {
        $status = Test-AgentMachine
        @($status).Count | Should -Be 4
        $status.Reachable | Should -Not -Contain $false
        $status | ForEach-Object { $_.Latency | Should -Not -BeNullOrEmpty }
    }

    It 'returns one Boolean with -Quiet' {
        Test-AgentMachine -Quiet | Should -BeTrue
    }

    Context 'a host that does not answer' {
        BeforeAll {
            $file = Join-Path $TestDrive 'down.yaml'
            # Port 9 on loopback: nothing listens, so the connection is refused.
            Set-Content -Path $file -Value "name: down`nhosts:`n  dead:`n    address: 127.0.0.1`n    port: 9`n"
            $down = New-Testbed -Path $file
        }

        AfterAll {
            $down | Remove-Testbed -Confirm:$false
        }

        It 'is reported unreachable with a non-terminating error' {
            $status = Test-AgentMachine -Testbed $down -ErrorVariable failure -ErrorAction SilentlyContinue
            $status.Reachable | Should -BeFalse
            $failure[0].FullyQualifiedErrorId | Should -BeLike 'AgentMachineUnreachable*'
            $failure[0].TargetObject.Name | Should -Be 'dead'
            Test-AgentMachine -Testbed $down -Quiet | Should -BeFalse
        }

        It 'is polled with -Wait until the timeout' {
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $status = Test-AgentMachine -Testbed $down -Wait -TimeoutSec 3 -ErrorAction SilentlyContinue
            $clock.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 2.5
            $status.Attempts | Should -BeGreaterThan 1
            $status.Reachable | Should -BeFalse
        }
    }
}
