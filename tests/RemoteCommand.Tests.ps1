# User flows of Invoke-RemoteCommand on a Local testbed.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../module/Provisioning/Provisioning.psd1') -Force
    $testbed = New-Testbed -Provider Local -Count 4 -Role @{ server = 1; client = 3 }
    $server = Get-AgentMachine -Role server
    $clients = @(Get-AgentMachine -Role client)
}

AfterAll {
    $testbed | Remove-Testbed -Confirm:$false
}

Describe 'Invoke-RemoteCommand' {
    It 'returns one result per host with the rendered command' {
        $results = Get-AgentMachine | Invoke-RemoteCommand 'echo {{ name }}'
        @($results).Count | Should -Be 4
        $results | ForEach-Object {
            $_ | Should -BeOfType 'Provisioning.Core.RemoteCommands.RemoteCommandResult'
            $_.Succeeded | Should -BeTrue
            $_.ExitCode | Should -Be 0
            $_.Stdout.Trim() | Should -Be $_.Machine.Name
            $_.Command | Should -Be "echo $($_.Machine.Name)"
        }
    }

    It 'accepts machine names' {
        (Invoke-RemoteCommand -InputObject $server.Name -Command 'true').Name | Should -Be $server.Name
    }

    It 'renders objects passed with -Variable' {
        $results = $clients | Invoke-RemoteCommand 'echo {{ server.address }} {{ cfg.port }}' -Variable @{ server = $server; cfg = [pscustomobject]@{ port = 5201 } }
        $results.Stdout.Trim() | Should -Be @(1..3 | ForEach-Object { "$($server.Address) 5201" })
    }

    It 'knows the roles: a one-machine role is that machine, a larger one its list' {
        $server | Set-AgentVariable -Name port -Value 5201
        $results = $clients | Invoke-RemoteCommand 'echo {{ server.address }}:{{ server.port }} {{#each client}}{{ name }} {{/each}}'
        $expected = "$($server.Address):5201 " + (($clients.Name | ForEach-Object { "$_ " }) -join '')
        $results.Stdout.TrimEnd() | Should -Be (@($expected.TrimEnd()) * 3)
    }

    It 'shell-quotes with the quote helper' {
        $result = $server | Invoke-RemoteCommand 'printf %s {{ quote text }}' -Variable @{ text = "it's a `$HOME; test" }
        $result.Stdout | Should -BeExactly "it's a `$HOME; test"
    }

    It 'gives a failing host a result and a non-terminating error while the others carry on' {
        # Not -f: it would read the template's {{ }} as escaped braces.
        $template = 'if [ {{ name }} = ' + $clients[0].Name + ' ]; then echo bad >&2; exit 3; fi'
        $results = Get-AgentMachine | Invoke-RemoteCommand $template -ErrorVariable failure -ErrorAction SilentlyContinue
        @($results).Count | Should -Be 4
        $bad = $results | Where-Object { -not $_.Succeeded }
        $bad.Name | Should -Be $clients[0].Name
        $bad.ExitCode | Should -Be 3
        $bad.Status | Should -Be 'Failed'
        $failure.Count | Should -Be 1
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'RemoteCommandFailed*'
        $failure[0].TargetObject | Should -Be $clients[0]
        $failure[0].CategoryInfo.Category | Should -Be 'InvalidResult'
    }

    It 'stops the pipeline with -ErrorAction Stop' {
        { $server | Invoke-RemoteCommand 'exit 1' -ErrorAction Stop } | Should -Throw -ErrorId 'RemoteCommandFailed,*'
    }

    It 'names an undefined variable and runs nothing for that host' {
        $result = $server | Invoke-RemoteCommand 'echo {{ no_such_variable }}' -ErrorVariable failure -ErrorAction SilentlyContinue
        $result.Status | Should -Be 'TemplateError'
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'TemplateVariableUndefined*'
        $failure[0].Exception.Message | Should -BeLike '*no_such_variable*'
    }

    It 'kills a command that runs past -TimeoutSec' {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $result = $server | Invoke-RemoteCommand 'sleep 60' -TimeoutSec 1 -ErrorVariable failure -ErrorAction SilentlyContinue
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 15
        $result.Status | Should -Be 'TimedOut'
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'RemoteCommandTimedOut*'
        # The remote process group was killed, not left running ([6] keeps pgrep from matching itself).
        $deadline = [datetime]::Now.AddSeconds(5)
        do {
            $left = ($server | Invoke-RemoteCommand 'pgrep -f "sleep [6]0" || true').Stdout.Trim()
        } while ($left -and [datetime]::Now -lt $deadline)
        $left | Should -BeNullOrEmpty
    }

    It 'runs nothing with -WhatIf' {
        $results = Get-AgentMachine | Invoke-RemoteCommand 'touch whatif.marker' -WhatIf
        $results | Should -BeNullOrEmpty
        $check = Get-AgentMachine | Invoke-RemoteCommand 'test -e whatif.marker' -ErrorAction SilentlyContinue
        $check.ExitCode | Should -Not -Contain 0
    }

    It 'sends a local script over stdin with -ScriptPath' {
        $script = Join-Path $TestDrive 'hello.sh'
        Set-Content -Path $script -Value "echo hello from {{ name }}`nexit 0"
        $results = $clients | Invoke-RemoteCommand -ScriptPath $script
        $results | ForEach-Object { $_.Stdout.Trim() | Should -Be "hello from $($_.Machine.Name)" }
    }

    It 'reports a missing script as LocalPathNotFound' {
        { $server | Invoke-RemoteCommand -ScriptPath (Join-Path $TestDrive 'missing.sh') } | Should -Throw -ErrorId 'LocalPathNotFound,*'
    }

    It 'reruns only the hosts that failed' {
        $first = Get-AgentMachine | Invoke-RemoteCommand ('[ {{ name }} != ' + $server.Name + ' ]') -ErrorAction SilentlyContinue
        $rerun = $first | Where-Object { -not $_.Succeeded } | Get-AgentMachine | Invoke-RemoteCommand 'echo again'
        $rerun.Name | Should -Be $server.Name
    }

    Context 'an unreachable host mixed with good ones' {
        BeforeAll {
            $file = Join-Path $TestDrive 'down.yaml'
            Set-Content -Path $file -Value "name: down`nhosts:`n  dead:`n    address: 127.0.0.1`n    port: 9`n"
            $down = New-Testbed -Path $file
            $dead = Get-AgentMachine -Testbed $down
        }

        AfterAll {
            $down | Remove-Testbed -Confirm:$false
        }

        It 'reports the dead host as unreachable and runs the others' {
            $results = @($clients; $dead) | Invoke-RemoteCommand 'true' -ErrorVariable failure -ErrorAction SilentlyContinue
            @($results).Count | Should -Be 4
            ($results | Where-Object Name -EQ 'dead').Status | Should -Be 'Unreachable'
            @($results | Where-Object Succeeded).Count | Should -Be 3
            $failure[0].FullyQualifiedErrorId | Should -BeLike 'AgentMachineUnreachable*'
            $failure[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        }
    }
}
