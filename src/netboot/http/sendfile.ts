/**
 * A file slice to an HTTP response with sendfile(2) (native/sendfile.cc): the kernel moves the
 * page-cache pages to the socket, no bytes pass through JS, and the kernel's work runs on the
 * thread pool beside the event loop. Memory per download is a small watcher and a duplicate
 * descriptor, whatever the file size and the client's speed. Used when the addon is built and
 * the response's socket is a plain TCP socket with a file descriptor; else stream.ts copies.
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
  /** Sends from the file on the thread pool; calls back with bytes sent (> 0), 0 at end of file, or -errno (-EAGAIN: the socket's buffer is full). */
  send(fileFd: number, offset: number, count: number, cb: (n: number) => void): void;
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

/** Most bytes asked of one sendfile call (it sends what the socket's buffer takes and returns). */
const CALL_MAX = 8 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);
const EAGAIN = constants.errno.EAGAIN;

/** An errno from the addon as an Error. */
function errnoError(neg: number): Error {
  const name = Object.entries(constants.errno).find(([, v]) => v === -neg)?.[0] ?? `errno ${-neg}`;
  return new Error(name === 'EPIPE' || name === 'ECONNRESET' ? 'client went away' : `sendfile failed: ${name}`);
}

/**
 * Sends bytes [start, end] of the open file `fileFd` as the body of `res` (headers set, not yet
 * sent) and ends it. Bytes go out as the socket takes them; the response's send timeout keeps
 * running only while no byte moves. Every wait also ends when the response closes (the client
 * went away, the send timeout destroyed it).
 */
export async function sendfileBody(mod: SendfileModule, res: http.ServerResponse, fileFd: number, start: number, end: number, onBytes: (n: number) => void): Promise<void> {
  const until = closeAware(res);
  const socket = res.socket!;
  // The headers go first, through node:http; sendfile starts once the socket has taken them.
  res.flushHeaders();
  if (socket.writableLength > 0 || socket.writableCorked) await until(new Promise<void>((resolve, reject) => socket.write(EMPTY, (e) => (e ? reject(e) : resolve()))));
  if (res.destroyed) throw new Error('client went away');
  const sender = new mod.Sender(socketFd(socket));
  // What node:net calls on every write it makes: the send timeout counts from the last progress.
  const touch = (socket as Socket & { _unrefTimer?: () => void })._unrefTimer?.bind(socket) ?? (() => socket.setTimeout(socket.timeout ?? 0));
  /** The send on the thread pool, if one runs: the descriptor is closed only after it returns. */
  let running: Promise<number> | undefined;
  let pos = start;
  try {
    while (pos <= end) {
      running = new Promise<number>((resolve) => sender.send(fileFd, pos, Math.min(CALL_MAX, end - pos + 1), resolve));
      let n: number;
      try {
        n = await until(running);
      } catch (e) {
        // A client may close the moment it has the last bytes, before this send's result is in:
        // what the kernel took still counts, and a body handed over whole is a finished download.
        const last = await running;
        running = undefined;
        if (last > 0) {
          pos += last;
          onBytes(last);
        }
        if (pos > end) return;
        throw e;
      }
      running = undefined;
      if (n > 0) {
        pos += n;
        onBytes(n);
        touch();
        continue;
      }
      if (n === 0) throw new Error('file shrank while being sent');
      if (n !== -EAGAIN) throw errnoError(n);
      await until(
        new Promise<void>((resolve, reject) => {
          const r = sender.wait((status) => (status < 0 ? reject(errnoError(status)) : resolve()));
          if (r < 0) reject(errnoError(r));
        }),
      );
    }
  } finally {
    if (running) await running.catch(() => undefined);
    sender.close();
  }
  // Every byte is with the kernel: a client that closes before the end callback had them all.
  await until(new Promise<void>((resolve) => res.end(resolve))).catch(() => undefined);
}
