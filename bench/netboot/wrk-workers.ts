/**
 * Probe for issue 11's HTTP gap: "a worker per core owning its connections". One worker_thread
 * per listening descriptor in LISTEN_FDS (SO_REUSEPORT sockets on one port, made by
 * reuseport.py), each a bare node:http server that answers GET /assets/<name> from ROOT with
 * hearth's file headers and sends the whole body with the addon's sendNow (sendfile(2) on its
 * own loop, corked with the headers; no engine threads, no hand-off). Not hearth's server: no
 * Range, progress, events, metrics or limits. Prints each worker's requests and partial sends
 * every 2 s on stderr.
 *
 *   npm run build && python3 bench/netboot/reuseport.py 2 192.0.2.1 8080 -- \
 *     node dist/bench/netboot/wrk-workers.js ROOT        # then wrk -t2 -c32 .../assets/f1m
 */
import { openSync, fstatSync, type Stats } from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { sendfileAddon, socketFd } from '../../src/netboot/http/sendfile.js';

/** What a worker is given. */
interface Job {
  /** The listening descriptor it serves. */
  readonly fd: number;
  /** The directory /assets/ maps to. */
  readonly root: string;
}

/** An open file and its headers' validators (opened once, never closed: a probe). */
interface Served {
  /** Its descriptor. */
  readonly fd: number;
  /** Its stat at open. */
  readonly st: Stats;
  /** Its ETag, as hearth's etagOf makes it. */
  readonly etag: string;
}

const EAGAIN = -11;

function serve(job: Job): void {
  const mod = sendfileAddon();
  if (!mod) throw new Error('the addon is not built (npm run install)');
  const files = new Map<string, Served>();
  const open = (name: string): Served => {
    const known = files.get(name);
    if (known) return known;
    const fd = openSync(path.join(job.root, path.basename(name)), 'r');
    const st = fstatSync(fd);
    const made = { fd, st, etag: `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}-${st.ino.toString(16)}"` };
    files.set(name, made);
    return made;
  };
  const senders = new WeakMap<Socket, InstanceType<NonNullable<ReturnType<typeof sendfileAddon>>['Sender']>>();
  let requests = 0;
  let partial = 0;
  const server = http.createServer((req, res) => {
    requests++;
    let f: Served;
    try {
      f = open(new URL(`http://x${req.url ?? '/'}`).pathname.replace(/^\/assets\//, ''));
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { ETag: f.etag, 'Last-Modified': f.st.mtime.toUTCString(), 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-cache', 'Content-Length': f.st.size });
    const socket = res.socket;
    if (!socket || socketFd(socket) < 0) return void res.destroy();
    let s = senders.get(socket);
    if (!s) {
      const made = new mod.Sender(socketFd(socket));
      socket.once('close', () => made.close());
      senders.set(socket, made);
      s = made;
    }
    const sender = s;
    sender.cork(true);
    res.flushHeaders();
    let pos = 0;
    // The whole body in one call when the socket's buffer takes it (the common case measured);
    // else retry on the next turn of the loop (a probe: no writability wait).
    const step = (): void => {
      if (res.destroyed) return;
      const n = sender.sendNow(f.fd, pos, f.st.size - pos);
      if (n > 0) pos += n;
      else if (n !== EAGAIN) return void res.destroy();
      sender.cork(false);
      if (pos < f.st.size) {
        partial++;
        setImmediate(step);
        return;
      }
      res.end();
    };
    step();
  });
  server.listen({ fd: job.fd });
  setInterval(() => process.stderr.write(`worker fd ${job.fd}: ${requests} requests, ${partial} partial sends\n`), 2000).unref();
}

if (isMainThread) {
  const root = process.argv[2];
  const fds = (process.env.LISTEN_FDS ?? '').split(',').filter(Boolean).map(Number);
  if (!root || fds.length === 0) throw new Error('usage: LISTEN_FDS=3,4 node wrk-workers.js ROOT (see reuseport.py)');
  for (const fd of fds) new Worker(new URL(import.meta.url), { workerData: { fd, root } satisfies Job });
} else serve(workerData as Job);
