"""reuseport.py N HOST PORT -- CMD...: opens N TCP listening sockets on HOST:PORT with SO_REUSEPORT
(descriptors 3 .. 3+N-1, named in LISTEN_FDS) and execs CMD with them. Node 20 has no reusePort
option; wrk-workers.ts listens on these. Loopback or a test namespace's addresses only."""
import os
import socket
import sys

if len(sys.argv) < 6 or sys.argv[4] != '--':
    sys.exit('usage: reuseport.py N HOST PORT -- CMD...')
n, host, port, cmd = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[5:]
fds = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((host, port))
    s.listen(511)
    fd = os.dup2(s.fileno(), 3 + i)
    os.set_inheritable(fd, True)
    fds.append(str(fd))
os.environ['LISTEN_FDS'] = ','.join(fds)
os.execvp(cmd[0], cmd)
