#!/usr/bin/env bash
# A two-node SLURM on this machine, to try profiles/slurm before an HPC account is ready, and to
# test the profile on CI (tests/test_slurm_cluster.py). Needs root; installs from Debian's apt.
# docs/cluster.md tells the whole story.
#
#   profiles/slurm/local-cluster/cluster.sh up       # install, configure, start, wait until idle
#   profiles/slurm/local-cluster/cluster.sh down     # cancel the jobs, stop the daemons, remove the config
#   profiles/slurm/local-cluster/cluster.sh check    # can `up` work here? (else: why not, exit 1)
#   profiles/slurm/local-cluster/cluster.sh status   # nodes and jobs (exit 1: not running)
#   ... install | configure | start | wait | stop: the steps of up and down one by one
#
# Nodes: lio-cpu (partition cpu, the default) and lio-gpu (partition gpu, two fake GPUs), both
# slurmd on localhost (ports 6818, 6819; slurmctld 6817). The config goes to /etc/slurm, the only
# place jobs find it: the slurm-jobstep executor drops SLURM_* (SLURM_CONF too) before its srun.
# State, logs, pid files and SLURM's record of finished jobs (jobcomp.log) live in
# LIO_CLUSTER_DIR (default /tmp/lio-local-cluster), which `up` starts afresh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE_DIR="${LIO_CLUSTER_DIR:-/tmp/lio-local-cluster}"
CONF_DIR=/etc/slurm
MARKER="written by profiles/slurm/local-cluster/cluster.sh"
PACKAGES=(munge slurmctld slurmd slurm-client)
NODES=(lio-cpu lio-gpu)
IDLE_TIMEOUT=60  # seconds; both nodes are idle about 3 s after start

say() { echo "local-cluster: $*"; }
die() { echo "local-cluster: $*" >&2; exit 1; }

installed() {
    command -v slurmctld > /dev/null && command -v slurmd > /dev/null && command -v sbatch > /dev/null \
        && command -v munged > /dev/null
}

# Why `up` cannot work on this machine (nothing printed: it can).
cannot_run() {
    if [ "$(id -u)" != 0 ]; then
        echo "needs root (slurmd runs jobs as their user, and the config goes to $CONF_DIR)"
    elif ! installed && ! command -v apt-get > /dev/null; then
        echo "SLURM is not installed and there is no apt-get to install ${PACKAGES[*]}"
    else
        local file
        for file in slurm.conf gres.conf; do
            if [ -e "$CONF_DIR/$file" ] && ! grep -q "$MARKER" "$CONF_DIR/$file"; then
                echo "$CONF_DIR/$file exists and is not this script's: a real SLURM is configured here, which it will not overwrite"
                return
            fi
        done
    fi
}

check() {
    local reason
    reason="$(cannot_run)"
    [ -z "$reason" ] || die "$reason"
    say "can run here"
}

install() {
    if installed; then
        say "SLURM $(slurmd -V | cut -d' ' -f2) already installed"
        return
    fi
    say "installing ${PACKAGES[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Package lists may be missing (a fresh container) or stale: update only when needed.
    if ! apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" > /dev/null 2>&1; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" > /dev/null
    fi
    say "SLURM $(slurmd -V | cut -d' ' -f2) installed"
}

configure() {
    mkdir -p "$CONF_DIR"
    local cpus memory_mb
    cpus="$(nproc)"
    memory_mb="$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)"
    sed -e "s|@STATE_DIR@|$STATE_DIR|g" -e "s|@CPUS@|$((cpus > 8 ? cpus : 8))|g" \
        -e "s|@MEMORY_MB@|$((memory_mb > 16000 ? memory_mb : 16000))|g" "$HERE/slurm.conf" > "$CONF_DIR/slurm.conf"
    cp "$HERE/gres.conf" "$CONF_DIR/gres.conf"
    if [ ! -s /etc/munge/munge.key ]; then
        mungekey --create --keyfile /etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    fi
    say "configured $CONF_DIR/slurm.conf and gres.conf (state in $STATE_DIR)"
}

running() {  # running <pid file>
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2> /dev/null
}

start() {
    if running "$STATE_DIR/slurmctld.pid"; then
        die "already running (pid $(cat "$STATE_DIR/slurmctld.pid")); '$0 down' first"
    fi
    if [ -e "$STATE_DIR" ]; then  # afresh: remove only a directory this script made
        [ -e "$STATE_DIR/.lio-local-cluster" ] || die "$STATE_DIR exists and is not this script's; set LIO_CLUSTER_DIR"
        rm -rf "$STATE_DIR"
    fi
    mkdir -p "$STATE_DIR/slurmctld"
    touch "$STATE_DIR/.lio-local-cluster"
    if munge -n 2> /dev/null | unmunge > /dev/null 2>&1; then
        say "munged already running"
    else
        mkdir -p /run/munge
        chown munge:munge /run/munge
        runuser -u munge -- munged
        cp /run/munge/munged.pid "$STATE_DIR/munged.pid"  # ours to stop
    fi
    slurmctld
    local node
    for node in "${NODES[@]}"; do
        mkdir -p "$STATE_DIR/slurmd-$node"
        slurmd -N "$node"  # two slurmd on one host: each under its own node name
    done
    say "started slurmctld and slurmd ${NODES[*]}"
}

wait_idle() {
    local waited=0 states
    while true; do
        states="$(sinfo -h -N -o '%N %t' 2> /dev/null | sort -u | tr '\n' ' ' || true)"
        if [ "$states" = "lio-cpu idle lio-gpu idle " ]; then
            say "nodes idle after ${waited} s: $(sinfo -h -o '%P %N %G' | tr '\n' ' ')"
            return
        fi
        if [ "$waited" -ge "$IDLE_TIMEOUT" ]; then
            sinfo -N -l >&2 || true
            tail -n 20 "$STATE_DIR"/*.log >&2 || true
            die "nodes not idle after $IDLE_TIMEOUT s (${states:-no answer from slurmctld}); logs in $STATE_DIR"
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

stop_pid() {  # stop_pid <pid file> <name>: TERM, then wait up to 10 s
    local pid_file="$1" name="$2" pid tries=0
    running "$pid_file" || return 0
    pid="$(cat "$pid_file")"
    kill "$pid"
    while kill -0 "$pid" 2> /dev/null && [ "$tries" -lt 20 ]; do
        sleep 0.5
        tries=$((tries + 1))
    done
    kill -0 "$pid" 2> /dev/null && kill -KILL "$pid"
    say "stopped $name (pid $pid)"
}

stop() {
    local jobs
    if running "$STATE_DIR/slurmctld.pid"; then
        jobs="$(squeue -h -o %A 2> /dev/null || true)"
        if [ -n "$jobs" ]; then
            # shellcheck disable=SC2086
            scancel $jobs || true
            sleep 6  # KillWait=5: the jobs' processes end before their slurmd does
        fi
    fi
    local node
    for node in "${NODES[@]}"; do
        stop_pid "$STATE_DIR/slurmd-$node.pid" "slurmd $node"
    done
    stop_pid "$STATE_DIR/slurmctld.pid" slurmctld
    stop_pid "$STATE_DIR/munged.pid" munged
    local file
    for file in slurm.conf gres.conf; do
        if [ -e "$CONF_DIR/$file" ] && grep -q "$MARKER" "$CONF_DIR/$file"; then
            rm "$CONF_DIR/$file"
        fi
    done
    say "down (logs kept in $STATE_DIR)"
}

status() {  # exit 1 when this script's cluster is not running
    running "$STATE_DIR/slurmctld.pid" || die "not running (no slurmctld of this script)"
    sinfo -N -o '%N %P %t %c %m %G'
    squeue --states=all
}

case "${1:-}" in
    check) check ;;
    install) check; install ;;
    configure) check; configure ;;
    start) start ;;
    wait) wait_idle ;;
    stop | down) stop ;;
    status) status ;;
    up)
        check
        begun=$SECONDS
        install
        configure
        start
        wait_idle
        say "up in $((SECONDS - begun)) s: partitions cpu (default) and gpu; try profiles/slurm as docs/cluster.md shows"
        ;;
    *) die "usage: $0 up|down|check|install|configure|start|wait|stop|status" ;;
esac
