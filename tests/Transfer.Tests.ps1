# User flows of Send-AgentFile, Get-ExperimentResult and Receive-AgentFile on a Local testbed.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../module/Provisioning/Provisioning.psd1') -Force
    $testbed = New-Testbed -Provider Local -Count 4 -Role @{ server = 1; client = 3 }
    $server = Get-AgentMachine -Role server
    $clients = @(Get-AgentMachine -Role client)
}

AfterAll {
    $testbed | Remove-Testbed -Confirm:$false
}

Describe 'Send-AgentFile' {
    It 'sends a file to every machine, and a second send changes nothing' {
        $file = Join-Path $TestDrive 'app.conf'
        Set-Content -Path $file -Value 'listen 8080' -NoNewline
        $first = Get-AgentMachine | Send-AgentFile $file 'etc/app.conf'
        @($first).Count | Should -Be 4
        $first | ForEach-Object {
            $_ | Should -BeOfType 'Provisioning.Core.Transfer.FileSendResult'
            $_.Succeeded | Should -BeTrue
            $_.Changed | Should -BeTrue
            $_.Destination | Should -Be 'etc/app.conf'
            $_.Length | Should -Be 11
            $_.Sha256 | Should -Be (Get-FileHash $file -Algorithm SHA256).Hash
        }
        (Get-AgentMachine | Invoke-RemoteCommand 'cat etc/app.conf').Stdout | Should -Be (@('listen 8080') * 4)

        $second = Get-AgentMachine | Send-AgentFile $file 'etc/app.conf'
        $second.Changed | Should -Not -Contain $true
    }

    It 'renders a template for each machine' {
        $file = Join-Path $TestDrive 'client.toml'
        Set-Content -Path $file -Value 'name = "{{ name }}" server = "{{ server.address }}"' -NoNewline
        $clients | Send-AgentFile $file 'client.toml' -Template -Variable @{ server = $server } | Out-Null
        $results = $clients | Invoke-RemoteCommand 'cat client.toml'
        $results | ForEach-Object { $_.Stdout | Should -Be "name = `"$($_.Name)`" server = `"$($server.Address)`"" }
    }

    It 'sends a directory tree with a mode' {
        $dir = New-Item -ItemType Directory (Join-Path $TestDrive 'site')
        New-Item -ItemType Directory (Join-Path $dir 'css') | Out-Null
        Set-Content (Join-Path $dir 'index.html') '<h1>hi</h1>'
        Set-Content (Join-Path $dir 'css/main.css') 'body{}'
        $results = $server | Send-AgentFile $dir.FullName 'www' -Mode 0640
        @($results).Count | Should -Be 2
        ($server | Invoke-RemoteCommand 'stat -c %a www/index.html www/css/main.css').Stdout.Trim() -split "`n" | Should -Be @('640', '640')
    }

    It 'sends nothing with -WhatIf' {
        $file = Join-Path $TestDrive 'whatif.txt'
        Set-Content $file 'x'
        Get-AgentMachine | Send-AgentFile $file 'whatif.txt' -WhatIf | Should -BeNullOrEmpty
        (Get-AgentMachine | Invoke-RemoteCommand 'test -e whatif.txt' -ErrorAction SilentlyContinue).ExitCode | Should -Not -Contain 0
    }

    It 'stops with LocalPathNotFound before contacting any machine' {
        { Get-AgentMachine | Send-AgentFile (Join-Path $TestDrive 'nope.conf') 'x' } | Should -Throw -ErrorId 'LocalPathNotFound,*'
    }

    It 'refuses a destination that a variable steers out with ..' {
        $file = Join-Path $TestDrive 'a.txt'
        Set-Content $file 'a'
        $result = $server | Send-AgentFile $file 'drop/{{ sub }}/a.txt' -Variable @{ sub = '../../..' } -ErrorVariable failure -ErrorAction SilentlyContinue
        $result.Succeeded | Should -BeFalse
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'PathOutsideAllowedTree*'
        $failure[0].CategoryInfo.Category | Should -Be 'SecurityError'
        $failure[0].TargetObject | Should -Be $server
    }
}

Describe 'Get-ExperimentResult' {
    BeforeAll {
        Get-AgentMachine | Invoke-RemoteCommand 'mkdir -p out && echo "result of {{ name }}" > out/iperf3.out && echo 1,2 > out/run.csv' | Out-Null
    }

    It 'fetches a glob into one folder per machine with verified checksums' {
        $destination = Join-Path $TestDrive 'results'
        $results = Get-AgentMachine | Get-ExperimentResult 'out/*.out' $destination
        @($results).Count | Should -Be 4
        $results | ForEach-Object {
            $_ | Should -BeOfType 'Provisioning.Core.Transfer.ExperimentResult'
            $_.Succeeded | Should -BeTrue
            $_.RemotePath | Should -Be 'out/iperf3.out'
            $_.LocalPath | Should -Be (Join-Path $destination $_.Name 'out' 'iperf3.out')
            Get-Content $_.LocalPath | Should -Be "result of $($_.Name)"
            $_.Sha256 | Should -Be (Get-FileHash $_.LocalPath -Algorithm SHA256).Hash
        }
    }

    It 'gives a machine where nothing matches a RemotePathNotFound error and fetches from the others' {
        $server | Invoke-RemoteCommand 'echo only > only-here.txt' | Out-Null
        $results = Get-AgentMachine | Get-ExperimentResult 'only-here.txt' (Join-Path $TestDrive 'some') -ErrorVariable failure -ErrorAction SilentlyContinue
        @($results).Count | Should -Be 4
        ($results | Where-Object Succeeded).Name | Should -Be $server.Name
        $failure.Count | Should -Be 3
        $failure | ForEach-Object {
            $_.FullyQualifiedErrorId | Should -BeLike 'RemotePathNotFound*'
            $_.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        }
    }

    It 'returns the recorded outcomes of a run without contacting any machine, and reruns only the failed ones' {
        Get-AgentMachine | Get-ExperimentResult 'only-here.txt' (Join-Path $TestDrive 'again') -ErrorAction SilentlyContinue | Out-Null
        $run = Get-ExperimentRun -Last 1
        $run.Cmdlet | Should -Be 'Get-ExperimentResult'
        $steps = $run | Get-ExperimentResult
        @($steps).Count | Should -Be 4
        $steps.Step | Should -Be (@('fetch') * 4)
        $failed = Get-ExperimentResult -Run $run -Failed
        @($failed).Count | Should -Be 3
        $rerun = $failed | Get-AgentMachine | Invoke-RemoteCommand 'echo again'
        ($rerun.Name | Sort-Object) | Should -Be ($clients.Name | Sort-Object)
        (Get-ExperimentResult -RunId $run.Id -Failed).Name | Sort-Object | Should -Be ($clients.Name | Sort-Object)
    }
}

Describe 'Receive-AgentFile' {
    It 'copies without journaling' {
        $results = $clients | Receive-AgentFile 'out/run.csv' (Join-Path $TestDrive 'plain')
        @($results).Count | Should -Be 3
        $results | ForEach-Object {
            $_.Succeeded | Should -BeTrue
            $_.RunId | Should -BeNullOrEmpty
            Get-Content $_.LocalPath | Should -Be '1,2'
        }
    }

    It 'refuses a remote path with ..' {
        $result = $server | Receive-AgentFile '../x' (Join-Path $TestDrive 'x') -ErrorVariable failure -ErrorAction SilentlyContinue
        $result.Succeeded | Should -BeFalse
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'PathOutsideAllowedTree*'
    }
}
