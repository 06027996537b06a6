# User flows of the Slurm provider against a real Slurm cluster on this machine (munged, slurmctld and four slurmd,
# started by tools/slurm-cluster.sh in a folder of its own). Needs a built module, root and Debian's slurmctld,
# slurmd, slurm-client and munge packages; CI installs them. Skipped where they are missing.
BeforeDiscovery {
    $script:slurmMissing = -not ((Test-Path /usr/sbin/slurmctld) -and (Test-Path /usr/sbin/slurmd) -and (Test-Path /usr/sbin/munged) -and
        (Get-Command srun -ErrorAction SilentlyContinue) -and ((id -u) -eq '0'))
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../module/Provisioning/Provisioning.psd1') -Force
    Get-Testbed | Remove-Testbed -Confirm:$false
    $script:cluster = Join-Path ([IO.Path]::GetTempPath()) ("prov-slurm-pester-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $script:savedConf = $env:SLURM_CONF
    if (-not $script:slurmMissing) {
        $out = sh (Join-Path $PSScriptRoot 'tools/slurm-cluster.sh') start $script:cluster 4 2>&1
        if ($LASTEXITCODE -ne 0) { throw "The test Slurm cluster did not start: $out" }
        $env:SLURM_CONF = Join-Path $script:cluster 'slurm.conf'
    }
    function script:Jobs { @(squeue --noheader --format '%i' | Where-Object { $_.Trim() }) }
}

AfterAll {
    Get-Testbed | Remove-Testbed -Confirm:$false
    if (-not $script:slurmMissing) { sh (Join-Path $PSScriptRoot 'tools/slurm-cluster.sh') stop $script:cluster | Out-Null }
    $env:SLURM_CONF = $script:savedConf
}

Describe 'New-Testbed -Provider Slurm' -Skip:$slurmMissing {
    It 'allocates nodes with roles, runs templated commands on them as job steps, moves files and releases the allocation' {
        $tb = New-Testbed -Provider Slurm -Nodes 4 -Role @{ server = 1; client = 3 } -TimeLimit 10 -Name pester
        $tb.Provider | Should -Be 'Slurm'
        Jobs | Should -Contain $tb.AllocationId
        $machines = @(Get-AgentMachine)
        $machines.Name | Should -Be @('n1', 'n2', 'n3', 'n4')
        $machines | ForEach-Object { $_.Transport | Should -Be 'Slurm' }
        $machines[0].Slurm.Features | Should -Be @('first')

        $results = @(Get-AgentMachine -Role client | Invoke-RemoteCommand 'echo "{{ server.name }} $SLURMD_NODENAME"')
        $results.Count | Should -Be 3
        $results | ForEach-Object { $_.Stdout.Trim() | Should -Be "n1 $($_.Name)" }

        $folder = Join-Path $TestDrive 'remote'
        $source = Join-Path $TestDrive 'app.conf'
        Set-Content -Path $source -Value 'listen 8080' -NoNewline
        $sent = @(Get-AgentMachine | Send-AgentFile -Path $source -Destination "$folder/{{ name }}/app.conf")
        $sent | ForEach-Object { $_.Status | Should -Be 'Succeeded' }
        Get-Content (Join-Path $folder 'n3/app.conf') -Raw | Should -Be 'listen 8080'

        $fetched = @(Get-AgentMachine -Role server | Receive-AgentFile -Path "$folder/{{ name }}/app.conf" -Destination (Join-Path $TestDrive 'back'))
        $fetched.Count | Should -Be 1
        Get-Content $fetched[0].LocalPath -Raw | Should -Be 'listen 8080'

        (Get-AgentMachine | Test-AgentMachine | Where-Object Reachable).Count | Should -Be 4

        Remove-Testbed -Confirm:$false
        Jobs | Should -Not -Contain $tb.AllocationId
    }

    It 'reports a drained node as unreachable, with the node as the target, while the others go on' {
        $tb = New-Testbed -Provider Slurm -Nodes 3 -TimeLimit 10
        try {
            scontrol update nodename=n2 state=drain reason=pester-drain | Out-Null
            Start-Sleep -Milliseconds 1100
            $results = @(Get-AgentMachine | Invoke-RemoteCommand 'echo up' -ErrorVariable failures -ErrorAction SilentlyContinue)
            ($results | Where-Object Succeeded).Name | Sort-Object | Should -Be @('n1', 'n3')
            $failures.Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'AgentMachineUnreachable*'
            $failures[0].CategoryInfo.Category | Should -Be 'ConnectionError'
            $failures[0].TargetObject.Name | Should -Be 'n2'
            $failures[0].Exception.Message | Should -BeLike '*drain*pester-drain*'
        }
        finally {
            scontrol update nodename=n2 state=resume | Out-Null
            $tb | Remove-Testbed -Confirm:$false
        }
    }

    It 'stops a timed-out command by cancelling its step' {
        $tb = New-Testbed -Provider Slurm -Nodes 2 -TimeLimit 10
        try {
            $marker = Join-Path $TestDrive 'late'
            $results = @(Get-AgentMachine | Invoke-RemoteCommand "sleep 30; touch $marker" -TimeoutSec 2 -ErrorAction SilentlyContinue)
            $results | ForEach-Object { $_.Status | Should -Be 'TimedOut' }
            # scancel returns before slurmd has finished the step: give it a moment to leave squeue.
            $deadline = (Get-Date).AddSeconds(20)
            while ((squeue --noheader --steps --jobs $tb.AllocationId --format '%j') -contains "provisioning-$($tb.Name)" -and (Get-Date) -lt $deadline) {
                Start-Sleep -Milliseconds 200
            }
            squeue --noheader --steps --jobs $tb.AllocationId --format '%j' | Should -Not -Contain "provisioning-$($tb.Name)"
            Test-Path $marker | Should -BeFalse
        }
        finally {
            $tb | Remove-Testbed -Confirm:$false
        }
    }

    It 'gathers facts and provisions the nodes idempotently through job steps' {
        $tb = New-Testbed -Provider Slurm -Nodes 2 -Role ([ordered]@{ server = 1; client = 1 }) -TimeLimit 10
        try {
            $facts = @(Get-AgentMachine | Get-AgentFact)
            $facts.Count | Should -Be 2
            $facts | ForEach-Object { $_.CpuCount | Should -BeGreaterThan 0 }
            # The nodes of this one-machine cluster share its file system, so each node gets a folder of its own.
            $root = Join-Path $TestDrive 'provisioned'
            $doc = Join-Path $TestDrive 'provision.yaml'
            Set-Content $doc @"
steps:
  - name: base
    tasks:
      - directory: { path: "$root/{{ name }}", mode: "0755" }
      - file: { path: "$root/{{ name }}/node.conf", content: "node={{ slurm_node }} cpus={{ slurm_cpus }}\n" }
  - name: up
    hosts: server
    tasks:
      - command: { run: "touch $root/{{ name }}/up", creates: "$root/{{ name }}/up" }
"@
            $first = @(Get-AgentMachine | Invoke-Provision -Path $doc)
            $summaries = @($first | Where-Object { $_ -is [Provisioning.Core.Provision.ProvisionSummary] })
            $summaries.Count | Should -Be 2
            ($summaries | Measure-Object Changed -Sum).Sum | Should -Be 5
            Get-Content (Join-Path $root 'n2/node.conf') -Raw | Should -BeLike 'node=n2 cpus=*'
            Test-Path (Join-Path $root 'n1/up') | Should -BeTrue
            $again = @(Get-AgentMachine | Invoke-Provision -Path $doc | Where-Object { $_ -is [Provisioning.Core.Provision.ProvisionSummary] })
            ($again | Measure-Object Changed -Sum).Sum | Should -Be 0
        }
        finally {
            $tb | Remove-Testbed -Confirm:$false
        }
    }

    It 'fails at once with TestbedAllocationFailed when the cluster can never satisfy the request' {
        $before = Jobs
        $failure = { New-Testbed -Provider Slurm -Nodes 50 } | Should -Throw -ErrorId 'TestbedAllocationFailed,*' -PassThru
        $failure.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        $failure.Exception.Message | Should -BeLike "*partition 'main' has 4 node(s)*"
        Jobs | Should -Be $before
    }

    It 'asks for -Nodes or -JobId when only -Provider Slurm is given' {
        { New-Testbed -Provider Slurm } | Should -Throw -ErrorId 'TestbedSlurmRequestMissing,*'
    }
}

Describe 'A testbed file with provider: slurm' -Skip:$slurmMissing {
    It 'allocates the nodes it asks for, with role counts and default variables' {
        $file = Join-Path $TestDrive 'cluster.yaml'
        Set-Content -Path $file -Value @"
name: from-file
provider: slurm
slurm:
  nodes: 2
  partition: main
  time_limit: "10"
defaults:
  vars:
    port: 5201
roles:
  server: 1
  client: 1
"@
        $tb = New-Testbed -Path $file
        try {
            $tb.Provider | Should -Be 'Slurm'
            (Get-AgentMachine -Role server).Name | Should -Be 'n1'
            (Get-AgentMachine -Role client | Invoke-RemoteCommand 'echo {{ port }} {{ slurm_node }}').Stdout.Trim() | Should -Be '5201 n2'
        }
        finally {
            $tb | Remove-Testbed -Confirm:$false
        }
        Jobs | Should -Not -Contain $tb.AllocationId
    }

    It 'names the line and key of a bad slurm section' {
        $file = Join-Path $TestDrive 'bad-cluster.yaml'
        Set-Content -Path $file -Value "provider: slurm`nslurm:`n  nodes: many`n"
        $failure = { New-Testbed -Path $file } | Should -Throw -ErrorId 'TestbedFileInvalid,*' -PassThru
        $failure.Exception.Message | Should -BeLike '*bad-cluster.yaml:3:*slurm.nodes*'
    }
}
