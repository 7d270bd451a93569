#!/usr/bin/env bash
# The sync round across hosts on capped links (docs/benchmarks.md), on the path users run: site kits, `swarm run-sl`,
# an ML program over the ML channel. Lab hosts h1..h6 run one SL node each, h7 the identity server and the SN; every
# link is capped at RATE (tc tbf, both directions). For each model size a fresh swarm runs ROUNDS merges of the bench's
# lab-program (it only nudges its model and syncs after every batch). Round time: the median gap between consecutive
# merges as node1's program sees them. Baseline, measured in the same run: one TCP stream between two lab hosts.
# Floors: the leader receives N-1 models and sends N-1 (2(N-1)·S/B, the design's), and what any scheme must move
# through one link (2(N-1)/N·S/B, a ring all-reduce).
# Usage (root): bench/lab-bandwidth.sh [--rate 100mbit] [--rounds 6] [--sizes 1000000,10000000]
set -euo pipefail
cd "$(dirname "$0")/.."
rate=100mbit rounds=6 sizes=1000000,10000000 nodes=6
while [ $# -gt 0 ]; do
    case "$1" in
        --rate) rate=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --sizes) sizes=$2; shift 2 ;;
        --inner) shift; break ;;
        *) echo "usage: bench/lab-bandwidth.sh [--rate 100mbit] [--rounds 6] [--sizes 1000000,10000000]" >&2; exit 2 ;;
    esac
done
export LAB_PREFIX=bw DOTNET_NOLOGO=1
swarm="dotnet $PWD/src/SwarmLearning.Cli/bin/Release/net10.0/swarm.dll"
program="dotnet $PWD/bench/SwarmLearning.Bench/bin/Release/net10.0/SwarmLearning.Bench.dll lab-program"

if [ "${1:-}" != "" ]; then   # inside the lab: one model size
    size=$1 work=$2
    lab=deploy/lab/lab.sh
    # Baseline: one TCP stream of 40 MB from h1 to h2, timed by the receiver from its first byte to the end.
    "$lab" exec h2 python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 5999)); s.listen(1)
c, _ = s.accept(); n = 0; t = None
while True:
    b = c.recv(1 << 20)
    if not b: break
    t = t or time.monotonic(); n += len(b)
print("%.0f" % (n / (time.monotonic() - t)))' > "$work/throughput" &
    sleep 1
    "$lab" exec h1 python3 -c 'import socket; c = socket.create_connection(("10.77.0.12", 5999)); c.sendall(bytes(40 << 20)); c.close()'
    wait
    {
        echo "token-ttl: 1h"
        echo "sites:"
        echo "  - { name: h7, address: 10.77.0.17, identity-server: true, sn: [ { name: sn1 } ] }"
        for i in $(seq 1 $nodes); do
            echo "  - { name: h$i, address: 10.77.0.1$i, sl: [ { name: node$i, wait-window: 10s, ml-cmd: \"$program --parameters $size --rounds $rounds --min-peers $nodes --seed $i\" } ] }"
        done
    } > "$work/project.yaml"
    $swarm kit create "$work/project.yaml" --out "$work/kits" > /dev/null
    for site in h7 $(seq -f 'h%g' 1 $nodes); do "$lab" exec "$site" env SWARM="$swarm" "$work/kits/$site/start.sh" > /dev/null; done
    for i in $(seq 1 $nodes); do
        log="$work/kits/h$i/home/logs/sl-node$i.log"
        for _ in $(seq 1 1800); do grep -q "the ML program finished\|exited with code" "$log" && break; sleep 1; done
        grep -q "the ML program finished" "$log" || { echo "node$i did not finish:"; tail -20 "$log"; exit 1; }
    done
    grep -o 'round [0-9]* synced at [0-9]* ms' "$work/kits/h1/home/logs/sl-node1.log" | awk '{print $5}' > "$work/times"
    exit 0
fi

[ "$(id -u)" = 0 ] || { echo "run as root (the lab needs network namespaces)" >&2; exit 2; }
dotnet build src/SwarmLearning.Cli -c Release -v quiet -nologo > /dev/null
dotnet build bench/SwarmLearning.Bench -c Release -v quiet -nologo > /dev/null
echo "bench/lab-bandwidth.sh --rate $rate --rounds $rounds --sizes $sizes: $nodes SL nodes on their own hosts, links capped at $rate; $(nproc) cores shared by all hosts; $(date -u +%F)"
echo
echo "| nodes | parameters | model MB | link throughput (measured) | round time (median) | floor 2(N-1)·S/B | ratio | all-reduce floor 2(N-1)/N·S/B |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for size in ${sizes//,/ }; do
    work=$(mktemp -d /tmp/lab-bandwidth-XXXX)
    deploy/lab/lab.sh run 7 --rate "$rate" -- "$0" --inner "$size" "$work" > "$work/run.log" 2>&1 || { cat "$work/run.log"; exit 1; }
    python3 - "$size" "$nodes" "$work" <<'PY'
import statistics, sys
size, n, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
b = float(open(work + "/throughput").read())
t = [int(x) for x in open(work + "/times").read().split()]
gaps = [(t[i + 1] - t[i]) / 1000 for i in range(len(t) - 1)]
model = size * 4  # float32 bytes (plus a few small tensors)
star, ring = 2 * (n - 1) * model / b, 2 * (n - 1) / n * model / b
median = statistics.median(gaps)
print(f"| {n} | {size / 1e6:g}M | {model / 1e6:.0f} | {b * 8 / 1e6:.1f} Mbit/s | {median:.2f} s | {star:.2f} s | {median / star:.2f} | {ring:.2f} s |")
print("  gaps between merges (s): " + ", ".join(f"{g:.2f}" for g in gaps), file=sys.stderr)
PY
    rm -rf "$work"
done
