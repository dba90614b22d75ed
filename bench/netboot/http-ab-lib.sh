# http-ab-lib.sh - what single-stream.sh and wrk-ab.sh share: two namespaces joined by a veth,
# nginx (2 workers, sendfile, tcp_nopush: its production settings) and hearth (and optionally a
# baseline hearth build) serving the same files, kept running while a driver interleaves its
# clients between them. Sourced, not run. The driver sets, before `ab_setup NAME`:
#   HERE (the checkout), HEARTH_CLI, BASELINE (empty or another dist/cli/hearth.js),
#   SCPU (the servers' CPU list for taskset), HEARTH_NODE (extra node flags for hearth, optional),
#   PROBE (empty or dist/bench/netboot/wrk-raw.js: served too, as "probe", on port 8083).
# After it: WD (work dir, deleted at exit unless KEEP=1), SRV / CLI (namespaces), DEV (the server's
# veth), NAMES / SPIDS (each server's name and PID, nginx first), PATHS (each server's URL prefix:
# http://192.0.2.1:PORT/ for nginx, .../assets/ for hearth) and files f1m (1 MiB), f64m (64 MiB).
# Network: 192.0.2.1 (servers) and 192.0.2.2 (clients) inside the two namespaces; nothing leaves
# them; both are deleted at exit, and only the processes started here are stopped (by PID).

PIDS=()

ab_cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done
  ip netns del "$CLI" 2>/dev/null; ip netns del "$SRV" 2>/dev/null
  [ "${KEEP:-0}" = 1 ] && echo "kept $WD" >&2 || rm -rf "$WD"
}

# ab_setup NAME: namespaces NAME-srv-PID / NAME-cli-PID, the files, the spec, the servers started
# and listening, one download each not counted (page cache, JIT).
ab_setup() {
  local name=$1
  SRV=$name-srv-$$; CLI=$name-cli-$$; DEV=vs-$name
  WD=$(mktemp -d "/tmp/$name.XXXXXX"); chmod 755 "$WD"   # nginx workers read it as nobody
  trap ab_cleanup EXIT
  trap 'exit 130' INT TERM
  ip netns add "$SRV" && ip netns add "$CLI" || exit 1
  ip link add "$DEV" netns "$SRV" type veth peer name "vc-$name" netns "$CLI" || exit 1
  ip -n "$SRV" link set lo up; ip -n "$CLI" link set lo up
  ip -n "$SRV" addr add 192.0.2.1/24 dev "$DEV"; ip -n "$CLI" addr add 192.0.2.2/24 dev "vc-$name"
  ip -n "$SRV" link set "$DEV" up; ip -n "$CLI" link set "vc-$name" up

  mkdir -p "$WD/www" "$WD/nginx"
  head -c $((64 * 1048576)) /dev/urandom >"$WD/www/f64m"
  head -c 1048576 /dev/urandom >"$WD/www/f1m"
  sync "$WD/www/f64m" "$WD/www/f1m"   # no writeback of the fresh files during the rounds
  HEARTH_CLI=$HEARTH_CLI bash "$HERE/bench/anchors/hearth-spec.sh" "$WD/spec" "$WD/www" f1m f64m || exit 1

  cat >"$WD/nginx/nginx.conf" <<EOF
worker_processes 2;
pid $WD/nginx/nginx.pid;
error_log $WD/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on; tcp_nopush on; keepalive_requests 100000;
  default_type application/octet-stream;
  client_body_temp_path $WD/nginx/body; proxy_temp_path $WD/nginx/proxy; fastcgi_temp_path $WD/nginx/fcgi;
  uwsgi_temp_path $WD/nginx/uwsgi; scgi_temp_path $WD/nginx/scgi;
  server { listen 192.0.2.1:8081; root $WD/www; }
}
EOF
  NAMES=(nginx hearth); PATHS=(http://192.0.2.1:8081/ http://192.0.2.1:8080/assets/)
  ip netns exec "$SRV" taskset -c "$SCPU" nginx -c "$WD/nginx/nginx.conf" -p "$WD/nginx" -g 'daemon off;' >"$WD/nginx.log" 2>&1 &
  PIDS+=($!)
  ab_hearth "$HEARTH_CLI" 8080 6969 "$WD/state-hearth" "${HEARTH_NODE:-}"
  if [ -n "$BASELINE" ]; then
    ab_hearth "$BASELINE" 8082 6970 "$WD/state-baseline" ""
    NAMES+=(baseline); PATHS+=(http://192.0.2.1:8082/assets/)
  fi
  if [ -n "${PROBE:-}" ]; then   # a probe server (wrk-raw.js): ADDRESS PORT ROOT, FIRST from the environment
    ip netns exec "$SRV" taskset -c "$SCPU" node "$PROBE" 192.0.2.1 8083 "$WD/www" >"$WD/probe.log" 2>&1 &
    PIDS+=($!)
    NAMES+=(probe); PATHS+=(http://192.0.2.1:8083/assets/)
  fi
  SPIDS=("${PIDS[@]}")
  local port i u
  for port in 8081 8080 ${BASELINE:+8082} ${PROBE:+8083}; do
    for i in $(seq 100); do ip netns exec "$SRV" ss -Hltn "sport = :$port" | grep -q LISTEN && break; sleep 0.1; done
  done
  sleep 2   # hearth's start-up work (warm-up download) is over
  for u in "${PATHS[@]}"; do ip netns exec "$CLI" curl -s -o /dev/null --max-time 20 "${u}f64m"; done
}

# ab_hearth CLI HTTP_PORT TFTP_PORT STATE NODE_FLAGS
ab_hearth() {
  # shellcheck disable=SC2086  # NODE_FLAGS is a list of flags
  ip netns exec "$SRV" taskset -c "$SCPU" node $5 "$1" netboot serve -f "$WD/spec/hearth.yaml" --interface "$DEV" --address 192.0.2.1 \
    --dhcp off --state "$4" --log --http-port "$2" --tftp-port "$3" >"$4.log" 2>&1 &
  PIDS+=($!)
}

# ab_quiet: waits (at most QUIET_WAIT s, default 120) until the machine is < 15 % busy (others'
# work skews the rounds) and prints how busy it was.
ab_quiet() {
  local w b
  for w in $(seq "${QUIET_WAIT:-120}"); do b=$(ab_busy); [ "$b" -lt 15 ] && break; done
  echo "# machine ${b}% busy before the rounds"
}

ab_busy() {
  local a b
  a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
  awk -v a="${a[*]}" -v b="${b[*]}" 'BEGIN { n = split(a, x); split(b, y); for (k = 2; k <= n; k++) { d = y[k] - x[k]; t += d; if (k == 5 || k == 6) i += d }; print int(100 * (t - i) / t) }'
}
