#!/usr/bin/env bash
# A multi-host lab on one Linux machine (root): N hosts as network namespaces on one bridge, each with its own private
# address (10.77.0.0/24, only inside the namespaces: the bridge has no address, so hosts reach only each other), an
# optional bandwidth cap per link (tc tbf, both directions), and a teardown that also runs after a failure or Ctrl-C.
#
#   lab.sh up N [--rate 100mbit]     create hosts h1..hN (10.77.0.11 ..), print their addresses
#   lab.sh exec HOST CMD...          run CMD on a host (ip netns exec)
#   lab.sh link HOST down|up         cut a host's link or restore it (the host keeps its processes)
#   lab.sh crash HOST                the host goes down: kill -9 of every process on it, and its link cut
#   lab.sh run N [--rate R] -- CMD   up, run CMD (LAB_HOSTS="h1=10.77.0.11 ..." in its environment), always down
#   lab.sh status                    what exists now
#   lab.sh down                      remove every namespace, link and the bridge this lab made (safe to repeat)
#
# Names carry the prefix in $LAB_PREFIX (default "sl"), so two labs on one machine do not meet: namespaces
# sl-h1.., bridge slbr0, links slv1/slb1 ...  See docs/lab.md.
set -euo pipefail

prefix="${LAB_PREFIX:-sl}"
bridge="${prefix}br0"
subnet="10.77.0"

die() { echo "lab: $*" >&2; exit 2; }
need_root() { [ "$(id -u)" = 0 ] || die "run as root (network namespaces and tc need it)"; }
host_ns() { echo "${prefix}-$1"; }
address_of() { echo "$subnet.$((10 + ${1#h}))"; }
hosts() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${prefix}-h[0-9]+$" | sed "s/^${prefix}-//" | sort -V || true; }

cap() { # cap DEVICE RATE [NETNS]: token bucket on DEVICE's egress
    local dev=$1 rate=$2 ns=${3:-}
    local run=(); [ -n "$ns" ] && run=(ip netns exec "$ns")
    "${run[@]}" tc qdisc replace dev "$dev" root tbf rate "$rate" burst 256kb latency 100ms
}

up() {
    need_root
    local count=$1; shift
    local rate=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --rate) rate=$2; shift 2 ;;
            *) die "unknown option '$1' (up N [--rate 100mbit])" ;;
        esac
    done
    [[ "$count" =~ ^[0-9]+$ ]] && [ "$count" -ge 1 ] && [ "$count" -le 60 ] || die "the number of hosts must be 1 to 60 (got '$count')"
    [ -z "$(hosts)" ] || die "a lab with prefix '$prefix' exists already: lab.sh down first"
    ip link add "$bridge" type bridge
    ip link set "$bridge" up
    for i in $(seq 1 "$count"); do
        local ns; ns=$(host_ns "h$i")
        ip netns add "$ns"
        ip link add "${prefix}v$i" type veth peer name "${prefix}b$i"
        ip link set "${prefix}v$i" netns "$ns"
        ip link set "${prefix}b$i" master "$bridge" up
        ip -n "$ns" link set lo up
        ip -n "$ns" link set "${prefix}v$i" name eth0
        ip -n "$ns" addr add "$(address_of "h$i")/24" dev eth0
        ip -n "$ns" link set eth0 up
        if [ -n "$rate" ]; then
            cap eth0 "$rate" "$ns"            # host -> bridge
            cap "${prefix}b$i" "$rate"        # bridge -> host
        fi
        echo "h$i $(address_of "h$i")${rate:+ (link capped at $rate)}"
    done
}

down() {
    need_root
    for host in $(hosts); do
        ip netns pids "$(host_ns "$host")" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$(host_ns "$host")" 2>/dev/null || true
    done
    for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E "^${prefix}b[0-9]+$" || true); do
        ip link del "$link" 2>/dev/null || true
    done
    ip link del "$bridge" 2>/dev/null || true
}

status() {
    local found; found=$(hosts)
    [ -n "$found" ] || { echo "no lab with prefix '$prefix'"; return 0; }
    for host in $found; do
        local ns; ns=$(host_ns "$host")
        echo "$host $(ip -n "$ns" -4 -o addr show dev eth0 | awk '{print $4}') link $(ip -n "$ns" -o link show eth0 | grep -q 'state UP' && echo up || echo down)" \
             "$(ip netns exec "$ns" tc qdisc show dev eth0 | grep -o 'rate [^ ]*' || true)"
    done
}

link() {
    need_root
    local host=$1 state=$2
    [[ "$state" =~ ^(up|down)$ ]] || die "link HOST up|down"
    ip netns list | grep -qE "^$(host_ns "$host")( |$)" || die "no host '$host' (lab.sh status)"
    ip -n "$(host_ns "$host")" link set eth0 "$state"
}

crash() {
    need_root
    local ns; ns=$(host_ns "$1")
    ip netns list | grep -qE "^$ns( |$)" || die "no host '$1' (lab.sh status)"
    ip netns pids "$ns" | xargs -r kill -9 2>/dev/null || true
    ip -n "$ns" link set eth0 down
}

run() {
    local count=$1; shift
    local options=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do options+=("$1"); shift; done
    [ "${1:-}" = "--" ] || die "run N [--rate R] -- COMMAND"
    shift
    trap down EXIT INT TERM
    local list; list=$(up "$count" "${options[@]}" | awk '{printf "%s%s=%s", (NR > 1 ? " " : ""), $1, $2}')
    LAB_HOSTS="$list" LAB_PREFIX="$prefix" "$@"
}

case "${1:-}" in
    up) shift; [ $# -ge 1 ] || die "up N [--rate 100mbit]"; up "$@" ;;
    down) down ;;
    status) status ;;
    exec) shift; [ $# -ge 2 ] || die "exec HOST COMMAND..."; host=$1; shift; need_root; exec ip netns exec "$(host_ns "$host")" "$@" ;;
    link) shift; [ $# -eq 2 ] || die "link HOST up|down"; link "$@" ;;
    crash) shift; [ $# -eq 1 ] || die "crash HOST"; crash "$1" ;;
    run) shift; [ $# -ge 3 ] || die "run N [--rate R] -- COMMAND"; run "$@" ;;
    *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
