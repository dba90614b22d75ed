#!/usr/bin/env bash
# lib.sh - shared helpers for the netboot anchor benchmarks (sourced, not run).
#
# Env: QUIET_WAIT (60) / QUIET_PCT (15): before each run the scripts wait up to QUIET_WAIT s
# for the machine to be < QUIET_PCT % busy (other workloads skew these 2-core figures).
# Provides: ensure_pkgs (apt-get install if missing), netns_up/netns_down
# (two namespaces "srv" and "cli" joined by a veth pair: srv=192.0.2.1/24,
# cli=192.0.2.2/24), pid tracking + cleanup on EXIT, and small stats helpers; load1,
# proc_usage/usage_row (a server's peak RSS and CPU seconds) and hearth_spec (a spec for
# `hearth netboot serve`, the TypeScript server under test; needs HEARTH_CLI).
#
# NETWORK RULE: all traffic stays inside the namespaces created here
# (192.0.2.0/24, 198.51.100.0/24) or on 127.0.0.0/8. Nothing is sent elsewhere.
#
# Usage (from another script):
#   source "$(dirname "$0")/lib.sh"; need_root; netns_up; ...; (trap does cleanup)

set -u

# Namespace names carry the PID of the script (so two harness runs on one machine never share or
# delete each other's namespaces); set SRV_NS/CLI_NS to choose them.
SRV_NS=${SRV_NS:-hsrv$$}
CLI_NS=${CLI_NS:-hcli$$}
SRV_IF=${SRV_IF:-veth-srv}
CLI_IF=${CLI_IF:-veth-cli}
SRV_IP=192.0.2.1
CLI_IP=192.0.2.2
SRV2_IP=198.51.100.1        # optional second subnet on the server side (bigger DHCP pool)
WORKDIR=${WORKDIR:-/tmp/anchor-bench-$$}
mkdir -p "$WORKDIR"

_BG_PIDS=()
_NS_CREATED=0

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }

# ensure_pkgs BIN:PKG ...   install PKG with apt-get when BIN is not found
ensure_pkgs() {
  local missing=() spec bin pkg
  for spec in "$@"; do
    bin=${spec%%:*}; pkg=${spec#*:}
    command -v "$bin" >/dev/null 2>&1 || [ -x "$bin" ] || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing: ${missing[*]}"
  # policy-rc.d (if present) keeps packaged daemons from auto-starting on install
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    apt-get update >/dev/null 2>&1; apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; } \
    || die "apt-get install ${missing[*]} failed"
}

# run a command in the background inside a namespace, remember its pid
# usage: bg_ns NS LOGFILE cmd args...   -> sets BG_PID (do NOT call inside $(...))
bg_ns() {
  local ns=$1 logf=$2; shift 2
  ip netns exec "$ns" "$@" >"$logf" 2>&1 </dev/null &
  BG_PID=$!
  _BG_PIDS+=("$BG_PID")
}

stop_pid() {   # stop one pid we started (TERM, then KILL after 3s)
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

stop_all_bg() { local p; for p in "${_BG_PIDS[@]:-}"; do [ -n "$p" ] && stop_pid "$p"; done; _BG_PIDS=(); }

netns_up() {
  # never delete namespaces this script did not create: refuse to start instead
  ip netns list 2>/dev/null | grep -qE "^($SRV_NS|$CLI_NS)( |$)" && die "network namespace $SRV_NS or $CLI_NS exists already (another run?)"
  ip netns add "$SRV_NS" || die "netns add $SRV_NS"
  ip netns add "$CLI_NS" || die "netns add $CLI_NS"
  _NS_CREATED=1
  ip link add "$SRV_IF" netns "$SRV_NS" type veth peer name "$CLI_IF" netns "$CLI_NS" || die "veth"
  ip -n "$SRV_NS" link set lo up
  ip -n "$CLI_NS" link set lo up
  ip -n "$SRV_NS" addr add "$SRV_IP/24" dev "$SRV_IF"
  ip -n "$CLI_NS" addr add "$CLI_IP/24" dev "$CLI_IF"
  if [ "${WITH_SRV2:-0}" = 1 ]; then ip -n "$SRV_NS" addr add "$SRV2_IP/24" dev "$SRV_IF"; fi
  # CLI_ADDRS=N: N more client addresses, 192.0.2.100.. (one per concurrent client, as PXE machines have)
  local k; for k in $(seq 0 $(( ${CLI_ADDRS:-0} - 1 ))); do ip -n "$CLI_NS" addr add "192.0.2.$((100 + k))/24" dev "$CLI_IF"; done
  ip -n "$SRV_NS" link set "$SRV_IF" up
  ip -n "$CLI_NS" link set "$CLI_IF" up
  # no default routes in either namespace: nothing can leave 192.0.2.0/24 / 198.51.100.0/24
  sleep 0.5
}

netns_down_quiet() {
  ip netns del "$CLI_NS" 2>/dev/null || true
  ip netns del "$SRV_NS" 2>/dev/null || true
}

cleanup() {
  stop_all_bg
  [ "$_NS_CREATED" = 1 ] && netns_down_quiet
  _NS_CREATED=0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait until a TCP port listens inside a namespace (max ~10s)
wait_tcp() {
  local ns=$1 port=$2 i
  for i in $(seq 100); do
    ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q LISTEN && return 0
    sleep 0.1
  done
  return 1
}
wait_udp() {
  local ns=$1 port=$2 i
  for i in $(seq 100); do
    ip netns exec "$ns" ss -Hlun "sport = :$port" 2>/dev/null | grep -q . && return 0
    sleep 0.1
  done
  return 1
}

# stats: reads numbers on stdin, prints "min median max"
mmm() { sort -g | awk '{a[NR]=$1} END{ if(NR==0){print "n/a n/a n/a"; exit}
  m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.5g %.5g %.5g\n", a[1], m, a[NR] }'; }

now_ns() { date +%s%N; }

# cpu_busy_pct: whole-machine CPU busy % over the next 1 s (from /proc/stat)
cpu_busy_pct() {
  local a b
  a=$(head -1 /proc/stat); sleep 1; b=$(head -1 /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN{ n=split(a,x," "); split(b,y," "); t=0; i=0
    for(k=2;k<=n;k++){ d=y[k]-x[k]; t+=d; if(k==5||k==6) i+=d }
    printf "%d\n", (t>0)?100*(t-i)/t:0 }'
}
# wait_quiet: wait (at most QUIET_WAIT s, default 60) until the machine is idle
# (busy < QUIET_PCT %, default 15) so other workloads do not skew a run; logs the result.
wait_quiet() {
  local max=${QUIET_WAIT:-60} lim=${QUIET_PCT:-15} t=0 b
  while :; do
    b=$(cpu_busy_pct)
    [ "$b" -lt "$lim" ] && { log "machine idle (${b}% busy)"; return 0; }
    [ "$t" -ge "$max" ] && { log "WARNING: machine still ${b}% busy after ${max}s; results may be skewed"; return 1; }
    log "machine ${b}% busy (other workload?), waiting..."; sleep 4; t=$((t+5))
  done
}

# load1: the 1-minute load average (noted with every figure; the machine may be shared)
load1() { cut -d' ' -f1 /proc/loadavg; }

# proc_usage PID -> "peak_rss_kib cpu_s" of a server we started: VmHWM (KiB) summed over the
# process and its live children (nginx workers), and user+sys CPU seconds of all of them,
# including children they have reaped (tftpd-hpa forks one per transfer). "n/a n/a" if gone.
proc_usage() {
  local pid=$1 p hz rss=0 cpu=0 h c
  [ -r "/proc/$pid/stat" ] || { echo "n/a n/a"; return; }
  hz=$(getconf CLK_TCK)
  for p in "$pid" $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
    h=$(awk '/^VmHWM:/{print $2}' "/proc/$p/status" 2>/dev/null)
    # after "pid (comm) ": $12..$15 = utime stime cutime cstime (fields 14-17 of stat)
    c=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12+$13+$14+$15}')
    rss=$((rss + ${h:-0})); cpu=$((cpu + ${c:-0}))
  done
  awk -v r="$rss" -v c="$cpu" -v hz="$hz" 'BEGIN{printf "%d %.2f\n", r, c/hz}'
}

# usage_row SCRIPT SERVER RUN PID LOAD1_AT_START: append one row to $WORKDIR/server_usage.csv
# (TAG, if set, labels rows from separate invocations, e.g. TAG=rep2)
usage_row() {
  local f=$WORKDIR/server_usage.csv rss cpu
  [ -f "$f" ] || echo "tag,script,server,run,peak_rss_kib,cpu_s,load1_start,load1_end,time" >"$f"
  read -r rss cpu < <(proc_usage "$4")
  echo "${TAG:-},$1,$2,$3,$rss,$cpu,$5,$(load1),$(date -u +%FT%TZ)" >>"$f"
  log "$2 run $3: server peak RSS ${rss} KiB, CPU ${cpu} s, load $5 -> $(load1)"
}

# hearth_spec DIR ASSETS KERNEL INITRD: write DIR/hearth.yaml for `hearth netboot serve` (needs
# HEARTH_CLI = hearth's dist/src/cli/main.js) from `hearth init`, edited with yedit.mjs beside this file:
# interface $SRV_IF, address $SRV_IP, DHCP full with pool 192.0.2.10-250 and 1 h leases (the
# harness's pool), assets ASSETS, kernel KERNEL, one initrd INITRD. The one machine entry and the
# cluster/load-balancer addresses lie outside the pool (192.0.2.251-254).
hearth_spec() {
  local dir=$1 assets=$2 kernel=$3 initrd=$4
  local yedit; yedit=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/yedit.mjs
  [ -n "${HEARTH_CLI:-}" ] && [ -f "$HEARTH_CLI" ] || die "set HEARTH_CLI to hearth's dist/src/cli/main.js"
  rm -rf "$dir"; mkdir -p "$dir"
  node "$HEARTH_CLI" init "$dir" >/dev/null 2>&1 || die "hearth init $dir failed"
  node "$yedit" "$dir/hearth.yaml" \
    set netboot "{\"interface\":\"$SRV_IF\",\"address\":\"$SRV_IP\",\"dhcp\":{\"mode\":\"full\",\"range\":\"192.0.2.10-192.0.2.250\",\"router\":\"$SRV_IP\",\"dns\":[\"$SRV_IP\"],\"leaseTime\":\"1h\"},\"assets\":\"$assets\",\"kernel\":\"$kernel\",\"initrd\":[\"$initrd\"]}" \
    set machines '[{"name":"cp1","mac":"52:54:00:00:00:01","role":"controlplane","address":"192.0.2.251/24","interface":"eth0","installDisk":"/dev/sda"}]' \
    set cluster.endpoint '"https://192.0.2.252:6443"' set cluster.vip '"192.0.2.252"' \
    set platform.loadBalancer.addresses '["192.0.2.253-192.0.2.254"]' || die "yedit $dir/hearth.yaml failed"
  node "$HEARTH_CLI" validate -f "$dir/hearth.yaml" >/dev/null 2>&1 || die "hearth validate $dir/hearth.yaml failed"
}

# start_http SERVER -> sets SRV_PID: nginx (nginx-light, sendfile on, 2 workers), python, or
# custom (CUSTOM_HTTP_CMD run inside ns $SRV_NS, {ROOT} replaced), serving $ROOT on 192.0.2.1:8080
start_http() {
  local d=$WORKDIR/nginx
  case $1 in
    nginx)
      mkdir -p "$d"
      cat >"$d/nginx.conf" <<EOF
worker_processes 2;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on; tcp_nopush on; keepalive_requests 100000;
  default_type application/octet-stream;
  client_body_temp_path $d/body; proxy_temp_path $d/proxy; fastcgi_temp_path $d/fcgi;
  uwsgi_temp_path $d/uwsgi; scgi_temp_path $d/scgi;
  server { listen 192.0.2.1:8080; root $ROOT; }
}
EOF
      bg_ns "$SRV_NS" "$d/stdout.log" nginx -c "$d/nginx.conf" -p "$d" -g 'daemon off;' ;;
    python)
      bg_ns "$SRV_NS" "$WORKDIR/python-http.log" /usr/bin/python3 -m http.server 8080 --bind 192.0.2.1 --directory "$ROOT" ;;
    custom)
      [ -n "${CUSTOM_HTTP_CMD:-}" ] || die "set CUSTOM_HTTP_CMD"
      bg_ns "$SRV_NS" "$WORKDIR/custom-http.log" bash -c "exec ${CUSTOM_HTTP_CMD//\{ROOT\}/$ROOT}" ;;
    *) die "unknown server $1" ;;
  esac
  SRV_PID=$BG_PID
  wait_tcp "$SRV_NS" 8080 || die "$1 did not listen on :8080"
}

# make a file of SIZE MiB with random content (cached)
mkfile_mib() {
  local path=$1 mib=$2
  if [ ! -f "$path" ] || [ "$(stat -c %s "$path")" != "$((mib*1048576))" ]; then
    head -c "$((mib*1048576))" /dev/urandom >"$path"
  fi
}
