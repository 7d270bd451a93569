#!/usr/bin/env bash
# Three hosts of a lab (lab.sh up 3, or lab.sh run 3 -- this script), every component on its default ports:
#   h1 10.77.0.11: identity server + sentinel SN sn1      h2 10.77.0.12: SN sn2 + SL node1      h3 10.77.0.13: SL node2
# The two SL nodes run ML_CMD (their seed appended as "--seed N") and must end on the same final swarm model.
# Environment: SWARM (how to run `swarm`, default: ./swarm), ML_CMD (required), WORK (state folder, default a new temp).
set -euo pipefail
cd "$(dirname "$0")/../.."
lab=deploy/lab/lab.sh
swarm=${SWARM:-./swarm}
: "${ML_CMD:?set ML_CMD to the ML program each SL node runs}"
work=${WORK:-$(mktemp -d /tmp/lab-three-XXXX)}
on() { local host=$1 home=$2; shift 2; "$lab" exec "$host" env SWARM_HOME="$work/$home" DOTNET_NOLOGO=1 $swarm "$@"; }
token() { on h1 h1 identity token create --spiffe-id "spiffe://swarm.local/$1" 2>/dev/null | grep '^sjt'; }

on h1 h1 run-spire-server --host 10.77.0.11
SWARM_JOIN_TOKEN=$(token sn/sn1) on h1 h1 run-sn --name sn1 --sentinel --host 10.77.0.11 --identity-server 10.77.0.11:8081
SWARM_JOIN_TOKEN=$(token sn/sn2) on h2 h2 run-sn --name sn2 --host 10.77.0.12 --sentinel-ip 10.77.0.11 --identity-server 10.77.0.11:8081
t1=$(token sl/node1); t2=$(token sl/node2)
SWARM_JOIN_TOKEN=$t1 on h2 h2 run-sl --foreground --name node1 --host 10.77.0.12 --sn-ip 10.77.0.12 --identity-server 10.77.0.11:8081 \
    --ml-cmd "$ML_CMD --seed 1" > "$work/node1.out" 2>&1 &
first=$!
SWARM_JOIN_TOKEN=$t2 on h3 h3 run-sl --foreground --name node2 --host 10.77.0.13 --sn-ip 10.77.0.11 --identity-server 10.77.0.11:8081 \
    --ml-cmd "$ML_CMD --seed 2" > "$work/node2.out" 2>&1 &
second=$!
status=0
wait $first || status=$?
wait $second || status=$?
for node in node1 node2; do
    grep -h "the ML program finished; final swarm model" "$work/$node.out" | sed "s/.*final swarm model/$node final swarm model/" || true
done
exit $status
