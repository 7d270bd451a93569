#!/usr/bin/env bash
# Five lab hosts brought up from site kits (deploy/lab/five-hosts.yaml, `swarm kit create`), and two faults while
# they train:
#   1. h5's link (SL node4 and node5) is cut until the others have merged two rounds without them, then restored;
#   2. h4 (SN sn3: a minority of the ledger) crashes: kill -9 of everything on it, and its link cut for good.
# Every SL node must end on the same final model, the ledger must merge rounds after h4 went down, and the chain
# must verify. Run as: deploy/lab/lab.sh run 5 -- deploy/lab/five-hosts.sh
# Environment: ML_CS and ML_PY (a C# and a Python ML program of the same model; "--seed N" is appended), SWARM (how
# to run swarm, default: swarm on PATH), WORK (state folder, default a new temp one).
set -euo pipefail
cd "$(dirname "$0")/../.."
lab=deploy/lab/lab.sh
swarm=${SWARM:-swarm}
: "${ML_CS:?set ML_CS to a C# ML program}" "${ML_PY:?set ML_PY to a Python ML program}"
work=${WORK:-$(mktemp -d /tmp/lab-five-XXXX)}
kits=$work/kits
nodes="node1 node2 node3 node4 node5"
export ML_CMD_1="$ML_CS --seed 1" ML_CMD_2="$ML_PY --seed 2" ML_CMD_3="$ML_CS --seed 3" ML_CMD_4="$ML_PY --seed 4" ML_CMD_5="$ML_CS --seed 5"

say() { echo "$(date +%T) $*"; }
site_of() { case $1 in node1) echo h1 ;; node2) echo h2 ;; node3) echo h3 ;; *) echo h5 ;; esac; }
log_of() { echo "$kits/$(site_of "$1")/home/logs/sl-$1.log"; }
# The latest round whose merged model the node loaded: "loaded merged model HASH of round N" (the node, every round)
# or "loaded the merged model of round N" (the program's sync).
round_of() { { grep -hoE 'merged model ([0-9a-f]+ )?of round [0-9]+' "$(log_of "$1")" 2>/dev/null || true; } | awk '{print $NF}' | sort -n | tail -1 | grep . || echo -1; }
finished() { grep -q "the ML program finished" "$(log_of "$1")" 2>/dev/null || grep -q "ML program failed\|exited with" "$(log_of "$1")" 2>/dev/null; }
all_finished() { for node in $nodes; do finished "$node" || return 1; done; }
wait_for() { # wait_for SECONDS WHAT COMMAND...: poll once a second
    local limit=$1 what=$2; shift 2
    for ((i = 0; i < limit; i++)); do "$@" && return 0; sleep 1; done
    say "gave up after $limit s waiting for $what"; return 1
}
at_least() { [ "$(round_of "$1")" -ge "$2" ]; }
loads() { local n; n=$(grep -c "loaded the merged model of round" "$(log_of "$1")" 2>/dev/null); echo "${n:-0}"; }
has_merged_with_others() { [ "$(loads node4)" -ge 3 ] && [ "$(loads node5)" -ge 3 ]; }
report() {
    local status=$?
    if [ $status -ne 0 ]; then
        for log in "$kits"/h*/home/logs/*.log; do echo "---- ${log#"$kits"/} (last lines)"; tail -n 15 "$log"; done
    fi
    for site in h5 h3 h2 h1; do "$lab" exec "$site" env SWARM="$swarm" "$kits/$site/stop.sh" >/dev/null 2>&1 || true; done
    exit $status
}
trap report EXIT

$swarm kit create deploy/lab/five-hosts.yaml --out "$kits"
for site in h1 h2 h3 h4 h5; do   # the identity server's site first, then the sentinel's; an SL waits for its SNs
    say "starting site $site"
    "$lab" exec "$site" env SWARM="$swarm" "$kits/$site/start.sh" > "$work/start-$site.out" 2>&1 || { cat "$work/start-$site.out"; exit 1; }
    grep '^started' "$work/start-$site.out" || true
done

wait_for 300 "node4 and node5 to take part in two merges" has_merged_with_others
cut=$(round_of node2)
say "cutting h5's link (node4, node5) at round $cut"
"$lab" link h5 down
wait_for 180 "two rounds merged without h5" at_least node2 $((cut + 2))
sleep 5
say "restoring h5's link at round $(round_of node2)"
"$lab" link h5 up
wait_for 180 "node4 to load a round merged after the cut" at_least node4 $((cut + 2))
# Back from the cut, each h5 node found itself behind (holding a round from before it) and loaded the latest model.
for node in node4 node5; do
    grep -qE "behind the swarm \(holds round [0-9]+" "$(log_of "$node")" || { say "$node never noticed it was behind after the cut"; exit 1; }
    grep -hE "behind the swarm \(holds round [0-9]+" "$(log_of "$node")" | head -1 | sed "s/^/  /"
done

down=$(round_of node2)
say "crashing h4 (SN sn3) at round $down"
"$lab" crash h4
wait_for 180 "two rounds merged after h4 went down" at_least node2 $((down + 2))
say "the ledger went on without sn3: round $(round_of node2)"

wait_for 400 "every node to finish" all_finished
for node in $nodes; do
    grep -h "the ML program finished; final swarm model" "$(log_of "$node")" | sed "s/.*final swarm model/$node final swarm model/" || echo "$node did not finish"
done
finals=$(for node in $nodes; do grep -ho "the ML program finished; final swarm model [0-9a-f]*" "$(log_of "$node")" | awk '{print $NF}'; done)
[ "$(echo "$finals" | grep -c .)" -eq 5 ] || { say "not every node finished its program"; exit 1; }
[ "$(echo "$finals" | sort -u | grep -c .)" -eq 1 ] || { say "the nodes ended on different models"; exit 1; }
for site in h5 h3 h2 h1; do "$lab" exec "$site" env SWARM="$swarm" "$kits/$site/stop.sh" >/dev/null 2>&1 || true; done
$swarm ledger verify "$kits/h2/sn-sn1"
