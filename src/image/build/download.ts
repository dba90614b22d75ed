import { createHash } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { OperationError } from '../../common/errors.js';

/** Progress of one download: bytes so far, and the total when the server said it. */
export type ProgressFn = (done: number, total: number | undefined) => void;

export interface Downloaded {
  file: string;
  bytes: number;
  sha256: string;
}

/** Fetches a URL into a file. Implementations write only complete, verified files. */
export interface Downloader {
  download(url: string, dest: string, onProgress: ProgressFn): Promise<Downloaded>;
}

/**
 * Downloads over HTTP(S) with the runtime's fetch: the body streams into a temporary file beside
 * the destination while its sha256 is computed; the file is renamed into place only when the
 * byte count matches Content-Length (when sent) and the stream ended cleanly. Any failure removes
 * the temporary file, so a dropped connection never leaves a partial image behind.
 */
export class HttpDownloader implements Downloader {
  constructor(private readonly timeoutMs = 30 * 60_000) {}

  async download(url: string, dest: string, onProgress: ProgressFn): Promise<Downloaded> {
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.${randomBytes(6).toString('hex')}.part`);
    const host = safeHost(url);
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs), redirect: 'follow' });
    } catch (err) {
      throw new OperationError(`the network is unreachable: cannot reach ${host} (${networkReason(err)})`);
    }
    if (!res.ok || !res.body) {
      const body = await res.text().catch(() => '');
      const detail = body.trim().split('\n')[0]?.slice(0, 200);
      throw new OperationError(`${url}: HTTP ${res.status} ${res.statusText}${detail ? ` (${detail})` : ''}`);
    }
    const lengthHeader = res.headers.get('content-length');
    const total = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
    const hash = createHash('sha256');
    const fh = await fsp.open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
    let done = 0;
    try {
      onProgress(0, total);
      const reader = res.body.getReader();
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (err) {
          throw new OperationError(`download of ${url} broke off after ${done} bytes: ${networkReason(err)}`);
        }
        if (chunk.done) break;
        hash.update(chunk.value);
        await fh.write(chunk.value);
        done += chunk.value.byteLength;
        onProgress(done, total);
      }
      if (total !== undefined && done !== total) {
        throw new OperationError(`download of ${url} is incomplete: got ${done} of ${total} bytes`);
      }
      await fh.sync();
      await fh.close();
      await fsp.rename(tmp, dest);
    } catch (err) {
      await fh.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    return { file: dest, bytes: done, sha256: hash.digest('hex') };
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function networkReason(err: unknown): string {
  const e = err as { cause?: { code?: string; message?: string }; code?: string; message?: string; name?: string };
  if (e?.name === 'TimeoutError') return 'timed out';
  const code = e?.cause?.code ?? e?.code;
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') return `the connection was closed (${code})`;
  return code ?? e?.cause?.message ?? e?.message ?? String(err);
}
