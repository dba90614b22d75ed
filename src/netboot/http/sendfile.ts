/**
 * A file slice to an HTTP response with sendfile(2) (native/sendfile.cc): the kernel moves the
 * page-cache pages to the socket, no bytes pass through JS. Memory per download is nothing but a
 * small watcher, whatever the file size and the client's speed. Used when the addon is built and
 * the response's socket is a plain TCP socket with a file descriptor; else stream.ts copies.
 */
import { existsSync } from 'node:fs';
import type http from 'node:http';
import type { Socket } from 'node:net';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { packagePath } from '../../common/package-root.js';
import { closeAware } from './stream.js';

interface WritableWait {
  /** Calls back once when the socket is writable (or has failed: status < 0); 0, or -errno if it cannot wait. */
  wait(cb: (status: number) => void): number;
  close(): void;
}

interface SendfileModule {
  /** Bytes sent (> 0), 0 at the end of the file, or -errno (-EAGAIN: the socket's buffer is full). */
  sendfile(socketFd: number, fileFd: number, offset: number, count: number): number;
  WritableWait: new (socketFd: number) => WritableWait;
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
  const fd = socketFd(socket);
  // The headers go first, through node:http; sendfile starts once the socket has taken them.
  res.flushHeaders();
  if (socket.writableLength > 0 || socket.writableCorked) await until(new Promise<void>((resolve, reject) => socket.write(EMPTY, (e) => (e ? reject(e) : resolve()))));
  let watch: WritableWait | undefined;
  // What node:net calls on every write it makes: the send timeout counts from the last progress.
  const touch = (socket as Socket & { _unrefTimer?: () => void })._unrefTimer?.bind(socket) ?? (() => socket.setTimeout(socket.timeout ?? 0));
  try {
    for (let pos = start; pos <= end; ) {
      if (res.destroyed) throw new Error('client went away');
      const n = mod.sendfile(fd, fileFd, pos, Math.min(CALL_MAX, end - pos + 1));
      if (n > 0) {
        pos += n;
        onBytes(n);
        touch();
        continue;
      }
      if (n === 0) throw new Error('file shrank while being sent');
      if (n !== -EAGAIN) throw errnoError(n);
      watch ??= new mod.WritableWait(fd);
      const w = watch;
      await until(
        new Promise<void>((resolve, reject) => {
          const r = w.wait((status) => (status < 0 ? reject(errnoError(status)) : resolve()));
          if (r < 0) reject(errnoError(r));
        }),
      );
    }
  } finally {
    watch?.close();
  }
  await until(new Promise<void>((resolve) => res.end(resolve)));
}
