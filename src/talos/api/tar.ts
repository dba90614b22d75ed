/**
 * Reads the one file of a gzip-compressed tar archive, the shape Talos streams from Kubeconfig.
 * Deliberately narrow: ustar/GNU headers with verified checksums, regular files only, bounded size;
 * anything else (links, devices, several files, truncation) is refused.
 */
import { gunzipSync } from 'node:zlib';

const BLOCK = 512;
const MAX_UNPACKED = 16 * 1024 * 1024;

export class TarError extends Error {
  override name = 'TarError';
}

function field(h: Buffer, start: number, len: number): string {
  const raw = h.subarray(start, start + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? len : nul).toString('utf8');
}

function octal(h: Buffer, start: number, len: number, what: string): number {
  const text = field(h, start, len).trim();
  if (!/^[0-7]*$/.test(text)) throw new TarError(`bad ${what} field in tar header`);
  return text === '' ? 0 : parseInt(text, 8);
}

function checksumOk(h: Buffer): boolean {
  const stored = octal(h, 148, 8, 'checksum');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === stored;
}

export interface TarFile {
  name: string;
  mode: number;
  data: Buffer;
}

/** The single regular file in a .tar.gz; throws TarError on anything unexpected. */
export function untarSingleFile(gz: Buffer): TarFile {
  let tar: Buffer;
  try {
    tar = gunzipSync(gz, { maxOutputLength: MAX_UNPACKED });
  } catch (err) {
    throw new TarError(`not a gzip stream: ${(err as Error).message}`);
  }
  const files: TarFile[] = [];
  let off = 0;
  while (off + BLOCK <= tar.length) {
    const h = tar.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break; // end-of-archive marker
    if (!checksumOk(h)) throw new TarError('tar header checksum mismatch');
    const size = octal(h, 124, 12, 'size');
    const type = String.fromCharCode(h[156]!);
    const prefix = field(h, 345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(h, 0, 100);
    const dataStart = off + BLOCK;
    if (dataStart + size > tar.length) throw new TarError(`tar entry ${name} is truncated`);
    if (type === '0' || type === '\0') {
      files.push({ name, mode: octal(h, 100, 8, 'mode'), data: Buffer.from(tar.subarray(dataStart, dataStart + size)) });
    } else if (type !== '5') {
      throw new TarError(`tar entry ${name} has unsupported type "${type}"`);
    }
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
  if (files.length !== 1) throw new TarError(`expected one file in the archive, found ${files.length}`);
  return files[0]!;
}
