# Invoke-Provision and Get-AgentFact through the cmdlets, on Local agents with private roots: the Mahiru-style
# base/up/down steps, check mode, reruns, -Resume from the journal, -Task, and errors as ErrorRecords.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../module/Provisioning/Provisioning.psd1') -Force
    $testbed = New-Testbed -Provider Local -Count 3 -Isolation Private -Role @{ server = 1; client = 2 }
    $folder = Join-Path ([IO.Path]::GetTempPath()) "prov-pester-$(Get-Random)"
    New-Item -ItemType Directory $folder | Out-Null
    $tag = Get-Random -Minimum 100000 -Maximum 999999
    Set-Content (Join-Path $folder 'app.conf.hbs') "name={{ name }}`nrelease={{ facts.os.codename }}`n"
    $doc = Join-Path $folder 'provision.yaml'
    Set-Content $doc @"
vars: { app_dir: /srv/app-$tag }
steps:
  - name: base
    tasks:
      - directory: { path: "{{ app_dir }}", mode: "0755" }
      - file: { path: "{{ app_dir }}/app.conf", template: ./app.conf.hbs }
  - name: up
    hosts: server
    tasks:
      - command: { run: "touch {{ app_dir }}/up", creates: "{{ app_dir }}/up" }
  - name: down
    hosts: server
    tasks:
      - command: { run: "rm -f {{ app_dir }}/up", removes: "{{ app_dir }}/up" }
"@
    function Recap($records) { @($records | Where-Object { $_ -is [Provisioning.Core.Provision.ProvisionSummary] }) }
    function Tasks($records) { @($records | Where-Object { $_ -is [Provisioning.Core.Provision.ProvisionResult] }) }
}

AfterAll {
    $testbed | Remove-Testbed -Confirm:$false
    Remove-Item -Recurse -Force $folder
}

Describe 'Get-AgentFact' {
    It 'gathers facts once per machine and keeps them on the machine' {
        $facts = @(Get-AgentMachine | Get-AgentFact)
        $facts.Count | Should -Be 3
        $facts | ForEach-Object { $_.OsId | Should -Not -BeNullOrEmpty; $_.CpuCount | Should -BeGreaterThan 0; $_.MemoryBytes | Should -BeGreaterThan 0 }
        (Get-AgentMachine)[0].Facts.OsId | Should -Be $facts[0].OsId
    }
}

Describe 'Invoke-Provision' {
    It 'shows in check mode what would change, and changes nothing' {
        $records = Get-AgentMachine | Invoke-Provision -Path $doc -Step base, up -WhatIf
        (Tasks $records | Where-Object TaskStatus -ne 'Changed') | Should -BeNullOrEmpty
        (Tasks $records)[0].CheckMode | Should -BeTrue
        (Get-AgentMachine | Invoke-RemoteCommand "test -e /srv/app-$tag && echo yes || echo no").Stdout.Trim() | Sort-Object -Unique | Should -Be 'no'
    }

    It 'provisions the steps, then a second run changes nothing' {
        $first = Get-AgentMachine | Invoke-Provision -Path $doc -Step base, up
        (Recap $first).Count | Should -Be 3
        (Recap $first | Measure-Object Changed -Sum).Sum | Should -Be 7
        $conf = Get-AgentMachine -Role server | Invoke-RemoteCommand "cat /srv/app-$tag/app.conf"
        $conf.Stdout | Should -Match "name=$((Get-AgentMachine -Role server).Name)"
        $second = Get-AgentMachine | Invoke-Provision -Path $doc -Step base, up
        (Recap $second | Measure-Object Changed -Sum).Sum | Should -Be 0
    }

    It 'runs a named step on the hosts it names only' {
        $records = Get-AgentMachine | Invoke-Provision -Path $doc -Step down
        (Tasks $records).Count | Should -Be 1
        (Tasks $records)[0].Name | Should -Be (Get-AgentMachine -Role server).Name
        (Tasks $records)[0].TaskStatus | Should -Be 'Changed'
    }

    It 'writes an error record naming the host, the step, the task and the line for a failing task, and goes on' {
        $bad = Join-Path $folder 'bad.yaml'
        Set-Content $bad "steps:`n  - name: s`n    tasks:`n      - command: { run: 'test {{ index }} -ne 0' }`n      - directory: { path: /srv/after-$tag }`n"
        $records = Get-AgentMachine | Invoke-Provision -Path $bad -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'ProvisionTaskFailed,*'
        $failures[0].CategoryInfo.Category | Should -Be 'InvalidResult'
        $failures[0].TargetObject.Name | Should -Be (Get-AgentMachine)[0].Name
        $failures[0].Exception.Message | Should -Match "step 's'.*bad\.yaml:4"
        (Recap $records | Where-Object Failed -eq 0).Count | Should -Be 2
    }

    It 'resumes only the hosts and steps that failed or never ran' {
        $flaky = Join-Path $folder 'flaky.yaml'
        Set-Content $flaky "steps:`n  - name: one`n    tasks:`n      - command: { run: 'test -e /srv/ok-$tag || test {{ index }} -ne 1' }`n  - name: two`n    tasks:`n      - directory: { path: /srv/two-$tag }`n"
        Get-AgentMachine | Invoke-Provision -Path $flaky -ErrorAction SilentlyContinue | Out-Null
        Get-AgentMachine | Invoke-RemoteCommand "touch /srv/ok-$tag" | Out-Null
        $resumed = Get-AgentMachine | Invoke-Provision -Path $flaky -Resume
        (Tasks $resumed).Name | Sort-Object -Unique | Should -Be (Get-AgentMachine)[1].Name
        (Tasks $resumed).Step | Should -Be @('one', 'two')
        (Recap $resumed | Where-Object Failed -gt 0) | Should -BeNullOrEmpty
    }

    It 'takes inline tasks with -Task' {
        $records = Get-AgentMachine -Role server | Invoke-Provision -Task @{ directory = @{ path = "/srv/inline-$tag" } }
        (Tasks $records)[0].TaskStatus | Should -Be 'Changed'
        (Tasks $records)[0].Step | Should -Be 'inline'
        (Tasks $records)[0].Task | Should -Be "directory: /srv/inline-$tag"
    }

    It 'shows tasks and the recap in one table' {
        $text = Get-AgentMachine | Invoke-Provision -Task @{ directory = @{ path = "/srv/inline-$tag-{{ name }}" } } | Out-String -Width 200
        $text | Should -Match 'RECAP\s+ok=0 changed=1 failed=0 skipped=0'
        $text | Should -Match "directory: /srv/inline-$tag-$((Get-AgentMachine)[0].Name)"
        $text | Should -Not -Match 'CheckMode\s+:'
    }

    It 'refuses a bad document before anything runs, naming the line and key' {
        $broken = Join-Path $folder 'broken.yaml'
        Set-Content $broken "steps:`n  - name: s`n    tasks:`n      - directory: { path: /srv/x, mood: '0755' }`n"
        $err = $null
        try { Get-AgentMachine | Invoke-Provision -Path $broken } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'ProvisionFileInvalid,*'
        $err.Exception.Message | Should -Match 'broken\.yaml:4:\d+: key .steps\.s\.tasks\[0\]\.directory\.mood.*mode'
    }

    It 'completes -Step with the document''s steps' {
        $line = "Invoke-Provision -Path '$doc' -Step "
        $completions = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $completions | Should -Be @('base', 'up', 'down')
    }
}
