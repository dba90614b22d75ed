/** Copying a slice of a file to an HTTP response with bounded, reused memory. */
import { open } from 'node:fs/promises';
import type http from 'node:http';

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
 * Copies bytes [start, end] of a file to the response with two reused buffers: the next chunk is
 * read while the previous one is being written, and a buffer is reused only after the socket has
 * taken it (the write callback). Memory per download: 2 x CHUNK, whatever the file size.
 */
export async function streamFile(file: string, res: http.ServerResponse, start: number, end: number, onBytes: (n: number) => void): Promise<void> {
  const fh = await open(file, 'r');
  const bufs = [take(), take()];
  const pending: (Promise<void> | undefined)[] = [undefined, undefined];
  let clean = false;
  try {
    let pos = start;
    for (let i = 0; pos <= end; i ^= 1) {
      await pending[i]; // the buffer we are about to fill has been handed to the kernel
      if (res.destroyed) throw new Error('client went away');
      const buf = bufs[i]!;
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, end - pos + 1), pos);
      if (bytesRead === 0) throw new Error('file shrank while being sent');
      pos += bytesRead;
      const chunk = bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead);
      pending[i] = new Promise<void>((resolve, reject) => res.write(chunk, (err) => (err ? reject(err) : (onBytes(bytesRead), resolve()))));
      pending[i]!.catch(() => undefined);
    }
    await Promise.all(pending);
    await new Promise<void>((resolve) => res.end(resolve));
    clean = true;
  } finally {
    await fh.close().catch(() => undefined);
    // Only recycle buffers the socket has certainly released; after an error leave them to the GC.
    if (clean) bufs.forEach(give);
  }
}
