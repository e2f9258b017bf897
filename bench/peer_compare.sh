#!/bin/bash
# unionsync's replication against PostgreSQL 15's logical replication, on the same number of
# member records, in one run on this machine (issue 13, item 5):
#   one hop       repl_bench (a)  vs  pg_logical_peer.sh N 1
#   three hops    repl_bench (b)  vs  pg_logical_peer.sh N 3 (and PostgreSQL's one hop)
# and the single-change latency tier 3 -> hub under no load (repl_bench (c)).
# Usage: bench/peer_compare.sh [N] [REPL_BENCH]   (as root; N default 1000000; REPL_BENCH
# default build-bench/bench/repl_bench, built by scripts/bench). Needs postgresql-15.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
repl_bench=${2:-build-bench/bench/repl_bench}
peer=${UNIONSYNC_PG_PEER:-../shared/bench/pg_logical_peer.sh}
scratch=${UNIONSYNC_BENCH_DIR:-/tmp/unionsync_bench}/peer_compare
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== unionsync: $repl_bench --records=$N --run=a,b,c"
rm -rf "$scratch"
"$repl_bench" --records="$N" --run=a,b,c --dir="$scratch" | tee "$log"
rm -rf "$scratch"
one=$(sed -n 's/.*RESULT one_hop: .* = \([0-9]*\) records\/s.*/\1/p' "$log")
three=$(sed -n 's/.*RESULT tier4_to_hub: .* = \([0-9]*\) records\/s.*/\1/p' "$log")

echo "== PostgreSQL 15: $peer $N 1, then $N 3"
out1=$(bash "$peer" "$N" 1 2>&1)
echo "$out1"
out3=$(bash "$peer" "$N" 3 2>&1)
echo "$out3"
pg1=$(echo "$out1" | sed -n 's/.*rows_per_s=\([0-9]*\).*/\1/p')
pg3=$(echo "$out3" | sed -n 's/.*rows_per_s=\([0-9]*\).*/\1/p')
for c in 0 1 2 3; do pg_ctlcluster 15 "pgpeer$c" stop 2>/dev/null || true; done

ratio() { echo "scale=2; $1 / $2" | bc; }
echo
echo "records=$N"
echo "one hop:    unionsync $one records/s, PostgreSQL $pg1 rows/s," \
  "ratio $(ratio "$one" "$pg1") (target 2.00)"
echo "three hops: unionsync $three records/s, PostgreSQL $pg3 rows/s," \
  "ratio $(ratio "$three" "$pg3");" \
  "against PostgreSQL's one hop $(ratio "$three" "$pg1") (target 1.00)"
grep "commit start" "$log" || true
