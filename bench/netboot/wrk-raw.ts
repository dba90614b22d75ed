/**
 * Probe for issue 11's HTTP gap: how fast one event loop serves `GET /assets/<name>` without
 * node:http. A plain node:net server reads each request up to its blank line, writes hearth's file
 * headers and sends the body with the addon: the first FIRST bytes by sendfile(2) on the loop
 * (sendNow, corked with the headers), the rest (if any) handed to an engine thread (stream), as
 * hearth does with its 256 KiB. Keep-alive, one request at a time per connection. Not hearth's
 * server and not a server to use: no request validation beyond the request line, no Range,
 * progress, events, metrics, limits or timeouts. What it measures is the cost node:http and the
 * handler add (compare with hearth in the same rounds: `PROBE=... bench/netboot/wrk-ab.sh`).
 *
 *   npm run build && node dist/bench/netboot/wrk-raw.js ADDRESS PORT ROOT   # env FIRST (bytes, default all)
 */
import { fstatSync, openSync, type Stats } from 'node:fs';
import net from 'node:net';
import { constants } from 'node:os';
import path from 'node:path';
import { sendfileAddon, socketFd } from '../../src/netboot/http/sendfile.js';

/** An open file and its response headers (opened once, never closed: a probe). */
interface Served {
  /** Its descriptor. */
  readonly fd: number;
  /** Its stat at open. */
  readonly st: Stats;
  /** The response's status line and headers up to the Date header (which each response adds). */
  readonly head: string;
}

const { EAGAIN, EINPROGRESS } = constants.errno;
const END = '\r\n\r\n';

function main(): void {
  const usage = 'usage: node wrk-raw.js ADDRESS PORT ROOT   (env FIRST: bytes sent on the loop, default all)\n';
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const [address, portText, root] = args;
  const port = Number(portText);
  const first = process.env.FIRST ? Number(process.env.FIRST) : Infinity;
  if (args.length !== 3 || !address || !root || !(port > 0 && port < 65536) || !(first > 0)) {
    process.stderr.write(usage);
    process.exit(2);
  }
  const mod = sendfileAddon();
  if (!mod) throw new Error('the addon is not built (npm run install)');
  const files = new Map<string, Served | null>();
  const find = (name: string): Served | null => {
    const known = files.get(name);
    if (known !== undefined) return known;
    let made: Served | null = null;
    try {
      const fd = openSync(path.join(root, path.basename(name)), 'r');
      const st = fstatSync(fd);
      const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}-${st.ino.toString(16)}"`;
      const head =
        `HTTP/1.1 200 OK\r\nETag: ${etag}\r\nLast-Modified: ${st.mtime.toUTCString()}\r\nAccept-Ranges: bytes\r\n` +
        `Content-Type: application/octet-stream\r\nCache-Control: no-cache\r\nContent-Length: ${st.size}\r\nConnection: keep-alive\r\n`;
      made = { fd, st, head };
    } catch {
      made = null;
    }
    files.set(name, made);
    return made;
  };
  // The Date header, made at most once a second (as node:http and nginx do).
  let dateAt = 0;
  let dateLine = '';
  const date = (): string => {
    const now = Date.now();
    if (now - dateAt >= 1000) {
      dateAt = now;
      dateLine = `Date: ${new Date(now).toUTCString()}\r\n\r\n`;
    }
    return dateLine;
  };
  const decode = (s: string): string | null => {
    try {
      return decodeURIComponent(s);
    } catch {
      return null;
    }
  };
  let requests = 0;
  let handedOff = 0;
  const server = net.createServer({ noDelay: true }, (socket) => {
    const sender = new mod.Sender(socketFd(socket));
    socket.once('close', () => sender.close());
    let pending = '';
    let busy = false;
    const next = (): void => {
      const at = pending.indexOf(END);
      if (busy || at < 0) return;
      const line = pending.slice(0, pending.indexOf('\r\n'));
      pending = pending.slice(at + END.length);
      const m = /^GET \/assets\/([^ ?]+)\S* HTTP\/1\.1$/.exec(line);
      const name = m ? decode(m[1]!) : null;
      const f = name ? find(name) : null;
      if (!f) {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      requests++;
      busy = true;
      sender.cork(true);
      socket.write(f.head + date());
      const done = (): void => {
        busy = false;
        next();
      };
      // libuv wrote the headers at once (an empty socket buffer takes them), so the body follows them.
      const body = (): void => {
        const size = f.st.size;
        const n = sender.sendNow(f.fd, 0, Math.min(first, size));
        // -EAGAIN: the socket is full; -EINPROGRESS: not in the page cache. The engine sends it either way.
        if (n < 0 && n !== -EAGAIN && n !== -EINPROGRESS) return void socket.destroy();
        const pos = Math.max(0, n);
        if (pos >= size) {
          sender.cork(false);
          return done();
        }
        handedOff++;
        const r = sender.stream(f.fd, pos, size - pos, (_sent, status) => (status < 0 ? socket.destroy() : done()));
        if (r < 0) socket.destroy();
      };
      if (socket.writableLength === 0) body();
      else socket.write('', body);
    };
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      if (pending.length > 64 * 1024) return void socket.destroy();
      next();
    });
    socket.on('error', () => undefined);
  });
  server.listen(port, address);
  setInterval(() => process.stderr.write(`wrk-raw: ${requests} requests, ${handedOff} bodies handed to an engine\n`), 2000).unref();
  // Keep-alive connections would hold server.close() open: a probe just ends.
  process.once('SIGTERM', () => process.exit(0));
  process.once('SIGINT', () => process.exit(0));
}

main();
