#!/usr/bin/env bash
# tftp-lockstep.sh - issue 11's "TFTP 32 x 16 MiB lock-step (curl)" in short interleaved rounds,
# with what the kernel did for it: hearth and tftpd-hpa each serve CONC curl clients (blksize 1468,
# one client address each, as in the anchor harness) downloading 16 MiB at once, the servers
# started afresh per round and the order alternating.
#
# Per server and round: the wall time of the whole batch; from /proc/stat, the machine's jiffies
# in user, system and softirq (on a veth the receiver's network work runs in the sender's softirq)
# and idle; from /proc/interrupts, the reschedule inter-processor interrupts (a wake-up of a task
# on another core; on a VM each is an exit); UDP datagrams the server's namespace sent (the same
# for both when no block is lost or sent twice). Then min / median / max per server and the
# per-round ratio hearth / tftpd-hpa of the time (< 1: hearth faster).
#
# Usage (root, from the hearth checkout, after npm run build):
#   bench/netboot/tftp-lockstep.sh [ROUNDS]
# Env: HEARTH_CLI (default dist/cli/hearth.js), CONTROL (1: serve with the C control server
#      bench/netboot/tftp-thread-control.c, compiled here, in hearth's place; see bench/README.md),
#      CONC (clients, 1..64, default 32), KEEP (1: keep
#      the work dir).
# Bounded: ROUNDS <= 50 (default 6); each download is cut after 120 s.
# Network: two namespaces of its own (bench/anchors/lib.sh: 192.0.2.1 and 192.0.2.2 + client
# addresses 192.0.2.100..), deleted at exit; nothing leaves them.
set -u
HERE=$(cd "$(dirname "$0")/../.." && pwd)
source "$HERE/bench/anchors/lib.sh"
need_root
ensure_pkgs in.tftpd:tftpd-hpa curl:curl
ROUNDS=${1:-6}; [ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 50 ] || die "ROUNDS: 1..50"
CONC=${CONC:-32}; [ "$CONC" -ge 1 ] && [ "$CONC" -le 64 ] || die "CONC: 1..64"
export HEARTH_CLI=$(readlink -f "${HEARTH_CLI:-$HERE/dist/cli/hearth.js}")
A=hearth
if [ "${CONTROL:-0}" = 1 ]; then
  A=control
  mkdir -p "$WORKDIR"; CONTROL_BIN=$WORKDIR/tftp-thread-control
  gcc -O2 -pthread -o "$CONTROL_BIN" "$HERE/bench/netboot/tftp-thread-control.c" || die "cannot compile the control server"
else
  [ -f "$HEARTH_CLI" ] || die "no $HEARTH_CLI (npm run build)"
fi
CLI_ADDRS=$CONC
ROOT=$WORKDIR/tftproot; mkdir -p "$ROOT"; mkfile_mib "$ROOT/f16m" 16
OUTD=/dev/shm/tftp-lockstep-$$; mkdir -p "$OUTD"
CSV=$WORKDIR/tftp-lockstep.csv
echo "server,round,ms,user,sys,softirq,idle,res_ipi,udp_out" >"$CSV"
[ "${KEEP:-0}" = 1 ] || trap 'cleanup; rm -rf "$OUTD" "$WORKDIR"' EXIT
netns_up
[ "$A" = hearth ] && hearth_spec "$WORKDIR/spec" "$ROOT" f16m f16m

# machine-wide counters: "user sys softirq idle res_ipi" (RES summed over the cores)
counters() {
  local u s i sq; read -r _ u _ s i _ _ sq _ </proc/stat
  echo "$u $s $sq $i $(awk '$1 == "RES:" { t = 0; for (k = 2; k <= NF && $k ~ /^[0-9]+$/; k++) t += $k; print t }' /proc/interrupts)"
}
udp_out() { ip netns exec "$SRV_NS" awk '/^Udp:/ { n++ } /^Udp:/ && n == 2 { print $5 }' /proc/net/snmp; }

start() {
  case $1 in
    hearth)
      rm -rf "$WORKDIR/state"; mkdir -p "$WORKDIR/state"
      bg_ns "$SRV_NS" "$WORKDIR/server.log" node "$HEARTH_CLI" netboot serve -f "$WORKDIR/spec/hearth.yaml" \
        --interface "$SRV_IF" --address "$SRV_IP" --dhcp off --state "$WORKDIR/state" --log ;;
    control) bg_ns "$SRV_NS" "$WORKDIR/server.log" "$CONTROL_BIN" "$ROOT" "$SRV_IP" ;;
    tftpd-hpa) bg_ns "$SRV_NS" "$WORKDIR/server.log" in.tftpd -L -s "$ROOT" -a "$SRV_IP:69" ;;
  esac
  SRV_PID=$BG_PID
  wait_udp "$SRV_NS" 69 || { cat "$WORKDIR/server.log"; die "$1 did not bind :69"; }
}

# one batch: CONC curls at once; prints "ms complete"
batch() {
  local k pids=() t0 t1 ok=0
  t0=$(now_ns)
  for k in $(seq "$CONC"); do
    timeout 120 ip netns exec "$CLI_NS" curl -s --interface "192.0.2.$((99 + k))" -o "$OUTD/$k" \
      --tftp-blksize 1468 "tftp://$SRV_IP/f16m" &
    pids+=($!)
  done
  wait "${pids[@]}"
  t1=$(now_ns)
  for k in $(seq "$CONC"); do [ "$(stat -c %s "$OUTD/$k" 2>/dev/null)" = 16777216 ] && ok=$((ok + 1)); done
  rm -f "$OUTD"/*
  echo "$(( (t1 - t0) / 1000000 )) $ok"
}

for r in $(seq "$ROUNDS"); do
  order=("$A" tftpd-hpa); [ $((r % 2)) = 0 ] && order=(tftpd-hpa "$A")
  for srv in "${order[@]}"; do
    wait_quiet
    start "$srv"
    u0=$(udp_out); read -r a0 b0 c0 d0 e0 <<<"$(counters)"
    read -r ms ok <<<"$(batch)"
    read -r a1 b1 c1 d1 e1 <<<"$(counters)"; u1=$(udp_out)
    stop_pid "$SRV_PID"
    [ "$ok" = "$CONC" ] || die "$srv round $r: $ok of $CONC downloads complete"
    echo "$srv,$r,$ms,$((a1 - a0)),$((b1 - b0)),$((c1 - c0)),$((d1 - d0)),$((e1 - e0)),$((u1 - u0))" >>"$CSV"
    log "$srv round $r: $ms ms, softirq $((c1 - c0)) jiffies, $((e1 - e0)) reschedule IPIs"
  done
done

python3 - "$CSV" "$A" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cols = ['ms', 'user', 'sys', 'softirq', 'idle', 'res_ipi', 'udp_out']
print(f"{'server':<10} " + ' '.join(f'{c + " min/med/max":>26}' for c in cols))
a = sys.argv[2]
for srv in (a, 'tftpd-hpa'):
    mine = [r for r in rows if r['server'] == srv]
    cells = []
    for c in cols:
        v = sorted(int(r[c]) for r in mine)
        cells.append(f'{v[0]}/{statistics.median(v):g}/{v[-1]}'.rjust(26))
    print(f'{srv:<10} ' + ' '.join(cells))
by = {(r['server'], r['round']): int(r['ms']) for r in rows}
ratios = sorted(by[(a, k)] / by[('tftpd-hpa', k)] for (s, k) in by if s == a)
print(f'time {a} / tftpd-hpa per round, min / median / max: {ratios[0]:.3f} / {statistics.median(ratios):.3f} / {ratios[-1]:.3f}')
print(f'as throughput (the anchor figure): {1 / ratios[-1]:.3f} / {1 / statistics.median(ratios):.3f} / {1 / ratios[0]:.3f}')
EOF
