#!/bin/sh
# A whole Slurm cluster on this machine, for tests and the benchmark: one munged, one slurmctld and N slurmd
# (multiple-slurmd mode: n1..nN, each on its own port, all at 127.0.0.1), in a folder of its own with its own
# ports, state, spool and munge socket, so several can run at once and nothing touches /etc or /run.
#
#   slurm-cluster.sh start DIR [NODES]   starts it (4 nodes by default), waits until every node is idle, prints
#                                        SLURM_CONF=DIR/slurm.conf
#   slurm-cluster.sh stop DIR            cancels its jobs, stops its daemons and deletes DIR
#
# Needs root (slurmd runs the jobs' tasks as their users) and Debian's slurmctld, slurmd and munge packages.
set -eu

command=${1:?usage: slurm-cluster.sh start|stop DIR [NODES]}
dir=${2:?usage: slurm-cluster.sh start|stop DIR [NODES]}
nodes=${3:-4}

# Ports below Linux's ephemeral range (32768 and up), so no outgoing connection holds one, and never one twice.
taken=" "
free_port() {
    while :; do
        p=$(( 10000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 22000 ))
        case $taken in *" $p "*) continue ;; esac
        if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then taken="$taken$p "; echo "$p"; return; fi
    done
}

stop_cluster() {
    [ -d "$dir" ] || return 0
    if [ -f "$dir/slurm.conf" ] && [ -f "$dir/run/slurmctld.pid" ]; then
        SLURM_CONF="$dir/slurm.conf" scancel --quiet --full --user "$(id -un)" 2>/dev/null || true
    fi
    for f in "$dir"/run/slurmd-*.pid "$dir/run/slurmctld.pid" "$dir/run/munged.pid"; do
        [ -f "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null || true)
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    done
    # slurmstepd and the daemons need a moment; then nothing of this cluster may remain.
    i=0
    while [ $i -lt 50 ] && pgrep -f -- "$dir/" >/dev/null 2>&1; do sleep 0.1; i=$((i + 1)); done
    pkill -KILL -f -- "$dir/" 2>/dev/null || true
    # slurmstepd's command line does not name the folder, but its environment does (a step whose node's slurmd died
    # would otherwise outlive the cluster).
    for e in /proc/[0-9]*/environ; do
        if grep -qaF -- "SLURM_CONF=$dir/slurm.conf" "$e" 2>/dev/null; then
            p=${e#/proc/}; p=${p%/environ}
            [ "$p" != $$ ] && kill -KILL "$p" 2>/dev/null || true
        fi
    done
    for f in "$dir"/run/*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null || true; done
    rm -rf -- "$dir"
}

case $command in
stop)
    stop_cluster
    exit 0
    ;;
start) ;;
*)
    echo "unknown command $command" >&2
    exit 2
    ;;
esac

for program in munged slurmctld slurmd sinfo; do
    if ! command -v "$program" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$program" ]; then
        echo "slurm-cluster.sh: $program is not installed (apt-get install slurmctld slurmd slurm-client munge)" >&2
        exit 3
    fi
done
PATH=$PATH:/usr/sbin

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
chmod 755 "$dir"
mkdir -p "$dir/state" "$dir/run" "$dir/log" "$dir/spool"
chmod 755 "$dir/run"
dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 2>/dev/null
chmod 600 "$dir/munge.key"
munged --force --socket="$dir/run/munge.sock" --key-file="$dir/munge.key" --log-file="$dir/log/munged.log" \
    --pid-file="$dir/run/munged.pid" --seed-file="$dir/run/munge.seed" </dev/null >/dev/null 2>&1

cpus=$(nproc)
# Chosen here, in this shell (a $(...) would forget what it took).
pick_port() { free_port >"$dir/run/port"; p=$(cat "$dir/run/port"); taken="$taken$p "; }
pick_port; ctld_port=$p
node_ports=
i=1
while [ $i -le "$nodes" ]; do pick_port; node_ports="$node_ports $p"; i=$((i + 1)); done
{
    echo "ClusterName=prov$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')"
    echo "SlurmctldHost=localhost(127.0.0.1)"
    echo "SlurmctldPort=$ctld_port"
    echo "SlurmUser=root"
    echo "SlurmdUser=root"
    echo "AuthType=auth/munge"
    echo "AuthInfo=socket=$dir/run/munge.sock"
    echo "CredType=cred/munge"
    echo "StateSaveLocation=$dir/state"
    echo "SlurmdSpoolDir=$dir/spool/%n"
    echo "SlurmctldPidFile=$dir/run/slurmctld.pid"
    echo "SlurmdPidFile=$dir/run/slurmd-%n.pid"
    echo "SlurmctldLogFile=$dir/log/slurmctld.log"
    echo "SlurmdLogFile=$dir/log/slurmd-%n.log"
    echo "ProctrackType=proctrack/linuxproc"
    echo "TaskPlugin=task/none"
    echo "SwitchType=switch/none"
    echo "MpiDefault=none"
    echo "SelectType=select/cons_tres"
    echo "SelectTypeParameters=CR_Core"
    echo "SchedulerType=sched/backfill"
    echo "JobAcctGatherType=jobacct_gather/none"
    echo "AccountingStorageType=accounting_storage/none"
    echo "SlurmdParameters=config_overrides"
    echo "ReturnToService=2"
    echo "MessageTimeout=30"
    echo "SlurmdTimeout=300"
    echo "TreeWidth=${SLURM_TREE_WIDTH:-50}"
    i=1
    while [ $i -le "$nodes" ]; do
        feature=
        [ $i -eq 1 ] && feature=" Feature=first"
        set -- $node_ports
        eval "port=\${$i}"
        echo "NodeName=n$i NodeAddr=127.0.0.1 NodeHostName=localhost Port=$port CPUs=$cpus RealMemory=1000$feature"
        i=$((i + 1))
    done
    echo "PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES"
} > "$dir/slurm.conf"

export SLURM_CONF="$dir/slurm.conf"
# The daemons must not hold the caller's pipes open (a test reading this script's output would wait forever).
slurmctld -i </dev/null >>"$dir/log/daemons.out" 2>&1
i=1
while [ $i -le "$nodes" ]; do
    mkdir -p "$dir/spool/n$i"
    slurmd -N "n$i" </dev/null >>"$dir/log/daemons.out" 2>&1
    i=$((i + 1))
done

tries=0
while :; do
    idle=$(sinfo --noheader --Node --format '%N %T' 2>/dev/null | awk '$2 == "idle"' | wc -l)
    [ "$idle" -ge "$nodes" ] && break
    tries=$((tries + 1))
    if [ $tries -gt $((300 + nodes * 5)) ]; then
        echo "slurm-cluster.sh: only $idle of $nodes nodes became idle; see $dir/log" >&2
        tail -5 "$dir/log/slurmctld.log" >&2 || true
        exit 4
    fi
    sleep 0.1
done
echo "SLURM_CONF=$SLURM_CONF"
