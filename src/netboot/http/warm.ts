/**
 * The HTTP path made ready before the first client needs it. A fresh Node process pays, on its
 * first download, for compiling every function on the way (the request parser's callbacks, the
 * router, the file answer, the sendfile body), for the native body engine's threads and for the
 * time zone's first load: measured at 5-9 ms before the first byte of a 64 MiB asset against
 * 2 ms for the second one. warmHttp runs one real download of an asset through a throwaway server
 * built from the same code: on 127.0.0.1, an ephemeral port, its own metrics, no events and no
 * log, closed at the end. Compiled code is shared by every server of the process, so the served
 * one answers its first client at its warm speed, and nothing a user sees (progress, events,
 * metrics, limits, the log) counts the warm-up. Bounded in time; a failure only means a cold start.
 */
import net from 'node:net';
import { noEvents } from '../events.js';
import { createMetrics } from '../metrics.js';
import type { HttpServerOptions } from './config.js';
import { startHttp } from './server.js';

/** How long the warm-up may take in all before it is given up. */
const WARM_MS = 2000;
/** How a 200 answer starts. */
const STATUS_OK = 'HTTP/1.1 200 ';

/**
 * Serves `asset` (a path under `opts.assets`, `/`-separated) once over loopback from a throwaway
 * server built from `opts`, reading and discarding the body. Resolves to the bytes received
 * (headers included), or 0 when the warm-up could not run or got no 200; never rejects.
 */
export async function warmHttp(opts: HttpServerOptions, asset: string, timeoutMs = WARM_MS): Promise<number> {
  let server: Awaited<ReturnType<typeof startHttp>> | undefined;
  try {
    server = await startHttp({
      address: '127.0.0.1',
      port: 0,
      resolveBoot: opts.resolveBoot,
      assets: opts.assets,
      ipxe: opts.ipxe,
      metrics: createMetrics(),
      events: noEvents,
      log: () => undefined,
      ...(opts.zeroCopy === undefined ? {} : { zeroCopy: opts.zeroCopy }),
    });
    const target = `/assets/${asset.split('/').map(encodeURIComponent).join('/')}`;
    return await download(server.port, target, timeoutMs);
  } catch {
    return 0;
  } finally {
    await server?.close().catch(() => undefined);
  }
}

/** GET `target` from 127.0.0.1:`port` with Connection: close; the bytes received until the server closes or the time is up, 0 unless the answer is 200. */
function download(port: number, target: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    let bytes = 0;
    let head = '';
    // Read into one reused buffer: the body leaves no garbage for a later collection to sweep
    // (one that would otherwise come due during the first real download).
    const into = Buffer.allocUnsafe(64 * 1024);
    const socket = net.connect({
      host: '127.0.0.1',
      port,
      onread: {
        buffer: into,
        callback: (n: number) => {
          if (head.length < STATUS_OK.length) head += into.toString('latin1', 0, Math.min(n, STATUS_OK.length - head.length));
          bytes += n;
          return true;
        },
      },
    });
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    timer.unref();
    socket.on('connect', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(head === STATUS_OK ? bytes : 0);
    });
  });
}
