#!/usr/bin/env python3
"""dhcp-loss-summary.py CSV... - dhcp-loss.sh's trials per server, busy loops and offered rate:
trials passing (< 1 % lost), loss % min / median / max, and where the lost exchanges went (kernel
drops at the server's socket and at perfdhcp's, hearth's own drops), summed."""
import csv, statistics, sys
from collections import defaultdict

rows = [r for f in sys.argv[1:] for r in csv.DictReader(open(f))]
groups = defaultdict(list)
for r in rows:
    groups[(r['config'], r.get('busy', '0'), int(r['rate']))].append(r)
print(f"{'server':<12} {'busy':>4} {'rate/s':>7} {'pass':>6} {'loss % min/med/max':>22} {'lost':>7} {'srv sock':>8} {'relay sock':>10} {'shed':>6}")
for (cfg, busy, rate), rs in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
    loss = [float(r['loss_pct']) for r in rs]
    lost = sum(int(r['disc_sent']) - int(r['acks']) for r in rs)
    srv = sum(int(r['srv_rcvbuf_err']) for r in rs)
    cli = sum(int(r['cli_rcvbuf_err']) for r in rs)
    shed = sum(int(p.split('=')[1]) for r in rs for p in r['hearth_dropped'].split(';') if '=' in p)
    ok = sum(l < 1 for l in loss)
    print(f"{cfg:<12} {busy:>4} {rate:>7} {ok:>3}/{len(rs):<2} {min(loss):>6.2f} {statistics.median(loss):>6.2f} {max(loss):>7.2f} {lost:>7} {srv:>8} {cli:>10} {shed:>6}")
