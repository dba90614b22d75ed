#!/usr/bin/env python3
"""single-stream-sched.py SCHED_TXT: per curl download in `perf script` output of sched:sched_switch
(both CPUs), the CPU time curl and the servers' threads (comm node or nginx) ran meanwhile, and in
how many of the 1 ms slices where both ran they ran on the same CPU only (sharing a core) rather
than each on its own. One line per curl process, in the order they ran."""
import collections
import re
import sys

SWITCH = re.compile(r'\[(\d+)\]\s+([\d.]+):\s+sched:sched_switch:\s+prev_comm=(.+?) prev_pid=(\d+) .*?==> next_comm=(.+?) next_pid=(\d+)')
SLICE = 0.001
SERVERS = ('node', 'nginx')

running = {}  # cpu -> (pid, since)
intervals = collections.defaultdict(list)  # pid -> [(cpu, start, end)]
last_comm = {}  # pid -> its name when it last left a CPU (curl starts as `ip`, then execs)
with open(sys.argv[1]) as f:
    for line in f:
        m = SWITCH.search(line)
        if not m:
            continue
        cpu, t = int(m[1]), float(m[2])
        if cpu in running:
            pid, since = running[cpu]
            intervals[pid].append((cpu, since, t))
        last_comm[int(m[4])] = m[3]
        running[cpu] = (int(m[6]), t)
runs = {(last_comm.get(pid, '?'), pid): iv for pid, iv in intervals.items()}


def slices(intervals, lo, hi):
    """slice index -> set of CPUs run on, for intervals clipped to [lo, hi]."""
    out = collections.defaultdict(set)
    for cpu, a, b in intervals:
        a, b = max(a, lo), min(b, hi)
        if b <= a:
            continue
        for i in range(int((a - lo) / SLICE), int((b - lo) / SLICE) + 1):
            out[i].add(cpu)
    return out


curls = sorted((iv[0][1], key) for key, iv in runs.items() if key[0] == 'curl')
servers = [iv for key, iv in runs.items() if key[0] in SERVERS]
for _, key in curls:
    iv = runs[key]
    lo, hi = iv[0][1], iv[-1][2]
    mine = [x for s in servers for x in s if x[2] > lo and x[1] < hi]
    c, s = slices(iv, lo, hi), slices(mine, lo, hi)
    both = [i for i in c if i in s]
    same = sum(1 for i in both if len(c[i] | s[i]) == 1)
    crun = sum(min(b, hi) - max(a, lo) for _, a, b in iv)
    srun = sum(min(b, hi) - max(a, lo) for _, a, b in mine)
    print('curl %6.1f ms on cpu, server %5.1f ms, %3d of %3d ms both ran: %3.0f%% on one cpu' % (crun * 1e3, srun * 1e3, len(both), len(c), 100.0 * same / len(both) if both else 0))
