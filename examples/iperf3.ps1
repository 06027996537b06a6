#!/usr/bin/env pwsh
#Requires -Version 7.4
<#
.SYNOPSIS
EnOSlib's iperf3 walk-through on Local agents: start a server process on the server agent (Start-AgentProcess),
run the clients against {{ server.address }}, read the server's log (Receive-AgentProcessOutput), stop it.

.DESCRIPTION
Uses iperf3 when this machine has it (Local agents run this machine's programs). Otherwise it measures the same way
with a few lines of Perl, which every Debian system has (perl-base), so the walk-through runs anywhere.
Run it after a build: dotnet pwsh -File examples/iperf3.ps1
#>
[CmdletBinding()]
param(
    # Seconds each client sends for.
    [ValidateRange(1, 60)]
    [int] $Seconds = 1
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../module/Provisioning/Provisioning.psd1') -Force

$testbed = New-Testbed -Provider Local -Count 3 -Role @{ server = 1; client = 2 }
try {
    $server = Get-AgentMachine -Role server
    $clients = Get-AgentMachine -Role client
    Get-AgentMachine | Set-AgentVariable -Variable @{ iperf_port = (Get-Random -Minimum 20000 -Maximum 60000); seconds = $Seconds }
    $iperf = [bool](Get-Command iperf3 -ErrorAction SilentlyContinue)

    if ($iperf) {
        # The server runs as a supervised process of its own on the server agent, in the foreground.
        $serve = 'exec iperf3 -s -B {{ address }} -p {{ iperf_port }}'
        $client = 'for i in 1 2 3 4 5 6 7 8 9 10; do iperf3 -c {{ server.address }} -p {{ iperf_port }} -t {{ seconds }} -J > iperf.json && break; sleep 0.2; done; cat iperf.json'
    }
    else {
        # A sink that counts what each client sends.
        $sink = 'use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalAddr => shift, LocalPort => shift, Listen => 8, ReuseAddr => 1) or die "listen: $!"; ' +
            '$| = 1; while (my $c = $s->accept) { my ($n, $b) = (0); $n += length $b while sysread $c, $b, 65536; print "received $n bytes from ", $c->peerhost, "\n"; close $c }'
        $serve = "exec perl -e '$sink' {{ address }} {{ iperf_port }}"
        $send = 'use IO::Socket::INET; use Time::HiRes qw(time); my ($h, $p, $t) = @ARGV; my $s; ' +
            'for (1..50) { $s = IO::Socket::INET->new(PeerAddr => $h, PeerPort => $p) and last; select undef, undef, undef, 0.1 } $s or die "connect: $!"; ' +
            'my $b = "x" x 65536; my ($n, $t0) = (0, time); while (time - $t0 < $t) { syswrite $s, $b; $n += 65536 } close $s; ' +
            'printf "{\"end\":{\"sum_received\":{\"bytes\":%d,\"bits_per_second\":%.0f}}}\n", $n, 8 * $n / (time - $t0)'
        $client = "perl -e '$send' {{ server.address }} {{ iperf_port }} {{ seconds }}"
    }
    $started = $server | Start-AgentProcess -Name iperf-server -Command $serve
    if ($started.State -ne 'Running') { throw "the server did not start: $($started.State) $($started.StderrHead)" }

    # The clients run one after the other (-ThrottleLimit 1): an iperf3 server takes one test at a time.
    $runs = $clients | Invoke-RemoteCommand $client -ThrottleLimit 1
    $rates = foreach ($run in $runs) {
        $report = $run.Stdout | ConvertFrom-Json
        [pscustomobject]@{ Client = $run.Name; Server = $server.Name; Mbps = [math]::Round($report.end.sum_received.bits_per_second / 1e6, 1) }
    }
    $rates | Format-Table -AutoSize | Out-Host
    if (@($rates | Where-Object Mbps -gt 0).Count -ne @($clients).Count) { throw 'a client measured nothing' }

    # Read the server's log, then stop it (TERM, KILL after the grace period).
    $server | Receive-AgentProcessOutput -Name iperf-server -Stream Stdout | ForEach-Object Line | Out-Host
    $stopped = $server | Stop-AgentProcess -Name iperf-server -GraceSec 2
    if ($stopped.State -ne 'Killed') { throw "the server was not stopped: $($stopped.State)" }
    "iperf3 walk-through: $(@($rates).Count) clients measured with $(if ($iperf) { 'iperf3' } else { 'the Perl fallback' })"
}
finally {
    $testbed | Remove-Testbed -Confirm:$false
}
