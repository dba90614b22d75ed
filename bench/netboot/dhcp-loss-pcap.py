#!/usr/bin/env python3
"""dhcp-loss-pcap.py PCAP [SERVER_IP] - how bursty a DHCP server's replies reach the relay (perfdhcp).

Reads a capture taken on the client side of the veth (tcpdump -w, Ethernet, UDP only) and prints:
the most replies that arrived within any 1 / 5 / 20 ms; the client's silences (no request sent for
>= 5 ms: perfdhcp not running, so not reading either) and how many replies arrived during each, the
largest such pile being what its receive buffer had to hold.
"""
import struct, sys
from collections import deque

path = sys.argv[1]
server = bytes(int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else '192.0.2.1').split('.'))
with open(path, 'rb') as f:
    data = f.read()
magic = struct.unpack('<I', data[:4])[0]
nano = magic == 0xa1b23c4d
off, rep, req = 24, [], []
while off + 16 <= len(data):
    sec, frac, incl, _ = struct.unpack('<IIII', data[off:off + 16])
    pkt = data[off + 16: off + 16 + incl]
    off += 16 + incl
    t = sec + frac / (1e9 if nano else 1e6)
    if len(pkt) < 34 or pkt[12:14] != b'\x08\x00' or pkt[23] != 17:
        continue
    (rep if pkt[26:30] == server else req).append(t)

def most_within(ts, w):
    q, best = deque(), 0
    for t in ts:
        q.append(t)
        while q[0] < t - w:
            q.popleft()
        best = max(best, len(q))
    return best

print(f'replies {len(rep)}, requests {len(req)}')
for w in (0.001, 0.005, 0.020):
    print(f'  most replies within {w * 1000:g} ms: {most_within(rep, w)} (requests: {most_within(req, w)})')
# silences of the client and the replies that piled up meanwhile
import bisect
gaps = []
for a, b in zip(req, req[1:]):
    if b - a >= 0.005:
        n = bisect.bisect_left(rep, b) - bisect.bisect_right(rep, a)
        gaps.append((b - a, n))
gaps.sort(key=lambda g: -g[1])
print(f'  client silences >= 5 ms: {len(gaps)}, total {sum(g[0] for g in gaps) * 1000:.0f} ms; largest piles (ms, replies): '
      + ', '.join(f'{g[0] * 1000:.0f}:{g[1]}' for g in gaps[:6]))
# server silences: no reply for >= 5 ms while requests kept coming
sg = sorted(((b - a, bisect.bisect_left(req, b) - bisect.bisect_right(req, a)) for a, b in zip(rep, rep[1:]) if b - a >= 0.005), key=lambda g: -g[0])
print(f'  server silences >= 5 ms: {len(sg)}, total {sum(g[0] for g in sg) * 1000:.0f} ms; longest (ms, requests meanwhile): '
      + ', '.join(f'{g[0] * 1000:.0f}:{g[1]}' for g in sg[:6]))
