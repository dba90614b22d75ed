#!/usr/bin/env bash
# dhcp-loss.sh - where the exchanges a DHCP server loses near its ceiling go. perfdhcp (-R 200,
# as bench/anchors/dhcp_bench.sh runs it) at fixed offered rates against each server, started
# fresh per round and warmed up like the harness; rounds interleave the servers. Per trial it
# records, besides perfdhcp's own counts per stage (DISCOVERs sent, OFFERs received, REQUESTs
# sent, ACKs received, late replies = orphans, max delay):
#   - the UDP counters of each namespace (/proc/net/snmp: RcvbufErrors, InErrors, SndbufErrors)
#     before/after: datagrams the kernel dropped at the server's socket or at perfdhcp's;
#   - each UDP socket's skmem (`ss -uamn`): rb (receive buffer), r (queued bytes) halfway through
#     (peak over samples every 0.5 s with SAMPLE=1), d (drops: the server's over the trial,
#     perfdhcp's up to the sample, its socket closing with the run);
#   - hearth's own counters (/metrics: hearth_dhcp_packets_dropped_total by reason, sent by type).
#
#   sudo bash bench/netboot/dhcp-loss.sh CONFIG...      CONFIG: kea-persist | hearth | base
# Env: HEARTH_CLI (hearth's dist/cli/hearth.js, config "hearth"), BASE_CLI (another build, config
#      "base"), RATES ("1000 4000 5650 6150 7300": run in this order on one server start), ROUNDS (1),
#      PERIOD (3), CLIENTS (200), SAMPLE (0; 1 = sample queued bytes, peak_r, every 0.5 s), OUT (a CSV, appended; default $WORKDIR/loss.csv),
#      BUSY (0; N = N busy loops during each trial: a noisy neighbour on the shared cores),
#      CAPTURE (0; 1 = tcpdump on the relay side, bursts summarised by dhcp-loss-pcap.py; costs CPU).
# Namespaces dloss-s<PID> / dloss-c<PID> (192.0.2.0/24), deleted on exit; bounded: every perfdhcp
# run under `timeout`. On a shared machine, run it when nothing else measures.
set -u
HERE=$(dirname "$(readlink -f "$0")")
SRV_NS=dloss-s$$ CLI_NS=dloss-c$$
source "$HERE/../anchors/lib.sh"
need_root
# Absolute paths: the spec is written, and the servers run, from other directories.
[ -n "${HEARTH_CLI:-}" ] && HEARTH_CLI=$(readlink -f "$HEARTH_CLI")
[ -n "${BASE_CLI:-}" ] && BASE_CLI=$(readlink -f "$BASE_CLI")
RATES=${RATES:-1000 4000 5650 6150 7300}
ROUNDS=${ROUNDS:-1}
PERIOD=${PERIOD:-3}
CLIENTS=${CLIENTS:-200}
SAMPLE=${SAMPLE:-0}
CAPTURE=${CAPTURE:-0}
BUSY=${BUSY:-0}
OUT=${OUT:-$WORKDIR/loss.csv}
[ -s "$OUT" ] || echo "config,round,rate,busy,load1,disc_sent,offers,req_sent,acks,loss_pct,lost_offer_stage,lost_unsent_req,lost_ack_stage,orphans_do,orphans_ra,maxdelay_do_ms,maxdelay_ra_ms,srv_rcvbuf_err,srv_inerr,srv_sndbuf_err,cli_rcvbuf_err,cli_inerr,srv_rb,srv_peak_r,srv_sock_d,cli_rb,cli_peak_r,cli_sock_d,hearth_dropped,hearth_sent" >"$OUT"
D=$WORKDIR/dloss; mkdir -p "$D"
SPEC=$D/hearth-spec/hearth.yaml

start() { # CONFIG -> SRV_PID
  local cfg=$1 cli
  rm -rf "$D"/leases* "$D"/*.pid "$D"/logger_lockfile
  case $cfg in
    kea-persist)
      cat >"$D/kea.json" <<EOF
{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "$SRV_IF" ], "dhcp-socket-type": "udp" },
  "lease-database": { "type": "memfile", "persist": true, "name": "$D/leases4.csv", "lfc-interval": 0 },
  "valid-lifetime": 3600,
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.10 - 192.0.2.250" } ] } ],
  "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": "stdout" } ], "severity": "WARN" } ]
} }
EOF
      KEA_PIDFILE_DIR=$D KEA_LOCKFILE_DIR=$D bg_ns "$SRV_NS" "$D/server.log" kea-dhcp4 -c "$D/kea.json" ;;
    hearth|base)
      cli=$HEARTH_CLI; [ "$cfg" = base ] && cli=${BASE_CLI:?set BASE_CLI}
      [ -f "$SPEC" ] || { mkdir -p "$D/assets"; echo k >"$D/assets/vmlinuz"; echo i >"$D/assets/initrd.img"
        hearth_spec "$D/hearth-spec" "$D/assets" vmlinuz initrd.img; }
      mkdir -p "$D/leases.hearth"
      bg_ns "$SRV_NS" "$D/server.log" node "$cli" netboot serve -f "$SPEC" --interface "$SRV_IF" \
        --address "$SRV_IP" --dhcp full --state "$D/leases.hearth" --log ;;
    *) die "unknown config $cfg" ;;
  esac
  SRV_PID=$BG_PID
  wait_udp "$SRV_NS" 67 || { cat "$D/server.log"; die "$cfg did not bind :67"; }
  sleep 0.3
}

udp() { # NS -> "RcvbufErrors InErrors SndbufErrors"
  ip netns exec "$1" cat /proc/net/snmp | awk '/^Udp:/{ if (!h) { for (i=2;i<=NF;i++) c[$i]=i; h=1 } else print $c["RcvbufErrors"], $c["InErrors"], $c["SndbufErrors"] }'
}
skmem() { # NS -> "rb r d" summed over the namespace's UDP sockets bound to :67 (server) or all (client)
  ip netns exec "$1" ss -uamnH 2>/dev/null | tr -d '\n' | grep -o 'skmem:([^)]*)' | awk -F'[(,)]' '
    { for (i=2;i<NF;i++) { k=$i; sub(/[0-9]+$/,"",k); v=$i; sub(/^[a-z]+/,"",v); s[k]+=v } }
    END { printf "%d %d %d\n", s["rb"], s["r"], s["d"] }'
}
metrics() { # -> "dropped{reason=n;...} sent_total" from hearth's /metrics ("- -" for Kea)
  ip netns exec "$SRV_NS" curl -s -m 2 "http://$SRV_IP:8080/metrics" 2>/dev/null | awk '
    /^hearth_dhcp_packets_dropped_total\{/ { match($0,/reason="[^"]*"/); r=substr($0,RSTART+8,RLENGTH-9); d[r]=$NF }
    /^hearth_dhcp_packets_sent_total\{/ { s+=$NF }
    END { o=""; for (r in d) o=o r "=" d[r] ";"; printf "%s %d\n", (o==""?"-":o), s }'
}
dropdiff() { # BEFORE AFTER (reason=n;...) -> the reasons that grew
  awk -v a="$1" -v b="$2" 'BEGIN{ n=split(a,x,";"); for(i=1;i<=n;i++){ split(x[i],p,"="); if(p[1]!="") A[p[1]]=p[2] }
    n=split(b,y,";"); o=""; for(i=1;i<=n;i++){ split(y[i],p,"="); if(p[1]!="" && p[2]-A[p[1]]>0) o=o p[1] "=" p[2]-A[p[1]] " " }
    print (o==""?"none":o) }'
}

trial() { # CONFIG ROUND RATE
  local cfg=$1 round=$2 rate=$3 out s0 s1 c0 c1 m0 m1 peak_s=0 peak_c=0 sk i
  s0=$(udp "$SRV_NS"); c0=$(udp "$CLI_NS"); m0=$(metrics)
  local sd0 cd0=0; sd0=$(skmem "$SRV_NS" | cut -d' ' -f3)
  local tp= hogs=() k
  # BUSY=N: N busy loops beside the run (a noisy neighbour on the shared cores), bounded in time
  for k in $(seq "$BUSY"); do timeout $((PERIOD + 16)) sh -c 'while :; do :; done' & hogs+=($!); done
  if [ "$CAPTURE" = 1 ]; then # replies' and requests' arrival times at the relay's side of the link
    ip netns exec "$CLI_NS" timeout $((PERIOD + 16)) tcpdump -i "$CLI_IF" -s 64 -B 32768 -n -w "$D/$cfg-$round-$rate.pcap" udp >/dev/null 2>&1 &
    tp=$!; sleep 0.5
  fi
  timeout $((PERIOD + 15)) ip netns exec "$CLI_NS" perfdhcp -4 -l "$CLI_IF" -r "$rate" -R "$CLIENTS" \
    -p "$PERIOD" -W 500000 "$SRV_IP" >"$D/perfdhcp.out" 2>&1 &
  local pp=$!
  # the sockets' queued bytes (and perfdhcp's socket, which lives only while it runs) halfway, and
  # with SAMPLE=1 every 0.5 s after that (costs CPU; bounded)
  local crb=0 cd1=0
  sleep "$(awk -v p="$PERIOD" 'BEGIN{print p/2}')"
  for i in $(seq $(( (PERIOD + 15) * 2 ))); do
    kill -0 "$pp" 2>/dev/null || break
    sk=$(skmem "$SRV_NS"); [ "$(cut -d' ' -f2 <<<"$sk")" -gt "$peak_s" ] && peak_s=$(cut -d' ' -f2 <<<"$sk")
    read -r crb sk cd1 < <(skmem "$CLI_NS"); [ "$sk" -gt "$peak_c" ] && peak_c=$sk
    [ "$SAMPLE" = 1 ] || break
    sleep 0.5
  done
  wait "$pp"
  for k in "${hogs[@]}"; do kill "$k" 2>/dev/null; wait "$k" 2>/dev/null; done
  if [ -n "$tp" ]; then sleep 0.2; kill -INT "$tp" 2>/dev/null; wait "$tp" 2>/dev/null
    python3 "$HERE/dhcp-loss-pcap.py" "$D/$cfg-$round-$rate.pcap" "$SRV_IP" | sed "s/^/  $cfg r$round $rate: /" >&2; fi
  local srb sd1
  read -r srb _ sd1 < <(skmem "$SRV_NS")
  s1=$(udp "$SRV_NS"); c1=$(udp "$CLI_NS"); m1=$(metrics)
  # perfdhcp's counts per stage: sent/received/orphans/max delay of DISCOVER-OFFER and REQUEST-ACK
  read -r ds or ood mdo rs ar ora mra < <(awk '
    /Statistics for: DISCOVER-OFFER/{x="do"} /Statistics for: REQUEST-ACK/{x="ra"}
    x!="" && /^sent packets:/{s[x]=$3} x!="" && /^received packets:/{r[x]=$3}
    x!="" && /^orphans:/{o[x]=$2} x!="" && /^max delay:/{m[x]=$3}
    END{ print s["do"]+0, r["do"]+0, o["do"]+0, m["do"]+0, s["ra"]+0, r["ra"]+0, o["ra"]+0, m["ra"]+0 }' "$D/perfdhcp.out")
  local d; d=$(awk -v s="$ds" -v a="$ar" 'BEGIN{ printf "%.3f", (s>0)?(s-a)*100/s:100 }')
  local drops; drops=$( [ "$cfg" = kea-persist ] && echo - || dropdiff "${m0% *}" "${m1% *}")
  local sent; sent=$( [ "$cfg" = kea-persist ] && echo - || echo $(( ${m1#* } - ${m0#* } )))
  read -r sr0 si0 ss0 <<<"$s0"; read -r sr1 si1 ss1 <<<"$s1"; read -r cr0 ci0 _ <<<"$c0"; read -r cr1 ci1 _ <<<"$c1"
  echo "$cfg,$round,$rate,$BUSY,$(load1),$ds,$or,$rs,$ar,$d,$((ds-or)),$((or-rs)),$((rs-ar)),$ood,$ora,$mdo,$mra,$((sr1-sr0)),$((si1-si0)),$((ss1-ss0)),$((cr1-cr0)),$((ci1-ci0)),$srb,$peak_s,$((sd1-sd0)),$crb,$peak_c,$((cd1-cd0)),${drops// /;},$sent" >>"$OUT"
  log "$cfg r$round $rate/s: loss $d% (discover->offer $((ds-or)), offer->no request $((or-rs)), request->ack $((rs-ar)); orphans $ood/$ora; max delay $mdo/$mra ms) kernel drops srv $((sr1-sr0)) cli $((cr1-cr0)); sockets srv rb $srb peak $peak_s d $((sd1-sd0)), cli rb $crb peak $peak_c d $((cd1-cd0)); hearth drops: $drops"
}

netns_up
for round in $(seq "$ROUNDS"); do
  for cfg in "$@"; do
    start "$cfg"
    timeout 15 ip netns exec "$CLI_NS" perfdhcp -4 -l "$CLI_IF" -r 500 -R "$CLIENTS" -p 2 -W 500000 "$SRV_IP" >/dev/null 2>&1
    for rate in $RATES; do trial "$cfg" "$round" "$rate"; done
    stop_pid "$SRV_PID"
  done
done
echo "results: $OUT"
