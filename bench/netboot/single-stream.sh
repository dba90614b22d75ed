#!/usr/bin/env bash
# single-stream.sh - issue 11's "HTTP single 64 MiB stream" taken apart: one curl downloading a
# 64 MiB file from hearth and from nginx (and optionally another hearth build), interleaved, many
# times, with the servers kept running, so that the spread of one download can be seen (the anchor
# harness takes one download per run from a freshly started server).
#
# Per download: MB/s over the whole download (curl's speed_download, what the harness reports),
# time to the first byte, and the rate of the body alone (64 MiB / (total - first byte)).
# PIN chooses where things run: none (the scheduler's choice, as in the harness), split (the
# servers on CPU 0, curl on CPU 1) or same (all on CPU 0) - the two ends of what "none" mixes.
#
# Usage (root, from the hearth checkout, after npm run build):
#   sudo bench/netboot/single-stream.sh [ROUNDS]
# Env: PIN (none|split|same, default none), BASELINE (another dist/cli/hearth.js: served too),
#      HEARTH_CLI (default dist/cli/hearth.js), KEEP (1: keep the work dir), TRACE (1: record
#      sched_switch on both CPUs meanwhile and print, per download, how much of the servers' CPU
#      time ran right after curl on the same CPU - the two sharing a core; single-stream-sched.py).
# Bounded: ROUNDS <= 200 (default 20), each curl <= 20 s, the whole run <= 170 s (rounds stop then).
# Network: two namespaces of its own (single-srv-PID, single-cli-PID) joined by a veth,
# 192.0.2.1 (servers) and 192.0.2.2 (curl); nothing leaves them; deleted at exit.
set -u
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
ROUNDS=${1:-20}; [ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 200 ] || { echo "ROUNDS: 1..200" >&2; exit 1; }
PIN=${PIN:-none}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
HEARTH_CLI=$(readlink -f "${HEARTH_CLI:-$HERE/dist/cli/hearth.js}")
BASELINE=${BASELINE:-}
# server CPU set and curl's, by PIN
case $PIN in
  none) SCPU=0-1; CCPU=0-1 ;;
  split) SCPU=0; CCPU=1 ;;
  same) SCPU=0; CCPU=0 ;;
  *) echo "PIN: none|split|same" >&2; exit 1 ;;
esac
. "$HERE/bench/netboot/http-ab-lib.sh"
ab_setup single
URLS=(); for u in "${PATHS[@]}"; do URLS+=("${u}f64m"); done
ab_quiet
echo "# $(date -u +%FT%TZ) PIN=$PIN rounds=$ROUNDS load=$(cut -d' ' -f1-3 /proc/loadavg) hearth=$HEARTH_CLI${BASELINE:+ baseline=$BASELINE}"
start=$SECONDS
: >"$WD/raw"
if [ "${TRACE:-0}" = 1 ]; then
  perf record -q -e sched:sched_switch -a -o "$WD/sched.data" >/dev/null 2>&1 &
  TPID=$!; PIDS+=($TPID); sleep 1
fi
for r in $(seq "$ROUNDS"); do
  [ $((SECONDS - start)) -ge 170 ] && { echo "# stopped after $((r - 1)) rounds (time bound)"; break; }
  n=${#NAMES[@]}
  for k in $(seq 0 $((n - 1))); do
    i=$(((k + r) % n))   # rotate who goes first
    p0=$(ip netns exec "$SRV" cat /sys/class/net/$DEV/statistics/tx_packets)
    out=$(ip netns exec "$CLI" taskset -c "$CCPU" curl -s -o /dev/null --max-time 20 \
          -w '%{speed_download} %{time_starttransfer} %{time_total} %{size_download}' "${URLS[$i]}")
    p1=$(ip netns exec "$SRV" cat /sys/class/net/$DEV/statistics/tx_packets)
    echo "$r ${NAMES[$i]} $out $((p1 - p0))" >>"$WD/raw"
  done
done

if [ "${TRACE:-0}" = 1 ]; then
  kill -INT "$TPID"; wait "$TPID" 2>/dev/null
  perf script -i "$WD/sched.data" >"$WD/sched.txt" 2>/dev/null
  python3 "$HERE/bench/netboot/single-stream-sched.py" "$WD/sched.txt" | paste -d' ' <(awk '{printf "%-8s %5.0f MB/s\n", $2, $3/1e6}' "$WD/raw") -
fi

# min / median / max per server of: MB/s, first byte ms, body MB/s
awk -v names="${NAMES[*]}" '
  function med(a, n,   m) { m = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2; return m }
  function sortn(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
  $6 != 67108864 { bad[$2]++; next }
  { k = $2; n[k]++; mb[k, n[k]] = $3 / 1e6; fb[k, n[k]] = $4 * 1000; body[k, n[k]] = 67108864 / ($5 - $4) / 1e6; pk[k, n[k]] = $7; per[$1, k] = $3 / 1e6 }
  END {
    split(names, ns, " ")
    printf "%-9s %5s | %-22s | %-22s | %-22s | %s\n", "server", "n", "MB/s min/med/max", "first byte ms", "body MB/s", "veth packets (skbs) sent, median"
    for (s = 1; s in ns; s++) {
      k = ns[s]; c = n[k]
      for (i = 1; i <= c; i++) { A[i] = mb[k, i]; B[i] = fb[k, i]; C[i] = body[k, i]; D[i] = pk[k, i] }
      sortn(A, c); sortn(B, c); sortn(C, c); sortn(D, c)
      printf "%-9s %5d | %6.0f %6.0f %6.0f   | %6.2f %6.2f %6.2f   | %6.0f %6.0f %6.0f   | %d (%.1f KB each) %s\n", k, c, A[1], med(A, c), A[c], B[1], med(B, c), B[c], C[1], med(C, c), C[c], med(D, c), 67108.864 / med(D, c), (bad[k] ? "(" bad[k] " incomplete)" : "")
      M[k] = med(A, c)
    }
    for (s = 2; s in ns; s++) {
      k = ns[s]; c = 0
      for (key in per) { split(key, kk, SUBSEP); if (kk[2] == k && ((kk[1], "nginx") in per)) R[++c] = per[key] / per[kk[1], "nginx"] }
      sortn(R, c)
      printf "%s / nginx: per round %.2f / %.2f / %.2f (min/median/max of %d), ratio of medians %.2f\n", k, R[1], med(R, c), R[c], c, M[k] / M["nginx"]
    }
    if ("baseline" in M) {
      c = 0
      for (key in per) { split(key, kk, SUBSEP); if (kk[2] == "hearth" && ((kk[1], "baseline") in per)) R[++c] = per[key] / per[kk[1], "baseline"] }
      sortn(R, c)
      printf "hearth / baseline: per round %.2f / %.2f / %.2f (min/median/max of %d), ratio of medians %.2f\n", R[1], med(R, c), R[c], c, M["hearth"] / M["baseline"]
    }
  }' "$WD/raw"
cp "$WD/raw" "/tmp/single-stream-last.raw" 2>/dev/null
