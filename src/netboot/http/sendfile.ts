/**
 * A file slice to an HTTP response with sendfile(2) (native/sendfile.cc): the kernel moves the
 * page-cache pages to the socket and no bytes pass through JS. A response's first call runs on the
 * event loop against the non-blocking socket, right after the headers (corked with them); the rest
 * of the body, and any slice not in the page cache, is sent on the thread pool. Memory per
 * connection is a small watcher and a duplicate descriptor, whatever the file size and the
 * client's speed. Used when the addon is built and the response's socket is a plain TCP socket
 * with a file descriptor; else stream.ts copies.
 */
import { existsSync } from 'node:fs';
import type http from 'node:http';
import type { Socket } from 'node:net';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { packagePath } from '../../common/package-root.js';
import { closeAware } from './stream.js';

/** One response's sender: its own duplicate of the socket's descriptor (see native/sendfile.cc). */
interface Sender {
  /** Sends from the file on the thread pool (a slice not in the page cache); calls back with bytes sent (> 0), 0 at end of file, or -errno (-EAGAIN: the socket's buffer is full). */
  send(fileFd: number, offset: number, count: number, cb: (n: number) => void): void;
  /** sendfile(2) now, on the event loop (the socket is non-blocking): bytes sent (> 0), 0 at end of file, -EINPROGRESS when the slice is not in the page cache, or -errno (-EAGAIN: the socket's buffer is full). */
  sendNow(fileFd: number, offset: number, count: number): number;
  /** TCP_CORK on or off; 0 or -errno. */
  cork(on: boolean): number;
  /** Calls back once when the socket is writable (or has failed: status < 0); 0, or -errno if it cannot wait. */
  wait(cb: (status: number) => void): number;
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

/** Most bytes asked of the first call, on the event loop (nginx's sendfile_max_chunk): the loop is held for at most this much. */
const FIRST_MAX = 2 * 1024 * 1024;
/** Most bytes asked of a call on the thread pool (it sends what the socket's buffer takes and returns). */
const CALL_MAX = 8 * 1024 * 1024;
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
export async function sendfileBody(mod: SendfileModule, res: http.ServerResponse, fileFd: number, start: number, end: number, onBytes: (n: number) => void): Promise<void> {
  const until = closeAware(res);
  const socket = res.socket;
  // A connection already closed has no descriptor (and would never close a sender made for it).
  if (!socket || res.destroyed || socketFd(socket) < 0) throw new Error('client went away');
  const sender = senderOf(mod, socket);
  // The headers go first, through node:http, into the corked socket: they leave in one packet
  // with the first body bytes (nginx's tcp_nopush); sendfile starts once the socket has taken them.
  let corked = sender.cork(true) === 0;
  const uncork = () => {
    if (corked) sender.cork(false);
    corked = false;
  };
  // What node:net calls on every write it makes: the send timeout counts from the last progress.
  const touch = (socket as Socket & { _unrefTimer?: () => void })._unrefTimer?.bind(socket) ?? (() => socket.setTimeout(socket.timeout ?? 0));
  /** A send on the thread pool, while one runs (its bytes count even if the client leaves meanwhile). */
  let running: Promise<number> | undefined;
  let pos = start;
  try {
    res.flushHeaders();
    if (socket.writableLength > 0 || socket.writableCorked) await until(new Promise<void>((resolve, reject) => socket.write(EMPTY, (e) => (e ? reject(e) : resolve()))));
    if (res.destroyed) throw new Error('client went away');
    while (pos <= end) {
      // The first call runs here on the loop, right after the headers: a body that fits in the
      // socket's buffer (most responses) costs no thread-pool round trip. The rest of a body, sent
      // as the client drains its socket, goes through the thread pool, where the kernel's share of
      // the work (the TCP send path; on a veth or loopback link the receive path too) runs beside
      // the loop, on the other core: measured, all-on-the-loop cost more CPU per GB in the boot
      // storm and starved under load.
      const first = pos === start;
      const count = Math.min(first ? FIRST_MAX : CALL_MAX, end - pos + 1);
      // -EINPROGRESS: not in the page cache, so the disk read happens on the thread pool too.
      let n = first ? sender.sendNow(fileFd, pos, count) : -EINPROGRESS;
      if (n === -EINPROGRESS) {
        running = new Promise<number>((resolve) => sender.send(fileFd, pos, count, resolve));
        n = await until(running);
        running = undefined;
      }
      uncork();
      if (n > 0) {
        pos += n;
        onBytes(n);
        touch();
        // Less than asked: the socket's buffer is full (the next call would say EAGAIN).
        if (n === count) continue;
      } else if (n === 0) throw new Error('file shrank while being sent');
      else if (n !== -EAGAIN) throw errnoError(n);
      if (pos > end) break;
      await until(
        new Promise<void>((resolve, reject) => {
          const r = sender.wait((status) => (status < 0 ? reject(errnoError(status)) : resolve()));
          if (r < 0) reject(errnoError(r));
        }),
      );
    }
  } catch (e) {
    // A client may close the moment it has the last bytes, before a pool send's result is in:
    // what the kernel took still counts, and a body handed over whole is a finished download.
    const last = running ? await running : 0;
    if (last > 0) {
      pos += last;
      onBytes(last);
    }
    if (pos <= end) throw e;
    return;
  } finally {
    uncork();
  }
  // Every byte is with the kernel: a client that closes before the end callback had them all.
  await until(new Promise<void>((resolve) => res.end(resolve))).catch(() => undefined);
}
