#!/usr/bin/env pwsh
#Requires -Version 7.4
<#
.SYNOPSIS
The README's quick start as a script: four Local agents, a templated command on each, a file pushed to each, and
a result fetched from each into ./results/<agent>/ (under a temporary folder), then everything removed.

.DESCRIPTION
Run it from the repository after a build: dotnet tool restore && dotnet build && dotnet pwsh -File examples/quickstart.ps1
It needs openssh-server installed (sshd does not have to run). It stops with an error if any step does not do
what it says, so the test suite runs it as a check.
#>
[CmdletBinding()]
param(
    # Where the fetched results go; a new temporary folder when omitted (and removed at the end).
    [string] $Destination
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../module/Provisioning/Provisioning.psd1') -Force

$work = Join-Path ([System.IO.Path]::GetTempPath()) "quickstart-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
$null = New-Item -ItemType Directory -Path $work
if (-not $Destination) { $Destination = Join-Path $work 'results' }

# Four real sshd agents on this machine: agent-1 is the server, agent-2..4 are clients.
$testbed = New-Testbed -Provider Local -Count 4 -Role @{ server = 1; client = 3 }
try {
    # The same command on every agent, in parallel: one result per agent.
    $hostnames = Get-AgentMachine | Invoke-RemoteCommand 'hostname'
    $hostnames | Format-Table Name, Status, ExitCode, Stdout -AutoSize | Out-Host

    # Templates: each client is told the server's address (a role of one machine is that machine).
    $greetings = Get-AgentMachine -Role client | Invoke-RemoteCommand 'echo {{ name }} will talk to {{ server.address }}'
    $server = Get-AgentMachine -Role server
    foreach ($greeting in $greetings) {
        if ($greeting.Stdout.Trim() -ne "$($greeting.Name) will talk to $($server.Address)") { throw "unexpected greeting: $($greeting.Stdout)" }
    }

    # A configuration file, rendered for each agent and pushed to it.
    $config = Join-Path $work 'experiment.conf'
    Set-Content -Path $config -Value "agent={{ name }}`nrate={{ rate }}"
    Get-AgentMachine -Role client | Set-AgentVariable -Name rate -Value 100M
    $server | Set-AgentVariable -Name rate -Value 0
    $sent = Get-AgentMachine | Send-AgentFile $config 'exp/experiment.conf' -Template
    if (@($sent | Where-Object Changed).Count -ne 4) { throw 'the configuration did not reach every agent' }

    # The "experiment": each agent writes a result, which comes home into <Destination>/<agent>/out/.
    $null = Get-AgentMachine | Invoke-RemoteCommand 'mkdir -p out && { cat exp/experiment.conf; echo "ran on $(hostname)"; } > out/result.txt'
    $results = Get-AgentMachine | Get-ExperimentResult 'out/result.txt' $Destination
    $results | Format-Table Name, RemotePath, LocalPath, Length -AutoSize | Out-Host
    foreach ($result in $results) {
        $text = Get-Content -Raw -Path $result.LocalPath
        if ($text -notmatch "agent=$($result.Name)\b") { throw "$($result.LocalPath) does not hold $($result.Name)'s result: $text" }
    }

    # Every call above is in the testbed's journal.
    Get-ExperimentRun | Format-Table Id, Cmdlet, Status, HostCount, StepCount -AutoSize | Out-Host
    "quickstart: $(@($results).Count) results fetched into $Destination"
}
finally {
    # Stop the agents and delete their state (and the temporary folder).
    $testbed | Remove-Testbed -Confirm:$false
    if ($Destination.StartsWith($work)) { Remove-Item -Recurse -Force -Path $work }
    else { Remove-Item -Recurse -Force -Path $work -ErrorAction SilentlyContinue }
}
