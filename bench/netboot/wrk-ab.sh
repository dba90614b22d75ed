#!/usr/bin/env bash
# wrk-ab.sh - issue 11's "HTTP 32 connections x 1 MiB" in many short interleaved rounds, with where
# the CPU goes: `wrk -t2 -c32` on a 1 MiB file against nginx, hearth and optionally another hearth
# build (BASELINE), the servers kept running (the anchor harness starts them afresh and takes one
# 10 s run each). Each round gives every server a 1 s warm-up and then DUR seconds counted, the
# order rotating between rounds.
#
# Per server and round: requests/s; the server's CPU per request (its process and children, from
# /proc); the whole machine's busy CPU per request (/proc/stat: server, wrk and the kernel's network
# work wherever it ran - on a 2-core box wrk and the server share the cores, so requests/s is about
# 2 cores / this); packets the server's veth sent per request. Then min / median / max per server
# and the per-round ratios of each server to nginx (and hearth / baseline, probe / hearth).
#
# Usage (root, from the hearth checkout, after npm run build):
#   bench/netboot/wrk-ab.sh [ROUNDS]
# Env: BASELINE (another dist/cli/hearth.js: served too), HEARTH_CLI (default dist/cli/hearth.js),
#      HEARTH_NODE (node flags for hearth, e.g. --single-threaded-gc), DUR (counted seconds per
#      run, 1..30, default 4), KEEP (1: keep the work dir), PROBE (dist/bench/netboot/wrk-raw.js:
#      the node:net probe served too, FIRST passed on to it).
# Bounded: ROUNDS <= 100 (default 12); rounds stop once MAX_SECONDS (default 400) have passed.
# Network: see http-ab-lib.sh (two namespaces of its own, 192.0.2.1 and .2, deleted at exit).
set -u
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
ROUNDS=${1:-12}; [ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 100 ] || { echo "ROUNDS: 1..100" >&2; exit 1; }
DUR=${DUR:-4}; [ "$DUR" -ge 1 ] && [ "$DUR" -le 30 ] || { echo "DUR: 1..30" >&2; exit 1; }
HERE=$(cd "$(dirname "$0")/../.." && pwd)
HEARTH_CLI=$(readlink -f "${HEARTH_CLI:-$HERE/dist/cli/hearth.js}")
BASELINE=${BASELINE:-}
SCPU=0-$(($(nproc) - 1))
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
. "$HERE/bench/netboot/http-ab-lib.sh"
ab_setup wrkab
ab_quiet
echo "# $(date -u +%FT%TZ) rounds=$ROUNDS dur=${DUR}s load=$(cut -d' ' -f1-3 /proc/loadavg) hearth=$HEARTH_CLI${BASELINE:+ baseline=$BASELINE}${HEARTH_NODE:+ hearth node flags: $HEARTH_NODE}"
echo "# round server req/s server-cpu-us/req machine-cpu-us/req packets/req"

# CPU ticks of a process and its children (nginx's workers).
ticks() { local t=0 p; for p in $1 $(pgrep -P "$1"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
busy_ticks() { awk 'NR == 1 {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
tx() { ip netns exec "$SRV" cat "/sys/class/net/$DEV/statistics/tx_packets"; }
HZ=$(getconf CLK_TCK)

start=$SECONDS
: >"$WD/raw"
for r in $(seq "$ROUNDS"); do
  [ $((SECONDS - start)) -ge "${MAX_SECONDS:-400}" ] && { echo "# stopped after $((r - 1)) rounds (time bound)"; break; }
  n=${#NAMES[@]}
  for k in $(seq 0 $((n - 1))); do
    i=$(((k + r) % n))   # rotate who goes first
    url=${PATHS[$i]}f1m
    timeout 20 ip netns exec "$CLI" wrk -t2 -c32 -d1s "$url" >/dev/null 2>&1
    s0=$(ticks "${SPIDS[$i]}"); m0=$(busy_ticks); p0=$(tx)
    rps=$(timeout $((DUR + 20)) ip netns exec "$CLI" wrk -t2 -c32 -d"${DUR}s" "$url" 2>&1 | awk '/^Requests\/sec/ {print $2}')
    s1=$(ticks "${SPIDS[$i]}"); m1=$(busy_ticks); p1=$(tx)
    [ -n "$rps" ] || { echo "$r ${NAMES[$i]}: wrk gave no rate" >&2; continue; }
    awk -v r="$r" -v s="${NAMES[$i]}" -v rps="$rps" -v d="$DUR" -v hz="$HZ" -v sc=$((s1 - s0)) -v mc=$((m1 - m0)) -v pk=$((p1 - p0)) \
      'BEGIN { q = rps * d; printf "%d %s %.1f %.0f %.0f %.1f\n", r, s, rps, sc / hz * 1e6 / q, mc / hz * 1e6 / q, pk / q }' | tee -a "$WD/raw"
  done
done

python3 - "$WD/raw" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
rate = {(r, s): float(v) for r, s, v, *_ in rows}
names = list(dict.fromkeys(s for _, s, *_ in rows))
def mmm(xs): return f"{min(xs):7.1f} {st.median(xs):7.1f} {max(xs):7.1f}"
print(f"{'server':9} {'req/s min / median / max':26} | {'server CPU us/req':24} | {'machine CPU us/req':24} | packets/req (median)")
for s in names:
    col = lambda k: [float(x[k]) for x in rows if x[1] == s]
    print(f"{s:9} {mmm(col(2)):26} | {mmm(col(3)):24} | {mmm(col(4)):24} | {st.median(col(5)):.1f}")
def ratios(a, b):
    rs = sorted(rate[(r, a)] / rate[(r, b)] for (r, s) in rate if s == a and (r, b) in rate)
    if rs: print(f"{a} / {b}: per round {rs[0]:.2f} / {st.median(rs):.2f} / {rs[-1]:.2f} (min / median / max of {len(rs)})")
for s in names:
    if s != "nginx": ratios(s, "nginx")
if "baseline" in names: ratios("hearth", "baseline")
if "probe" in names: ratios("probe", "hearth")
PY
