/**
 * A file slice to an HTTP response with sendfile(2) (native/sendfile.cc): the kernel moves the
 * page-cache pages to the socket and no bytes pass through JS. A response's first call (at most
 * 256 KiB) runs on the event loop against the non-blocking socket, right after the headers (corked
 * with them); the rest of the body, and any slice not in the page cache, is sent by a native engine
 * thread that calls back once at the end (progress is read from it on a timer). The socket stays
 * corked until the body's last call, as nginx's tcp_nopush keeps it, so every packet leaves full.
 * Memory per connection is a small watcher and a duplicate descriptor, whatever the file size and
 * the client's speed. Used when the addon is built and the response's socket is a plain TCP socket
 * with a file descriptor; else stream.ts copies.
 */
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { packagePath } from '../../common/package-root.js';
import type { Outgoing } from './outgoing.js';
import { closeAware } from './stream.js';

/** One response's sender: its own duplicate of the socket's descriptor (see native/sendfile.cc). */
interface Sender {
  /** Hands the slice to a native engine thread, which sends it as the socket drains and uncorks the socket as it ends; calls back once with the bytes sent and 0 (all sent) or -errno (-ECANCELED: closed meanwhile). 0, or -errno if it could not start. */
  stream(fileFd: number, offset: number, count: number, cb: (sent: number, status: number) => void): number;
  /** Bytes the running stream() has sent so far. */
  sent(): number;
  /** sendfile(2) now, on the event loop (the socket is non-blocking): bytes sent (> 0), 0 at end of file, -EINPROGRESS when the slice is not in the page cache, or -errno (-EAGAIN: the socket's buffer is full). */
  sendNow(fileFd: number, offset: number, count: number): number;
  /** TCP_CORK on or off; 0 or -errno. */
  cork(on: boolean): number;
  /** Whether TCP_CORK is on now, or -errno. */
  corked(): boolean | number;
  /** Closes the duplicate descriptor (once no send runs). */
  close(): void;
}

interface SendfileModule {
  Sender: new (socketFd: number) => Sender;
}

let loaded: SendfileModule | null | undefined;

/** The addon (build/Release/hearth_sendfile.node), or null when it is not built or does not load. */
export function sendfileAddon(): SendfileModule | null {
  if (loaded !== undefined) return loaded;
  const file = packagePath('build', 'Release', 'hearth_sendfile.node');
  try {
    loaded = existsSync(file) ? (createRequire(import.meta.url)(file) as SendfileModule) : null;
  } catch {
    loaded = null;
  }
  return loaded;
}

/** The file descriptor under a node:net socket, when it has one (TCP on Unix). */
export function socketFd(socket: Socket | null): number {
  const fd = (socket as (Socket & { _handle?: { fd?: unknown } }) | null)?._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

/**
 * Most bytes asked of the first call, on the event loop right after the headers: a body up to
 * this size costs no hand-over; the rest of a larger one is the engine's, so the loop is free for
 * other requests meanwhile. Measured in the anchor harness (veth, quiet box, 3 interleaved runs
 * against main): wrk 32 x 1 MiB 1.20x the requests/s at 1.05x the CPU per GB, where 2 MiB here
 * (the loop then sends most 1 MiB bodies itself and saturates its core) gave 0.96x; boot storm
 * CPU per GB 0.95x.
 */
const FIRST_MAX = 256 * 1024;
/** How often a body on an engine thread reports its bytes (progress, and the send timeout's clock), at most. */
const SYNC_MS = 1000;
const EMPTY = Buffer.alloc(0);
const { EAGAIN, EINPROGRESS } = constants.errno;

/** An errno from the addon as an Error. */
function errnoError(neg: number): Error {
  const name = Object.entries(constants.errno).find(([, v]) => v === -neg)?.[0] ?? `errno ${-neg}`;
  return new Error(name === 'EPIPE' || name === 'ECONNRESET' ? 'client went away' : `sendfile failed: ${name}`);
}

/** Each connection's sender, made by its first file body and closed with the connection (keep-alive requests share it). */
const senders = new WeakMap<Socket, Sender>();

function senderOf(mod: SendfileModule, socket: Socket): Sender {
  const known = senders.get(socket);
  if (known) return known;
  const made = new mod.Sender(socketFd(socket));
  senders.set(socket, made);
  socket.once('close', () => made.close());
  return made;
}

/**
 * Sends bytes [start, end] of the open file `fileFd` as the body of `res` (headers set, not yet
 * sent) and ends it. Bytes go out as the socket takes them; the response's send timeout keeps
 * running only while no byte moves. Every wait also ends when the response closes (the client
 * went away, the send timeout destroyed it).
 */
export async function sendfileBody(mod: SendfileModule, res: Outgoing, fileFd: number, start: number, end: number, onBytes: (n: number) => void): Promise<void> {
  const until = closeAware(res);
  const socket = res.socket;
  // A connection already closed has no descriptor (and would never close a sender made for it).
  if (!socket || res.destroyed || socketFd(socket) < 0) throw new Error('client went away');
  const sender = senderOf(mod, socket);
  // The headers go first (node:http or the front), into the corked socket: they leave in one packet
  // with the first body bytes (nginx's tcp_nopush); sendfile starts once the socket has taken them.
  let corked = sender.cork(true) === 0;
  const uncork = () => {
    if (corked) sender.cork(false);
    corked = false;
  };
  // What node:net calls on every write it makes: the send timeout counts from the last progress.
  const touch = (socket as Socket & { _unrefTimer?: () => void })._unrefTimer?.bind(socket) ?? (() => socket.setTimeout(socket.timeout ?? 0));
  let pos = start;
  try {
    res.flushHeaders();
    if (socket.writableLength > 0 || socket.writableCorked) await until(new Promise<void>((resolve, reject) => socket.write(EMPTY, (e) => (e ? reject(e) : resolve()))));
    if (res.destroyed) throw new Error('client went away');
    // The first call runs here on the loop, right after the headers: a body that fits in the
    // socket's buffer (most responses) costs no hand-over. -EINPROGRESS: its slice is not in the
    // page cache, so the engine thread reads it (the loop never waits for the disk).
    const n = sender.sendNow(fileFd, pos, Math.min(FIRST_MAX, end - pos + 1));
    if (n > 0) {
      pos += n;
      onBytes(n);
      touch();
    } else if (n === 0) throw new Error('file shrank while being sent');
    else if (n !== -EAGAIN && n !== -EINPROGRESS) throw errnoError(n);
    // The rest goes to an engine with the cork still on: the ACK-clocked sends of an uncorked
    // TCP_NODELAY socket would push a partial segment each time the buffer is short of a full one
    // (~15 % more, smaller packets for a 64 MiB body on a veth than nginx sends); the engine
    // uncorks as it ends (the uncork below is then a no-op; it covers an engine that did not start).
    if (pos <= end) pos += await engineBody(sender, socket, until, fileFd, pos, end - pos + 1, onBytes, touch);
  } finally {
    uncork();
  }
  // Every byte is with the kernel: a client that closes before the end callback had them all.
  await until(new Promise<void>((resolve) => res.end(resolve))).catch(() => undefined);
}

/**
 * The rest of a body, sent by a native engine thread as the client drains the socket: the kernel's
 * share of the work (the TCP send path; on a veth or loopback link the receive path too) runs
 * beside the event loop, on the other core, and JS hears of it once, at the end. Meanwhile a timer
 * reads the bytes sent (progress) and, while they move, holds off the send timeout. Resolves to the
 * bytes sent: a client that closes the moment it has the last bytes still finished its download.
 */
async function engineBody(sender: Sender, socket: Socket, until: <T>(p: Promise<T>) => Promise<T>, fileFd: number, pos: number, count: number, onBytes: (n: number) => void, touch: () => void): Promise<number> {
  let counted = 0;
  const sync = (total: number) => {
    if (total <= counted) return;
    onBytes(total - counted);
    counted = total;
    touch();
  };
  // Every half send timeout at most: a stall is still caught within 1.5 send timeouts.
  const timeout = socket.timeout ?? 0;
  const every = timeout > 0 ? Math.max(10, Math.min(SYNC_MS, Math.floor(timeout / 2))) : SYNC_MS;
  const timer = setInterval(() => sync(sender.sent()), every).unref();
  const done = new Promise<[number, number]>((resolve, reject) => {
    const r = sender.stream(fileFd, pos, count, (sent, status) => resolve([sent, status]));
    if (r < 0) reject(errnoError(r));
  });
  try {
    const [sent, status] = await until(done);
    sync(sent);
    if (status < 0 && sent < count) throw errnoError(status);
    return sent;
  } catch (e) {
    // The client went away (its socket's close cancels the engine's job): what the kernel took still counts.
    const [sent] = await done.catch(() => [0, 0] as [number, number]);
    sync(sent);
    if (sent < count) throw e;
    return sent;
  } finally {
    clearInterval(timer);
  }
}
