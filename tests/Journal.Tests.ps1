# User flows of the run journal on a Local testbed: listing runs, failed runs, rerunning what failed.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../module/Provisioning/Provisioning.psd1') -Force
    $testbed = New-Testbed -Provider Local -Count 4 -Role @{ server = 1; client = 3 }
    $server = Get-AgentMachine -Role server
    $clients = @(Get-AgentMachine -Role client)
}

AfterAll {
    $testbed | Remove-Testbed -Confirm:$false
}

Describe 'Get-ExperimentRun' {
    It 'lists nothing, and creates no journal, before anything ran' {
        Test-Path $testbed.JournalPath | Should -BeFalse
        Get-ExperimentRun | Should -BeNullOrEmpty
        Test-Path $testbed.JournalPath | Should -BeFalse
    }

    It 'shows the last Invoke-RemoteCommand' {
        $results = Get-AgentMachine | Invoke-RemoteCommand 'echo {{ name }}'
        $run = Get-ExperimentRun -Last 1
        $run | Should -BeOfType 'Provisioning.Core.Journal.ExperimentRun'
        $run.Id | Should -Be $results[0].RunId
        $run.Cmdlet | Should -Be 'Invoke-RemoteCommand'
        $run.Status | Should -Be 'Succeeded'
        $run.Testbed | Should -Be $testbed.Name
        $run.HostCount | Should -Be 4
        $run.StepCount | Should -Be 4
        $run.FailedStepCount | Should -Be 0
        $run.EndTime | Should -Not -BeNullOrEmpty
        ($run.Parameters | ConvertFrom-Json).Command | Should -Be 'echo {{ name }}'
        $run.JournalPath | Should -Be $testbed.JournalPath
        Test-Path $testbed.JournalPath | Should -BeTrue
    }

    It 'records a failing run as Failed' {
        $template = '[ {{ name }} != ' + $clients[0].Name + ' ]'
        $null = Get-AgentMachine | Invoke-RemoteCommand $template -ErrorAction SilentlyContinue
        $run = Get-ExperimentRun -Last 1
        $run.Status | Should -Be 'Failed'
        $run.StepCount | Should -Be 4
        $run.FailedStepCount | Should -Be 1
    }

    It 'lists runs newest first' {
        $runs = @(Get-ExperimentRun -Last 2)
        $runs.Count | Should -Be 2
        $runs[0].Id | Should -BeGreaterThan $runs[1].Id
        $runs[0].Status | Should -Be 'Failed'
        $runs[1].Status | Should -Be 'Succeeded'
    }

    It 'gets a run by id, and piped results give their run once with its final status' {
        $results = Get-AgentMachine | Invoke-RemoteCommand 'true'
        (Get-ExperimentRun -Id $results[0].RunId).Id | Should -Be $results[0].RunId
        $piped = @(Get-AgentMachine | Invoke-RemoteCommand 'true' | Get-ExperimentRun)
        $piped.Count | Should -Be 1
        $piped[0].Status | Should -Be 'Succeeded'
        $piped[0].Id | Should -Be ((Get-ExperimentRun -Last 1).Id)
    }

    It 'returns nothing for an empty pipeline' {
        @() | Get-ExperimentRun | Should -BeNullOrEmpty
    }

    It 'takes runs from the pipeline by their Id' {
        $runs = Get-ExperimentRun -Last 2
        (@($runs | Get-ExperimentRun).Id) | Should -Be @($runs.Id)
    }

    It 'takes a run object as its first argument, and so does Get-ExperimentResult' {
        $results = @(Get-AgentMachine | Invoke-RemoteCommand 'echo positional')
        $run = Get-ExperimentRun -Last 1
        $again = Get-ExperimentRun $run
        $again | Should -BeOfType 'Provisioning.Core.Journal.ExperimentRun'
        $again.Id | Should -Be $run.Id
        $again.Status | Should -Be 'Succeeded'
        $steps = @(Get-ExperimentResult $run)
        $steps.Count | Should -Be $results.Count
        $steps.Stdout.Trim() | Select-Object -Unique | Should -Be 'positional'
        (Get-ExperimentRun -Id 5, $run.Id -ErrorAction SilentlyContinue).Id | Should -Contain $run.Id
    }

    It 'writes a non-terminating ExperimentRunNotFound error for an unknown id' {
        $last = (Get-ExperimentRun -Last 1).Id
        $found = Get-ExperimentRun -Id ($last + 1000), $last -ErrorVariable failure -ErrorAction SilentlyContinue
        $found.Id | Should -Be $last
        $failure.Count | Should -Be 1
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'ExperimentRunNotFound*'
        $failure[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failure[0].TargetObject | Should -Be ($last + 1000)
    }

    It 'reads the journal of a testbed given by name' {
        (Get-ExperimentRun -Testbed $testbed.Name -Last 1).Id | Should -Be (Get-ExperimentRun -Last 1).Id
    }

    It 'redacts secret-looking parameter values' {
        $null = $server | Invoke-RemoteCommand 'true' -Variable @{ api_token = 'hunter2'; rate = 10 }
        $parameters = (Get-ExperimentRun -Last 1).Parameters
        $parameters | Should -Not -Match 'hunter2'
        ($parameters | ConvertFrom-Json).Variable.api_token | Should -Be '***'
        ($parameters | ConvertFrom-Json).Variable.rate | Should -Be 10
    }
}

Describe 'Rerunning what failed' {
    It 'reruns only the hosts that failed in the last run' {
        $template = '[ {{ name }} != ' + $clients[1].Name + ' ]'
        $null = Get-AgentMachine | Invoke-RemoteCommand $template -ErrorAction SilentlyContinue
        (Get-ExperimentRun -Last 1).Status | Should -Be 'Failed'

        $rerun = Get-ExperimentRun -Last 1 | Get-ExperimentResult -Failed | Get-AgentMachine | Invoke-RemoteCommand 'true'

        @($rerun).Count | Should -Be 1
        $rerun.Name | Should -Be $clients[1].Name
        $rerun.Succeeded | Should -BeTrue
        $run = Get-ExperimentRun -Last 1
        $run.HostCount | Should -Be 1
        $run.Status | Should -Be 'Succeeded'
    }
}

Describe 'A run of another testbed' {
    # Last in this file: the second testbed becomes current, so the first one is 'another testbed' from here on.
    BeforeAll {
        $current = New-Testbed -Provider Local -Count 1
        $other = $testbed
    }

    AfterAll {
        $current | Remove-Testbed -Confirm:$false
    }

    It 'is found through the results it produced, in the journal that recorded it' {
        (Get-Testbed -Current).Name | Should -Be $current.Name
        $results = Get-AgentMachine -Testbed $other -Role client | Invoke-RemoteCommand 'echo elsewhere'
        $results.JournalPath | Select-Object -Unique | Should -Be $other.JournalPath
        $run = $results | Get-ExperimentRun
        @($run).Count | Should -Be 1
        $run.Testbed | Should -Be $other.Name
        $run.JournalPath | Should -Be $other.JournalPath
        ($run | Get-ExperimentResult).Stdout.Trim() | Should -Be @('elsewhere', 'elsewhere', 'elsewhere')
    }

    It 'is listed from a journal file named with -JournalPath, and its ids complete from that file' {
        $newest = Get-ExperimentRun -JournalPath $other.JournalPath -Last 1
        $newest.Testbed | Should -Be $other.Name
        $line = "Get-ExperimentRun -JournalPath '$($other.JournalPath)' -Id "
        (TabExpansion2 $line $line.Length).CompletionMatches[0].CompletionText | Should -Be "$($newest.Id)"
    }

    It 'reports a journal file that does not exist' {
        Get-ExperimentRun -JournalPath (Join-Path $TestDrive 'none.db') -ErrorVariable failure -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'LocalPathNotFound*'
        Test-Path (Join-Path $TestDrive 'none.db') | Should -BeFalse
    }
}
