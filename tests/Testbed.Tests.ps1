# User flows of New-Testbed, Get-Testbed and Remove-Testbed. Needs a built module (dotnet build) and sshd.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../module/Provisioning/Provisioning.psd1') -Force
    Get-Testbed | Remove-Testbed -Confirm:$false
}

AfterAll {
    Get-Testbed | Remove-Testbed -Confirm:$false
}

Describe 'Without a testbed' {
    It 'Get-AgentMachine stops with TestbedNotFound' {
        { Get-AgentMachine } | Should -Throw -ErrorId 'TestbedNotFound,*'
    }

    It 'Get-Testbed -Current writes a TestbedNotFound error' {
        $result = Get-Testbed -Current -ErrorVariable failure -ErrorAction SilentlyContinue
        $result | Should -BeNullOrEmpty
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'TestbedNotFound*'
    }
}

Describe 'New-Testbed -Path' {
    It 'names the file, line and column of bad YAML and loads nothing' {
        $file = Join-Path $TestDrive 'bad.yaml'
        Set-Content -Path $file -Value "name: bad`nhosts:`n  a: [unclosed`n"
        $before = @(Get-Testbed).Count

        $failure = { New-Testbed -Path $file } | Should -Throw -ErrorId 'TestbedFileInvalid,*' -PassThru

        $failure.Exception.Message | Should -BeLike "*bad.yaml:*:*"
        $failure.CategoryInfo.Category | Should -Be 'InvalidData'
        @(Get-Testbed).Count | Should -Be $before
    }

    It 'rejects an unknown key' {
        $file = Join-Path $TestDrive 'unknown.yaml'
        Set-Content -Path $file -Value "name: x`nhosts:`n  a:`n    adress: 10.0.0.1`n"
        $failure = { New-Testbed -Path $file } | Should -Throw -ErrorId 'TestbedFileInvalid,*' -PassThru
        $failure.Exception.Message | Should -BeLike '*adress*'
    }

    It 'reports a missing file as LocalPathNotFound' {
        { New-Testbed -Path (Join-Path $TestDrive 'nope.yaml') } | Should -Throw -ErrorId 'LocalPathNotFound,*'
    }

    It 'loads a file relative to the current location and makes it current' {
        $file = Join-Path $TestDrive 'lab.yaml'
        Set-Content -Path $file -Value @'
name: lab
defaults:
  user: root
  port: 2222
hosts:
  server-1:
    address: 127.0.0.1
  node[01-03]:
    address: 127.0.0.[2-4]
roles:
  server: [server-1]
  client: ["node[01-03]"]
'@
        Push-Location $TestDrive
        try {
            $testbed = New-Testbed -Path lab.yaml
        }
        finally {
            Pop-Location
        }

        $testbed.Name | Should -Be 'lab'
        (Get-Testbed -Current) | Should -Be $testbed
        (Get-AgentMachine).Name | Should -Be @('server-1', 'node01', 'node02', 'node03')
        (Get-AgentMachine -Name node02).Port | Should -Be 2222
        $testbed | Remove-Testbed -Confirm:$false
    }
}

Describe 'A Local testbed' {
    BeforeAll {
        $testbed = New-Testbed -Provider Local -Count 4 -Role @{ server = 1; client = 3 }
    }

    AfterAll {
        Get-Testbed | Where-Object Name -EQ $testbed.Name | Remove-Testbed -Confirm:$false
    }

    It 'is current and has four machines with their roles' {
        (Get-Testbed -Current) | Should -Be $testbed
        $testbed.Provider | Should -Be 'Local'
        @(Get-AgentMachine).Count | Should -Be 4
        @(Get-AgentMachine -Role server).Count | Should -Be 1
        @(Get-AgentMachine -Role client).Count | Should -Be 3
    }

    It 'gives each agent its own working directory' {
        $results = Get-AgentMachine | Invoke-RemoteCommand 'pwd'
        @($results.Stdout.Trim() | Sort-Object -Unique).Count | Should -Be 4
    }

    It 'gives agent-1 the smaller role, as -Role @{ server = 1; client = 3 } suggests' {
        (Get-AgentMachine -Role server).Name | Should -Be 'agent-1'
    }

    It 'is listed by name' {
        (Get-Testbed -Name $testbed.Name) | Should -Be $testbed
        (Get-Testbed -Name 'no-such-testbed*') | Should -BeNullOrEmpty
    }

    It 'survives Remove-Testbed -WhatIf' {
        Remove-Testbed -Name $testbed.Name -WhatIf
        (Get-Testbed -Name $testbed.Name) | Should -Be $testbed
        Test-Path $testbed.StateDirectory | Should -BeTrue
    }

    It 'is gone after Remove-Testbed, with its agents and state' {
        $agents = Get-AgentMachine
        Remove-Testbed -Name $testbed.Name -Confirm:$false

        Get-Testbed -Name $testbed.Name -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Test-Path $testbed.StateDirectory | Should -BeFalse
        Get-Testbed -Current -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        # No sshd of this testbed is left running.
        Get-Process sshd -ErrorAction SilentlyContinue |
            Where-Object { $_.CommandLine -like "*$($testbed.StateDirectory)*" } |
            Should -BeNullOrEmpty
        # Its machines are refused from now on.
        $agents | Test-AgentMachine -ErrorVariable failure -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'TestbedNotFound*'
    }
}

Describe 'A bare Remove-Testbed' {
    It 'removes the current testbed' {
        $testbed = New-Testbed -Provider Local -Count 1
        Remove-Testbed -Confirm:$false
        Test-Path $testbed.StateDirectory | Should -BeFalse
        Get-Testbed -Current -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'takes the testbed object as its first argument, as Get-Testbed does' {
        $first = New-Testbed -Provider Local -Count 1
        $second = New-Testbed -Provider Local -Count 1
        (Get-Testbed $first).Name | Should -Be $first.Name
        @(Get-Testbed $first, $second).Name | Should -Be @($first.Name, $second.Name)
        Remove-Testbed $first -Confirm:$false
        Test-Path $first.StateDirectory | Should -BeFalse
        (Get-Testbed $first).IsRemoved | Should -BeTrue
        (Get-Testbed).Name | Should -Contain $second.Name
        Remove-Testbed $second.Name -Confirm:$false
        Test-Path $second.StateDirectory | Should -BeFalse
    }
}
