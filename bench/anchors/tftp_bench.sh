#!/usr/bin/env bash
# tftp_bench.sh - TFTP download throughput of reference servers (dnsmasq TFTP, tftpd-hpa)
# across a veth pair between namespaces "srv" (192.0.2.1) and "cli" (192.0.2.2).
# Also: hearth (`hearth netboot serve --dhcp off --log`, root = its assets directory; set
# HEARTH_CLI=.../dist/src/cli/main.js) and custom (set CUSTOM_TFTP_CMD, run inside ns "srv",
# serving {ROOT} on 192.0.2.1:69).
#
# Files: 1 MiB and 16 MiB of random data. Clients (run in ns "cli"):
#   curl  : curl -s tftp://192.0.2.1/FILE --tftp-blksize 1468
#   atftp : atftp --option "blksize 1468" --option "windowsize 16" -g -r FILE -l OUT 192.0.2.1
# Measures: single-client MB/s (MB = 10^6 bytes) per server x client x file, RUNS times;
# aggregate MB/s with CONC concurrent clients, each downloading the file once
# (aggregate = CONC*size / wall time of the whole batch). Every download is checked for
# full size. Also records whether each server's OACK honours windowsize (atftp --trace).
#
# Each repetition starts every server afresh and does one run of each measurement (single
# runs in repetitions 1..SINGLE_RUNS, aggregate runs in 1..RUNS); repetitions are interleaved
# (repetition 1 of every server, then 2, ...) so drift hits all servers alike.
#
# Usage: sudo ./tftp_bench.sh               # both servers, RUNS=3, CONC=32
#        RUNS=1 CONC=8 ./tftp_bench.sh tftpd-hpa
#        HEARTH_CLI=/src/hearth/dist/src/cli/main.js ./tftp_bench.sh hearth dnsmasq tftpd-hpa
# Env: RUNS (3, aggregate runs) SINGLE_RUNS (5; single-client lock-step TFTP is noisy)
#      CONC (32) AGG_FILES ("1 16" MiB sizes for the aggregate test)
#      INTERLEAVE (1; 0 = all repetitions of one server before the next)
#      CLIENT_ADDRS (0; 1 = the CONC clients of the aggregate test send from CONC addresses
#        of their own, as CONC PXE machines would: servers that limit transfers per client address.
#        curl is told its address; atftp cannot be, so client N runs as uid CLIENT_UID0+N and a
#        policy rule in ns "cli" routes that uid's datagrams from 192.0.2.(99+N))
#      CLIENT_UID0 (20000; see CLIENT_ADDRS)
# Note: single-client times include client start-up (ip netns exec + curl/atftp exec,
# roughly 10-30 ms), which dominates the 1 MiB figure.
# Output: table on stdout, raw CSV in $WORKDIR/tftp.csv (load1 = load average before each
# download or batch); server peak RSS / CPU s per repetition in $WORKDIR/server_usage.csv

source "$(dirname "$(readlink -f "$0")")/lib.sh"
need_root
ensure_pkgs dnsmasq:dnsmasq-base in.tftpd:tftpd-hpa atftp:atftp curl:curl

RUNS=${RUNS:-3}
SINGLE_RUNS=${SINGLE_RUNS:-5}
CONC=${CONC:-32}
AGG_FILES=${AGG_FILES:-"1 16"}
INTERLEAVE=${INTERLEAVE:-1}
SERVERS=("$@"); [ ${#SERVERS[@]} -eq 0 ] && SERVERS=(dnsmasq tftpd-hpa)
CLIENTS=(curl atftp)

ROOT=$WORKDIR/tftproot; mkdir -p "$ROOT"
mkfile_mib "$ROOT/f1m" 1
mkfile_mib "$ROOT/f16m" 16
OUTD=/dev/shm/anchor-tftp-out-$$; rm -rf "$OUTD"; mkdir -p "$OUTD"; chmod 1777 "$OUTD"  # atftp may run as another uid
CSV=$WORKDIR/tftp.csv
echo "server,client,mode,file_mib,run,conc,seconds,MBps,ok,load1" >"$CSV"

SRV_PID=
start_server() {
  case $1 in
    dnsmasq)  bg_ns "$SRV_NS" "$WORKDIR/tftp-server.log" dnsmasq --no-daemon --conf-file=/dev/null --port=0 \
                --interface="$SRV_IF" --bind-interfaces --enable-tftp --tftp-root="$ROOT" \
                --tftp-max=100 --log-facility=- ;;
    tftpd-hpa) bg_ns "$SRV_NS" "$WORKDIR/tftp-server.log" in.tftpd -L -s "$ROOT" -a 192.0.2.1:69 ;;
    hearth)
      [ -f "$WORKDIR/hearth-tftp-spec/hearth.yaml" ] || hearth_spec "$WORKDIR/hearth-tftp-spec" "$ROOT" f1m f16m
      rm -rf "$WORKDIR/hearth-tftp-state"; mkdir -p "$WORKDIR/hearth-tftp-state"
      bg_ns "$SRV_NS" "$WORKDIR/tftp-server.log" node "$HEARTH_CLI" netboot serve \
        -f "$WORKDIR/hearth-tftp-spec/hearth.yaml" --interface "$SRV_IF" --address "$SRV_IP" --dhcp off \
        --state "$WORKDIR/hearth-tftp-state" --log ;;
    custom)
      [ -n "${CUSTOM_TFTP_CMD:-}" ] || die "set CUSTOM_TFTP_CMD"
      bg_ns "$SRV_NS" "$WORKDIR/tftp-server.log" bash -c "exec ${CUSTOM_TFTP_CMD//\{ROOT\}/$ROOT}" ;;
    *) die "unknown server $1" ;;
  esac
  SRV_PID=$BG_PID
  wait_udp "$SRV_NS" 69 || { cat "$WORKDIR/tftp-server.log"; die "$1 did not bind :69"; }
}

# fetch CLIENT FILE OUT [N]  (inside cli ns; returns 0 when OUT has full size). With N and
# CLIENT_ADDRS=1, the client sends from client address 192.0.2.(99+N): curl is told so, atftp
# runs as uid CLIENT_UID0+N, which client_uid_routes routes from that address.
fetch() {
  local c=$1 f=$2 out=$3 want src=() as=()
  want=$(stat -c %s "$ROOT/$f")
  if [ "${CLIENT_ADDRS:-0}" = 1 ] && [ -n "${4:-}" ]; then
    src=(--interface "192.0.2.$((99 + $4))")
    as=(setpriv --reuid=$((CLIENT_UID0 + $4)) --regid=$((CLIENT_UID0 + $4)) --clear-groups)
  fi
  case $c in
    curl)  timeout 120 ip netns exec "$CLI_NS" curl -s "${src[@]}" -o "$out" --tftp-blksize 1468 "tftp://192.0.2.1/$f" ;;
    atftp) timeout 120 ip netns exec "$CLI_NS" "${as[@]}" atftp --option "blksize 1468" --option "windowsize 16" \
             -g -r "$f" -l "$out" 192.0.2.1 >/dev/null 2>&1 ;;
  esac
  [ -f "$out" ] && [ "$(stat -c %s "$out")" = "$want" ]
  local rc=$?; rm -f "$out"; return $rc
}

# client_uid_routes: in ns "cli", the datagrams of uid CLIENT_UID0+N leave from 192.0.2.(99+N),
# N = 1..CONC (routing table 100+N), for clients that cannot choose their source address.
client_uid_routes() {
  local k
  for k in $(seq "$CONC"); do
    ip -n "$CLI_NS" rule add uidrange $((CLIENT_UID0 + k))-$((CLIENT_UID0 + k)) lookup $((100 + k)) || die "ip rule uidrange"
    ip -n "$CLI_NS" route add 192.0.2.0/24 dev "$CLI_IF" src "192.0.2.$((99 + k))" table $((100 + k)) || die "ip route table $((100 + k))"
  done
}

CLIENT_UID0=${CLIENT_UID0:-20000}
[ "${CLIENT_ADDRS:-0}" = 1 ] && CLI_ADDRS=$CONC
netns_up
[ "${CLIENT_ADDRS:-0}" = 1 ] && client_uid_routes
declare -A SINGLE AGG
NREP=$(( SINGLE_RUNS > RUNS ? SINGLE_RUNS : RUNS ))
PAIRS=()   # "server repetition", interleaved unless INTERLEAVE=0
if [ "$INTERLEAVE" = 1 ]; then for run in $(seq "$NREP"); do for srv in "${SERVERS[@]}"; do PAIRS+=("$srv $run"); done; done
else for srv in "${SERVERS[@]}"; do for run in $(seq "$NREP"); do PAIRS+=("$srv $run"); done; done; fi
for pair in "${PAIRS[@]}"; do
  read -r srv run <<<"$pair"
  wait_quiet
  ld0=$(load1)
  start_server "$srv"
  if [ "$run" = 1 ]; then
    # windowsize / option negotiation check (one trace of a 1 MiB transfer)
    tr=$(timeout 60 ip netns exec "$CLI_NS" atftp --trace --option "blksize 1468" --option "windowsize 16" \
          -g -r f1m -l "$OUTD/trace" 192.0.2.1 2>&1 | grep -m1 -i 'OACK' || true)
    rm -f "$OUTD/trace"
    log "$srv OACK: ${tr:-<none seen>}"
    echo "$srv OACK: ${tr:-<none seen>}" >>"$WORKDIR/tftp_oack.txt"
  fi
  for cl in "${CLIENTS[@]}"; do
    if [ "$run" -le "$SINGLE_RUNS" ]; then
      for mib in 1 16; do
        l=$(load1); t0=$(now_ns); fetch "$cl" "f${mib}m" "$OUTD/s.$cl"; ok=$?; t1=$(now_ns)
        s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", (b-a)/1e9}')
        mbps=$(awk -v s="$s" -v m="$mib" 'BEGIN{printf "%.2f", m*1048576/1e6/s}')
        [ $ok = 0 ] || mbps=0
        echo "$srv,$cl,single,$mib,$run,1,$s,$mbps,$((ok==0)),$l" >>"$CSV"
        SINGLE[$srv/$cl/$mib]+="$mbps "
        log "$srv $cl single ${mib}MiB run $run: ${s}s ${mbps} MB/s ok=$((ok==0)) load $l"
      done
    fi
    if [ "$run" -le "$RUNS" ]; then
      for mib in $AGG_FILES; do
        l=$(load1); pids=(); t0=$(now_ns)
        for i in $(seq "$CONC"); do fetch "$cl" "f${mib}m" "$OUTD/c$i.$cl" "$i" & pids+=($!); done
        nok=0; for p in "${pids[@]}"; do wait "$p" && nok=$((nok+1)); done
        t1=$(now_ns)
        s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", (b-a)/1e9}')
        mbps=$(awk -v s="$s" -v m="$mib" -v n="$nok" 'BEGIN{printf "%.2f", n*m*1048576/1e6/s}')
        echo "$srv,$cl,agg,$mib,$run,$CONC,$s,$mbps,$nok,$l" >>"$CSV"
        AGG[$srv/$cl/$mib]+="$mbps "
        log "$srv $cl ${CONC}x ${mib}MiB run $run: ${s}s aggregate ${mbps} MB/s ($nok/$CONC complete) load $l"
      done
    fi
  done
  usage_row tftp_bench "$srv" "$run" "$SRV_PID" "$ld0"
  stop_pid "$SRV_PID"
done
rm -rf "$OUTD"

echo
echo "TFTP throughput, MB/s (10^6 B/s), min/median/max over $SINGLE_RUNS (single) / $RUNS (aggregate) runs; blksize 1468 (atftp also asks windowsize 16)"
printf '%-10s %-6s %-26s %-26s' server client "single 1MiB" "single 16MiB"
for mib in $AGG_FILES; do printf ' %-26s' "${CONC}x ${mib}MiB aggregate"; done; echo
for srv in "${SERVERS[@]}"; do for cl in "${CLIENTS[@]}"; do
  printf '%-10s %-6s %-26s %-26s' "$srv" "$cl" "$(tr ' ' '\n' <<<"${SINGLE[$srv/$cl/1]}" | grep . | mmm)" \
    "$(tr ' ' '\n' <<<"${SINGLE[$srv/$cl/16]}" | grep . | mmm)"
  for mib in $AGG_FILES; do printf ' %-26s' "$(tr ' ' '\n' <<<"${AGG[$srv/$cl/$mib]}" | grep . | mmm)"; done; echo
done; done
echo "windowsize negotiation (first OACK line of atftp --trace):"; cat "$WORKDIR/tftp_oack.txt"; rm -f "$WORKDIR/tftp_oack.txt"
echo "raw: $CSV"
