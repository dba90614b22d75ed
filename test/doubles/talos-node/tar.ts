/** Writes a one-file ustar archive, gzip-compressed: the Kubeconfig payload of a Talos node. */
import { gzipSync } from 'node:zlib';

function put(h: Buffer, text: string, at: number, len: number): void {
  h.write(text.slice(0, len), at, len, 'utf8');
}

function octal(n: number, len: number): string {
  return n.toString(8).padStart(len - 1, '0') + '\0';
}

export function tarGzOneFile(name: string, data: Buffer, mode = 0o600, mtime = new Date()): Buffer {
  const h = Buffer.alloc(512);
  put(h, name, 0, 100);
  put(h, octal(mode, 8), 100, 8);
  put(h, octal(0, 8), 108, 8);
  put(h, octal(0, 8), 116, 8);
  put(h, octal(data.length, 12), 124, 12);
  put(h, octal(Math.floor(mtime.getTime() / 1000), 12), 136, 12);
  h.fill(0x20, 148, 156);
  h[156] = '0'.charCodeAt(0);
  put(h, 'ustar\0', 257, 6);
  put(h, '00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(h, sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return gzipSync(Buffer.concat([h, data, pad, Buffer.alloc(1024)]));
}
