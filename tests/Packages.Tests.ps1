# Install-, Get-, Uninstall- and Save-AgentPackage through the cmdlets, on offline Local agents with private roots: a
# .deb built here is pushed from the controller, a file: repository of the agents' own is used with -Source Agent,
# and failures come back as ErrorRecords with the machine as target. Nothing is downloaded from the internet.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../module/Provisioning/Provisioning.psd1') -Force
    $testbed = New-Testbed -Provider Local -Count 2 -Isolation Private -Network Offline
    $folder = Join-Path ([IO.Path]::GetTempPath()) "prov-pester-packages-$(Get-Random)"
    New-Item -ItemType Directory $folder | Out-Null
    $tag = "pp$(Get-Random -Minimum 100000 -Maximum 999999)"
    function New-TestDeb([string]$Name) {
        $root = Join-Path $folder "build-$Name"
        New-Item -ItemType Directory "$root/DEBIAN", "$root/usr/share/$Name" -Force | Out-Null
        Set-Content "$root/DEBIAN/control" "Package: $Name`nVersion: 1.0`nArchitecture: all`nMaintainer: tests <tests@localhost>`nDescription: a package the tests build"
        Set-Content "$root/usr/share/$Name/hello" "hello from $Name"
        $deb = Join-Path $folder "${Name}_1.0_all.deb"
        & dpkg-deb --build --root-owner-group $root $deb | Out-Null
        $deb
    }
    $pushed = New-TestDeb "$tag-pushed"
    $own = New-TestDeb "$tag-own"
    # The agents' own repository: a file: source on their disk, known to their package lists.
    $sha = (Get-FileHash $own -Algorithm SHA256).Hash.ToLowerInvariant()
    $index = "Package: $tag-own`nVersion: 1.0`nArchitecture: all`nMaintainer: tests <tests@localhost>`nFilename: ./$tag-own_1.0_all.deb`nSize: $((Get-Item $own).Length)`nSHA256: $sha`nDescription: a package the tests build`n"
    Set-Content (Join-Path $folder 'Packages') $index -NoNewline
    Set-Content (Join-Path $folder 'own.list') "deb [trusted=yes] file:/srv/$tag ./"
    Get-AgentMachine | Send-AgentFile -Path $own -Destination "/srv/$tag/" | Out-Null
    Get-AgentMachine | Send-AgentFile -Path (Join-Path $folder 'Packages') -Destination "/srv/$tag/Packages" | Out-Null
    Get-AgentMachine | Send-AgentFile -Path (Join-Path $folder 'Packages') -Destination "/var/lib/apt/lists/_srv_${tag}_._Packages" | Out-Null
    Get-AgentMachine | Send-AgentFile -Path (Join-Path $folder 'own.list') -Destination "/etc/apt/sources.list.d/$tag.list" | Out-Null
}

AfterAll {
    $testbed | Remove-Testbed -Confirm:$false
    Remove-Item -Recurse -Force $folder
}

Describe 'Install-AgentPackage' {
    It 'shows with -WhatIf what it would send, and changes nothing' {
        $plan = @(Get-AgentMachine | Install-AgentPackage -Path $pushed -WhatIf)
        $plan.Count | Should -Be 2
        $plan | ForEach-Object { $_.Status | Should -Be 'Planned'; $_.BytesSent | Should -Be (Get-Item $pushed).Length }
        (Get-AgentMachine | Invoke-RemoteCommand "test -e /usr/share/$tag-pushed/hello && echo yes || echo no").Stdout.Trim() | Sort-Object -Unique | Should -Be 'no'
    }

    It 'pushes a local .deb to offline agents, then reports AlreadyPresent and sends nothing' {
        $first = @(Get-AgentMachine | Install-AgentPackage -Path $pushed)
        $first | ForEach-Object {
            $_.Name | Should -Be "$tag-pushed"
            $_.Status | Should -Be 'Installed'
            $_.Source | Should -Be 'Controller'
            $_.BytesSent | Should -BeGreaterThan 0
            $_.Machine | Should -BeOfType ([Provisioning.Core.Testbeds.AgentMachine])
        }
        $again = @(Get-AgentMachine | Install-AgentPackage -Path $pushed)
        $again.Status | Sort-Object -Unique | Should -Be 'AlreadyPresent'
        ($again | Measure-Object BytesSent -Sum).Sum | Should -Be 0
    }

    It 'installs from the agents'' own repository with -Source Agent' {
        $r = @(Get-AgentMachine | Install-AgentPackage -Name "$tag-own" -Source Agent)
        $r.Status | Sort-Object -Unique | Should -Be 'Installed'
        $r.Source | Sort-Object -Unique | Should -Be 'Agent'
        (Get-AgentMachine | Invoke-RemoteCommand "cat /usr/share/$tag-own/hello").Stdout.Trim() | Sort-Object -Unique | Should -Be "hello from $tag-own"
    }

    It 'names a package no source has in an ErrorRecord whose target is the machine' {
        $results = @(Get-AgentMachine | Install-AgentPackage -Name "$tag-nowhere" -CachePath (Join-Path $folder cache) -ErrorVariable failures -ErrorAction SilentlyContinue)
        $results.Status | Sort-Object -Unique | Should -Be 'Failed'
        $failures.Count | Should -Be 2
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'AgentPackageNotFound*'
        $failures[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failures[0].TargetObject | Should -BeOfType ([Provisioning.Core.Testbeds.AgentMachine])
        $failures[0].Exception.Message | Should -Match "$tag-nowhere"
    }

    It 'refuses a name that is not a package name before anything runs' {
        { Get-AgentMachine | Install-AgentPackage -Name 'bad name;rm' } | Should -Throw -ErrorId 'AgentPackageSpecInvalid*'
    }

    It 'shows results as a table with the machine, the package and its status' {
        $text = Get-AgentMachine | Install-AgentPackage -Path $pushed | Format-Table | Out-String
        $text | Should -Match 'Machine\s+Name\s+Manager\s+Version\s+Status'
        $text | Should -Match "agent-1\s+$tag-pushed\s+Apt\s+1\.0\s+AlreadyPresent"
    }
}

Describe 'Get-AgentPackage' {
    It 'lists what each machine has, by wildcard, with the package name as Name' {
        $found = @(Get-AgentMachine | Get-AgentPackage -Name "$tag-*" -Manager apt)
        $found.Count | Should -Be 4
        ($found.Name | Sort-Object -Unique) | Should -Be @("$tag-own", "$tag-pushed")
        $found[0].Version | Should -Be '1.0'
    }
}

Describe 'Uninstall-AgentPackage' {
    It 'removes the packages, then reports AlreadyAbsent' {
        $removed = @(Get-AgentMachine | Uninstall-AgentPackage -Name "$tag-pushed", "$tag-own" -Confirm:$false)
        $removed.Count | Should -Be 4
        $removed.Status | Sort-Object -Unique | Should -Be 'Removed'
        (Get-AgentMachine | Uninstall-AgentPackage -Name "$tag-pushed" -Confirm:$false).Status | Sort-Object -Unique | Should -Be 'AlreadyAbsent'
    }
}

Describe 'Package name completion' {
    It 'offers the packages of the cache' {
        $cache = Join-Path $folder 'completion-cache'
        New-Item -ItemType Directory $cache | Out-Null
        Set-Content (Join-Path $cache 'manifest.json') '{"version":1,"packages":[{"manager":"apt","name":"iperf3","version":"3.12","sha256":"00","file":"apt/x.deb"}]}'
        $line = "Install-AgentPackage -CachePath $cache -Name ip"
        $completion = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $completion.CompletionMatches.CompletionText | Should -Contain 'iperf3'
    }
}
