/** Copying a slice of a file to an HTTP response with bounded, reused memory. */
import { open } from 'node:fs/promises';
import type { Outgoing } from './outgoing.js';

/** Bytes per read from disk and write to the socket. */
const CHUNK = 256 * 1024;
/** Free chunk buffers, reused across responses so downloads allocate (almost) nothing. */
const pool: Buffer[] = [];
const POOL_MAX = 64;
const take = () => pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
const give = (b: Buffer) => {
  if (pool.length < POOL_MAX) pool.push(b);
};

/**
 * A waiter that also ends when the response closes before finishing (the client went away, a send
 * timeout destroyed it): one 'close' listener fails whichever wait is current, so waiting adds no
 * state per chunk.
 */
export function closeAware(res: Outgoing): <T>(p: Promise<T>) => Promise<T> {
  let fail: ((e: Error) => void) | undefined;
  let gone: Error | undefined;
  const onClose = () => {
    if (res.writableFinished) return;
    gone = new Error('client went away');
    fail?.(gone);
  };
  if (res.destroyed) onClose();
  else res.once('close', onClose);
  return <T>(p: Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      if (gone) return reject(gone);
      fail = reject;
      p.then(resolve, reject);
    });
}

/**
 * Copies bytes [start, end] of a file to the response with at most two buffers: the next chunk
 * is read while the previous one is being written, but only while the socket keeps up — when a
 * write is queued (the client reads slower than the disk), the next read waits for it. A buffer
 * is reused only after the socket has taken it (the write callback). Memory per download: at most
 * 2 x CHUNK, whatever the file size and the client's speed; one CHUNK while the client stalls. Every wait also ends when the
 * response closes (the client went away, a send timeout destroyed it), so the file is closed.
 */
export async function streamFile(file: string, res: Outgoing, start: number, end: number, onBytes: (n: number) => void): Promise<void> {
  const until = closeAware(res);
  const fh = await open(file, 'r'); // not abandoned midway: its handle must be closed below
  const bufs: (Buffer | undefined)[] = [undefined, undefined];
  const pending: (Promise<void> | undefined)[] = [undefined, undefined];
  /** Whether the socket has taken each buffer's last write (it may then go back to the pool). */
  const taken = [true, true];
  let clean = false;
  try {
    let pos = start;
    for (let i = 0; pos <= end; i ^= 1) {
      await until(pending[i] ?? Promise.resolve()); // the buffer we are about to fill has been handed to the kernel
      const buf = (bufs[i] ??= take());
      const { bytesRead } = await until(fh.read(buf, 0, Math.min(CHUNK, end - pos + 1), pos));
      if (bytesRead === 0) throw new Error('file shrank while being sent');
      pos += bytesRead;
      const chunk = bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead);
      const slot = i;
      taken[slot] = false;
      const w = new Promise<void>((resolve, reject) => res.write(chunk, (err) => (err ? reject(err) : ((taken[slot] = true), onBytes(bytesRead), resolve()))));
      w.catch(() => undefined);
      pending[i] = w;
      // Backpressure: the socket queued this chunk, so read nothing more until it is taken, and
      // meanwhile lend the other buffer back once the socket has it (writes complete in order,
      // so it is the first to): a stalled client pins one chunk.
      if (res.writableNeedDrain) {
        const other = bufs[i ^ 1];
        if (other) {
          await until(pending[i ^ 1] ?? Promise.resolve());
          give(other);
          bufs[i ^ 1] = undefined;
        }
        await until(w);
      }
    }
    await until(Promise.all(pending.map((p) => p ?? Promise.resolve())));
    await until(new Promise<void>((resolve) => res.end(resolve)));
    clean = true;
  } finally {
    await fh.close().catch(() => undefined);
    // Only recycle buffers the socket has certainly released; the others are left to the GC.
    bufs.forEach((b, j) => b && (clean || taken[j]) && give(b));
  }
}
