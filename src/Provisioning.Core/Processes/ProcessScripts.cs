using System.Globalization;
using System.Text;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Processes;

/// <summary>
/// The POSIX sh that runs on the hosts for experiment processes: a supervisor that needs no install, and one script
/// per cmdlet, each one round trip. The registry is a folder per process under the login user's state directory
/// (<c>${XDG_STATE_HOME:-~/.local/state}/provisioning/processes/NAME</c>): its command, environment and policy, a
/// <c>state</c> file the supervisor rewrites atomically, an <c>events</c> log, and <c>run-N.out</c>/<c>run-N.err</c>.
/// Every process of a run carries <c>PROVISIONING_PROCESS=&lt;its folder&gt;</c> in its environment, which is how a
/// stop finds children that changed their process group or session, even after they were reparented.
/// </summary>
internal static class ProcessScripts
{
    // The supervisor's file name carries a hash of its text: a host keeps one copy per version, written once.
    private static readonly string SupervisorVersion =
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Functions + Supervisor)), 0, 6).ToLowerInvariant();

    /// <summary>The environment variable that marks every process of a run.</summary>
    public const string Marker = "PROVISIONING_PROCESS";

    // Shared functions. The state file is written in place by one printf (one write(2) of a few hundred bytes, not a
    // rename: mv is an exec); a reader that catches it between the truncation and the write reads it again, up to
    // 400 times (a few ms: once was not enough when the writer was descheduled on a loaded 2-core host).
    // dash reads a byte per read(2), and /proc/stat regenerates its whole text on each (3.6 ms for
    // the boot time): btime reads it once per boot into the registry. st: a pid's start time (field 22 of /proc/PID/stat) so a reused pid is never taken for ours;
    // alive: pid running (not a zombie) with that start time; marked: the pids carrying a folder's marker; kids: a pid
    // and all its descendants; kill_run: TERM to a run's processes, KILL what is left after the grace period.
    private const string Functions = """
        reg="${XDG_STATE_HOME:-$HOME/.local/state}/provisioning/processes"
        stat() { s_=; { read -r s_ < "/proc/$1/stat"; } 2>/dev/null || return 1; s_=${s_##*) }; }
        st() { st_=; stat "$1" || return 0; set -- $s_; shift 19; st_=$1; }
        zombie() { stat "$1" && [ "${s_%% *}" = Z ]; }
        alive() {
            [ -n "$1" ] && [ -n "$2" ] && [ "$1" -gt 1 ] 2>/dev/null || return 1
            stat "$1" || return 1
            want_=$2; set -- $s_; [ "$1" != Z ] || return 1
            shift 19; [ "$1" = "$want_" ]
        }
        btime() {
            [ -n "$bt_" ] && return 0; bid_=; { read -r bid_ < /proc/sys/kernel/random/boot_id; } 2>/dev/null; f_="$reg/.btime-$bid_"
            [ -n "$bid_" ] && { read -r bt_ < "$f_"; } 2>/dev/null && [ -n "$bt_" ] && return 0
            while read -r k_ v_ _; do [ "$k_" = btime ] && break; done < /proc/stat; bt_=$v_
            [ -n "$bid_" ] && { printf '%s\n' "$bt_" > "$f_.$$" && mv -f "$f_.$$" "$f_"; } 2>/dev/null; return 0
        }
        now() { btime; read -r up_ _ < /proc/uptime; now_=$((bt_ + ${up_%.*})); }
        marked() { for e in /proc/[0-9]*/environ; do grep -qzxF "PROVISIONING_PROCESS=$1" "$e" 2>/dev/null && { p=${e#/proc/}; echo "${p%/environ}"; }; done; }
        kids() { ps -eo pid=,ppid= | awk -v r="$1" '{ p[$1] = $2 } END { s[r] = 1; do { c = 0; for (k in p) if ((p[k] in s) && !(k in s)) { s[k] = 1; c = 1 } } while (c); for (k in s) print k }'; }
        load() {
            s_state=; s_code=; s_pid=; s_pid_start=; s_sup=; s_sup_start=; s_run=0; s_restarts=0; s_started=; s_ended=; s_sudo=0; s_nonce=
            [ -r "$1/state" ] || return 0; . "$1/state"; i_=0
            while [ -z "$s_nonce" ] && [ $i_ -lt 400 ]; do . "$1/state"; i_=$((i_ + 1)); done
        }
        kill_run() {
            load "$1"; pids=$(marked "$1"); alive "$s_pid" "$s_pid_start" && pids="$pids $(kids "$s_pid")"
            pids=$(for p in $pids; do echo "$p"; done | sort -un)
            [ -n "$pids" ] || return 0
            kill -TERM $pids 2>/dev/null; i=0
            while :; do
                left=; for p in $pids; do [ -d "/proc/$p" ] && ! zombie "$p" && left="$left $p"; done
                [ -z "$left" ] && return 0
                [ "$i" -ge $(($2 * 10)) ] && break
                sleep 0.1; i=$((i + 1))
            done
            kill -KILL $left 2>/dev/null; return 0
        }
        sel() { for d in "$reg"/*; do [ -e "$d/state" ] || continue; n=${d##*/}; for p in "$@"; do case "$n" in $p) echo "$d"; break ;; esac; done; done; }
        missing() { for p in "$@"; do case "$p" in *[*?[]*) ;; *) [ -e "$reg/$p/state" ] || printf 'E\t%s\tProcessNotFound\tno process of that name\n' "$p" ;; esac; done; }
        record() {
            load "$1"; n=${1##*/}
            if [ "$s_state" = Running ] || [ "$s_state" = Restarting ]; then alive "$s_sup" "$s_sup_start" || { s_state=Exited; s_code=; }; fi
            head=; [ "$s_state" != Running ] && [ -n "$s_code" ] && [ "$s_code" != 0 ] && head=$(head -n 3 "$1/run-$s_run.err" 2>/dev/null | tr '\t\r\n' '   ')
            printf 'P\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$s_state" "$s_code" "$s_pid" "$s_started" "$s_ended" "$s_restarts" "$s_run" "$1/run-$s_run.out" "$1/run-$s_run.err" "$head"
        }
        """;

    // The supervisor: runs the command (again, per the policy), records each state change, enforces the timeout. It
    // runs in a session of its own (setsid), so it outlives the ssh connection that started it. Its stdout is the
    // starter's command substitution until the first run is recorded: the starter blocks on its end of file instead
    // of polling (a sleep is an exec, and 100 of them polling on a loaded host cost more than the start). $2 is the start's nonce, which
    // tells the starter that the state it reads is this supervisor's. The stop and timeout markers hold
    // the supervisor's pid and start time, so a folder is reused without deleting anything (every exec counts at 100
    // hosts on a small controller): a marker an earlier supervisor left names another one. The command is sourced
    // into the run's subshell (one exec fewer), after the supervisor's own names are cleared from it. The timeout
    // watcher ignores TERM once it fires: its kill reaches the run's shell first (lowest pid), the supervisor then
    // kills the watcher, and without the trap the watcher died before it signalled the run's children.
    private const string Supervisor = """
        d=$1; nonce=$2; . "$d/policy"
        st $$; sup_start=$st_; runs=0; restarts=0; code=; child=; child_start=; started=; ended=
        save() {
            printf 's_state=%s\ns_code=%s\ns_pid=%s\ns_pid_start=%s\ns_sup=%s\ns_sup_start=%s\ns_run=%s\ns_restarts=%s\ns_started=%s\ns_ended=%s\ns_sudo=%s\ns_nonce=%s\n' \
                "$1" "$code" "$child" "$child_start" "$$" "$sup_start" "$runs" "$restarts" "$started" "$ended" "$sudo" "$nonce" > "$d/state"
            now; echo "$now_ $1 ${code:--}" >> "$d/events"
        }
        mark() { m_=; { read -r m_ < "$d/$1"; } 2>/dev/null; [ "$m_" = "$$ $sup_start${2:+ $2}" ]; }
        stopped() { mark stop; }
        while :; do
            runs=$((runs + 1)); ended=
            ( cd "$workdir" 2>/dev/null || cd; . "$d/env"; PROVISIONING_PROCESS=$d; export PROVISIONING_PROCESS
              if [ "$sudo" = 1 ] && [ "$(id -u)" != 0 ]; then exec sudo -n --preserve-env=PROVISIONING_PROCESS sh "$d/command"; fi
              __prov_cmd=$d/command; unset -f stat st zombie alive btime now marked kids load kill_run sel missing record save mark stopped
              unset reg d nonce restart max delay timeout sudo workdir sup_start runs restarts code child child_start started ended s_ st_ up_ k_ v_ now_ want_ bt_ bid_ f_ m_ wd again
              set --; . "$__prov_cmd"
            ) </dev/null >"$d/run-$runs.out" 2>"$d/run-$runs.err" &
            child=$!; st "$child"; child_start=$st_; now; started=$now_; save Running
            [ "$runs" = 1 ] && { trap '' PIPE; echo started; exec >/dev/null; trap - PIPE; }
            wd=; [ "$timeout" -gt 0 ] && { ( sleep "$timeout"; stopped || { trap '' TERM; echo "$$ $sup_start $runs" > "$d/timedout"; kill_run "$d" 5; } ) </dev/null >/dev/null 2>&1 & wd=$!; }
            wait "$child"; code=$?; now; ended=$now_
            [ -n "$wd" ] && kill "$wd" 2>/dev/null
            if stopped; then save Killed; exit 0; fi
            if mark timedout "$runs"; then save TimedOut; exit 0; fi
            again=0; case $restart in Always) again=1 ;; OnFailure) [ "$code" -ne 0 ] && again=1 ;; esac
            if [ "$again" = 1 ] && [ "$restarts" -lt "$max" ]; then
                restarts=$((restarts + 1)); save Restarting; sleep "$delay"
                stopped && { save Killed; exit 0; }
                continue
            fi
            save Exited; exit 0
        done
        """;

    /// <summary>How long a new process has to fail before its start reports it Running: one that exits within it did not start.</summary>
    public static readonly TimeSpan ExitWindow = TimeSpan.FromMilliseconds(100);

    /// <summary>The exit code of a script that found no function library of its version on the host.</summary>
    public const int LibraryMissing = 97;

    /// <summary>
    /// <paramref name="body"/> (from <see cref="Start"/>, <see cref="List"/> or <see cref="Stop"/>) with the shared
    /// functions sourced from the host's copy: a script of a few hundred bytes, which goes on the transport's fast
    /// path (SSH.NET's persistent shell takes up to 2 KiB). Exits <see cref="LibraryMissing"/> when this version's
    /// copy is not there yet; then <see cref="InstallingLibrary"/> sends them.
    /// </summary>
    public static string UsingLibrary(string body) =>
        "reg=\"${XDG_STATE_HOME:-$HOME/.local/state}/provisioning/processes\"\n" +
        $"[ -f \"$reg/.functions-{SupervisorVersion}\" ] && [ -f \"$reg/.supervise-{SupervisorVersion}\" ] || exit {LibraryMissing}\n" +
        $". \"$reg/.functions-{SupervisorVersion}\"\n" + body;

    /// <summary><paramref name="body"/> with the functions inline, writing the host's copies of them and of the supervisor first.</summary>
    public static string InstallingLibrary(string body) => Functions + "\n" + $$"""
        [ -d "$reg" ] || mkdir -p "$reg" || exit 1
        [ -f "$reg/.functions-{{SupervisorVersion}}" ] || { printf '%s\n' {{PosixShell.Quote(Functions)}} > "$reg/.functions-{{SupervisorVersion}}.$$" && mv -f "$reg/.functions-{{SupervisorVersion}}.$$" "$reg/.functions-{{SupervisorVersion}}"; }
        [ -f "$reg/.supervise-{{SupervisorVersion}}" ] || { printf '%s\n' {{PosixShell.Quote(Functions + "\n" + Supervisor)}} > "$reg/.supervise-{{SupervisorVersion}}.$$" && mv -f "$reg/.supervise-{{SupervisorVersion}}.$$" "$reg/.supervise-{{SupervisorVersion}}"; }

        """ + body;

    /// <summary>
    /// Starts a process: refuses a name that runs (unless <paramref name="force"/>, which stops it first), lays out its
    /// folder, starts the supervisor detached, and reports the state once the supervisor has recorded the first run
    /// (waiting up to 5 s for it on a loaded host), then a <c>W</c> line: the centiseconds since the launch. The exit
    /// window is the controller's (<see cref="ExitWindow"/>): a sleep here would be an exec on every host, which costs
    /// more than the second round trip that a host answering within the window gets.
    /// </summary>
    public static string Start(string name, string command, IReadOnlyDictionary<string, string> environment, string? workDir,
        ProcessStartSpec spec, bool force)
    {
        var env = new StringBuilder();
        foreach (var (key, value) in environment) env.Append("export ").Append(key).Append('=').Append(PosixShell.Quote(value)).Append('\n');
        var nonce = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
        var policy = string.Create(CultureInfo.InvariantCulture,
            $"restart={spec.Restart}\nmax={spec.MaxRestarts}\ndelay={spec.RestartDelay.TotalSeconds:0.###}\ntimeout={(int)Math.Ceiling(spec.Timeout?.TotalSeconds ?? 0)}\nsudo={(spec.Sudo ? 1 : 0)}\n");
        return $$"""
            n={{PosixShell.Quote(name)}}; d="$reg/$n"; [ -d "$reg" ] || mkdir -p "$reg" || exit 1
            if [ -d "$d" ]; then
                load "$d"
                if alive "$s_sup" "$s_sup_start"; then
                    if [ {{(force ? 1 : 0)}} = 1 ]; then echo "$s_sup $s_sup_start" > "$d/stop"; kill_run "$d" {{(int)spec.ForceGrace.TotalSeconds}}; alive "$s_sup" "$s_sup_start" && kill -KILL "$s_sup" 2>/dev/null
                    else printf 'E\t%s\tProcessAlreadyRunning\t%s\n' "$n" "pid $s_pid, run $s_run, started $(date -d "@$s_started" '+%F %T' 2>/dev/null)"; exit 0; fi
                fi
            else
                mkdir -p "$d" || exit 1
            fi
            printf '%s\n' {{PosixShell.Quote(command)}} > "$d/command"
            printf '%s' {{PosixShell.Quote(env.ToString())}} > "$d/env"
            printf '%s' {{PosixShell.Quote(policy + "workdir=" + PosixShell.Quote(workDir ?? "") + "\n")}} > "$d/policy"
            read -r u0_ _ < /proc/uptime
            : "$(setsid sh "$reg/.supervise-{{SupervisorVersion}}" "$d" {{nonce}} </dev/null 2>/dev/null &)"
            i=0; while load "$d"; [ "$s_nonce" != {{nonce}} ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
            read -r u1_ _ < /proc/uptime
            record "$d"; printf 'W\t%s\n' $(( ${u1_%.*}${u1_#*.} - ${u0_%.*}${u0_#*.} ))
            """;
    }

    /// <summary>Lists the processes whose names match <paramref name="patterns"/> (sh globs), one record line each.</summary>
    public static string List(IReadOnlyList<string> patterns) => $$"""
        set -- {{Words(patterns)}}; missing "$@"
        for d in $(sel "$@"); do record "$d"; done; exit 0
        """;

    private static string Words(IEnumerable<string> patterns) => string.Join(" ", patterns.Select(PosixShell.Quote));

    /// <summary>Stops the named processes: marks them stopped (no restart), TERM, KILL after the grace, then the record.</summary>
    public static string Stop(IReadOnlyList<string> names, TimeSpan grace) => $$"""
        g={{(int)Math.Ceiling(grace.TotalSeconds)}}
        set -- {{Words(names)}}; missing "$@"
        for d in $(sel "$@"); do
            load "$d"
            if alive "$s_sup" "$s_sup_start"; then
                echo "$s_sup $s_sup_start" > "$d/stop"; kill_run "$d" "$g"
                i=0; while alive "$s_sup" "$s_sup_start" && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
                if alive "$s_sup" "$s_sup_start"; then
                    kill -KILL "$s_sup" 2>/dev/null
                    sed -i 's/^s_state=.*/s_state=Killed/' "$d/state"; now; echo "$now_ Killed -" >> "$d/events"
                fi
            fi
            record "$d"
        done; exit 0
        """;

    /// <summary>
    /// Prints the logs of the named processes' current runs, each line prefixed with the process and the stream. With
    /// <paramref name="follow"/>, keeps printing new lines until every one of them has ended.
    /// </summary>
    public static string Output(IReadOnlyList<string> names, int? tail, bool stdout, bool stderr, bool follow)
    {
        var from = tail is { } n ? n.ToString(CultureInfo.InvariantCulture) : "+1";
        var files = (stdout ? "out " : "") + (stderr ? "err" : "");
        return Functions + "\n" + $$"""
            tails=; active=
            set -- {{Words(names)}}; missing "$@"
            for d in $(sel "$@"); do
                load "$d"; n=${d##*/}
                for s in {{files}}; do
                    f="$d/run-$s_run.$s"; [ -e "$f" ] || continue
                    {{(follow ? "tail -n \"{0}\" -F \"$f\" 2>/dev/null | sed -u \"s/^/L\\t$n\\t$s\\t/\" &\n                    tails=\"$tails $!\"" : "tail -n \"{0}\" \"$f\" | sed \"s/^/L\\t$n\\t$s\\t/\"").Replace("{0}", from)}}
                done
                active="$active $d"
            done
            {{(follow ? """
            while :; do
                more=0; for d in $active; do load "$d"; alive "$s_sup" "$s_sup_start" && more=1; done
                [ "$more" = 1 ] || break; sleep 0.25
            done
            sleep 0.3; [ -n "$tails" ] && kill $tails 2>/dev/null; pkill -P $$ tail 2>/dev/null
            """ : "")}}
            exit 0
            """;
    }
}
