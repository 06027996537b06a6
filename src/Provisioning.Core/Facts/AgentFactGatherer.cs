using System.Globalization;
using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Facts;

/// <summary>
/// Gathers <see cref="AgentFacts"/> in one round trip per host, with builtins and /proc where they suffice, and
/// attaches them to the machine (<see cref="AgentMachine.Facts"/>), which is the session's cache.
/// </summary>
public static class AgentFactGatherer
{
    /// <summary>The operation behind Get-AgentFact: every host's facts, from the cache unless <paramref name="refresh"/>.</summary>
    public static HostOperation<AgentFacts> Gather(bool refresh, int throttleLimit = FanOut.DefaultThrottleLimit) => new GatherOperation(refresh, throttleLimit);

    /// <summary>The host's facts: cached ones, or gathered now (and cached). Throws <see cref="ProvisioningException"/> when they cannot be.</summary>
    public static async Task<AgentFacts> GetAsync(AgentMachine machine, ISshTransport transport, bool refresh, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(transport);
        if (!refresh && machine.Facts is { } cached) return cached;
        var e = await transport.ExecuteAsync(machine, new RemoteExecutionRequest { Command = Script, Timeout = TimeSpan.FromSeconds(60) }, ct).ConfigureAwait(false);
        var (status, error) = HostFailure.FromExecution(machine, e, "gathering facts", TimeSpan.FromSeconds(60), failed =>
            new HostError(ErrorKind.FactsUnavailable, $"{machine.Name}: facts could not be gathered (exit {failed.ExitCode}): {HostFailure.LastLine(failed.Stderr)}"));
        if (error is not null) throw new ProvisioningException(error.Kind, error.Message, machine);
        var facts = Parse(machine, e.Stdout) with { Status = status, StartTime = e.StartTime, Duration = e.Duration };
        machine.Facts = facts;
        return facts;
    }

    // One line per fact, key=value; lists as repeated keys with tab-separated fields.
    internal const string Script = """
        ID=; VERSION_ID=; VERSION_CODENAME=; PRETTY_NAME=; [ -r /etc/os-release ] && . /etc/os-release
        printf 'os_id=%s\nos_version=%s\nos_codename=%s\nos_name=%s\n' "$ID" "$VERSION_ID" "$VERSION_CODENAME" "$PRETTY_NAME"
        read -r k < /proc/sys/kernel/osrelease && echo "kernel=$k"
        echo "arch=$(uname -m)"
        echo "cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null)"
        while IFS=: read -r a b; do case $a in "model name"*) echo "cpu_model=${b# }"; break ;; esac; done < /proc/cpuinfo
        while read -r a b c; do [ "$a" = MemTotal: ] && { echo "mem_kb=$b"; break; }; done < /proc/meminfo
        read -r h < /proc/sys/kernel/hostname && echo "hostname=$h"
        if [ -d /run/systemd/system ]; then echo init=systemd; else read -r i < /proc/1/comm && echo "init=$i"; fi
        for p in apt-get:apt dnf:dnf yum:yum apk:apk zypper:zypper pacman:pacman; do command -v "${p%%:*}" >/dev/null 2>&1 && { echo "pkg=${p#*:}"; break; }; done
        df -P -k 2>/dev/null | while read -r dev size used avail pct mnt; do [ "$dev" = Filesystem ] || printf 'disk=%s\t%s\t%s\t%s\n' "$mnt" "$dev" "$size" "$avail"; done
        if command -v ip >/dev/null 2>&1; then ip -o addr show 2>/dev/null | while read -r n ifc fam addr rest; do printf 'addr=%s\t%s\n' "$ifc" "$addr"; done
        else for n in /sys/class/net/*; do [ -e "$n" ] && printf 'addr=%s\t\n' "${n##*/}"; done; fi
        exit 0
        """;

    internal static AgentFacts Parse(AgentMachine machine, string stdout)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var disks = new List<AgentDisk>();
        var addresses = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var raw in stdout.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) continue;
            var (key, value) = (line[..eq], line[(eq + 1)..]);
            switch (key)
            {
                case "disk":
                    var d = value.Split('\t');
                    if (d.Length == 4) disks.Add(new AgentDisk(d[0], d[1], Kib(d[2]), Kib(d[3])));
                    break;
                case "addr":
                    var a = value.Split('\t');
                    var list = addresses.TryGetValue(a[0], out var l) ? l : addresses[a[0]] = [];
                    if (a.Length > 1 && a[1].Length > 0) list.Add(a[1]);
                    break;
                default:
                    values[key] = value;
                    break;
            }
        }
        string? V(string k) => values.TryGetValue(k, out var v) && v.Length > 0 ? v : null;
        return new AgentFacts
        {
            Machine = machine,
            Status = HostStatus.Succeeded,
            OsId = V("os_id"),
            OsVersion = V("os_version"),
            OsCodename = V("os_codename"),
            OsName = V("os_name"),
            Kernel = V("kernel"),
            Architecture = V("arch"),
            CpuCount = int.TryParse(V("cpus"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var c) ? c : 0,
            CpuModel = V("cpu_model"),
            MemoryBytes = Kib(V("mem_kb")),
            Hostname = V("hostname"),
            InitSystem = V("init"),
            PackageManager = V("pkg"),
            Disks = disks,
            Interfaces = addresses.Select(kv => new AgentInterface(kv.Key, kv.Value)).ToList(),
        };
    }

    private static long Kib(string? text) => long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var k) ? k * 1024 : 0;

    private sealed class GatherOperation(bool refresh, int throttleLimit) : HostOperation<AgentFacts>(throttleLimit)
    {
        public override IReadOnlyList<HostPlan> Plan(IReadOnlyList<AgentMachine> machines) =>
            machines.Select(m => new HostPlan(m, "Gather facts")).ToArray();

        public override async Task<IReadOnlyList<AgentFacts>> RunAsync(AgentMachine machine, ISshTransport transport, CancellationToken ct) =>
            [await GetAsync(machine, transport, refresh, ct).ConfigureAwait(false)];

        public override AgentFacts Failure(AgentMachine machine, HostStatus status, HostError error, DateTimeOffset started) =>
            new() { Machine = machine, Status = status, Error = error, StartTime = started };

        public override JournalEntry? Journal(AgentFacts result) => null;
    }
}
