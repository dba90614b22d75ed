/**
 * A VM's serial console file: its last lines (status, `console --lines N`) and following it as it
 * grows (`console NAME`), bounded by Ctrl-C or the VM's end.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

/** Reads at most `max` bytes of `file` from `from`. */
function readFrom(file: string, from: number, max: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(max);
    const n = readSync(fd, buf, 0, max, from);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Console text made readable: terminal escape sequences and control characters removed, CR LF -> LF. */
export function plainText(text: string): string {
  return text
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[()][0-9A-Za-z]|\x1b[0-~]/g, '')
    .replace(/\r\n?/g, '\n')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}

/** The last `n` non-empty lines of the console (read from its last 64 KiB). */
export function tailLines(file: string, n: number): string[] {
  if (n <= 0 || !existsSync(file)) return [];
  const size = statSync(file).size;
  const chunk = Math.min(size, 64 * 1024);
  const text = plainText(readFrom(file, size - chunk, chunk).toString('utf8'));
  return text.split('\n').filter((l) => l.trim() !== '').slice(-n);
}

/**
 * Writes what is appended to `file` after `from` to `write`, polling every `pollMs`, until
 * `stop()` says so (Ctrl-C, the VM has exited); the rest is flushed before it returns.
 */
export async function follow(file: string, from: number, write: (chunk: Buffer) => void, stop: () => boolean, pollMs = 200): Promise<void> {
  let pos = from;
  const drain = () => {
    const size = existsSync(file) ? statSync(file).size : 0;
    if (size < pos) pos = 0; // the file was started anew (a new `up`)
    while (pos < size) {
      const buf = readFrom(file, pos, Math.min(size - pos, 64 * 1024));
      if (buf.length === 0) break;
      pos += buf.length;
      write(buf);
    }
  };
  while (!stop()) {
    drain();
    await new Promise((r) => setTimeout(r, pollMs));
  }
  drain();
}
