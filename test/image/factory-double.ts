import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * FactoryTestDouble: an Image Factory stand-in on 127.0.0.1 that serves the factory's HTTP
 * frontend URL scheme, GET /image/<schematic id>/<version>/<file>, for the files it was given.
 * Bodies go out in several chunks with a pause between them (so clients see progress), with a
 * correct Content-Length. Files listed in `dropAfterHalf` are cut off halfway by destroying the
 * socket, like a connection that breaks mid-download. Anything else is a 404, as the factory
 * answers for an unknown asset.
 */
export class FactoryTestDouble {
  private server: Server | undefined;
  readonly requests: string[] = [];

  constructor(
    private readonly files: Map<string, Buffer>,
    private readonly opts: { dropAfterHalf?: Set<string>; chunks?: number; pauseMs?: number } = {},
  ) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.requests.push(req.url ?? '');
      const m = /^\/image\/([0-9a-f]{64})\/(v[0-9][^/]*)\/([^/]+)$/.exec(req.url ?? '');
      const body = m ? this.files.get(m[3]!) : undefined;
      if (req.method !== 'GET' || !m || !body) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('404 page not found\n');
        return;
      }
      const name = m[3]!;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
      const chunks = this.opts.chunks ?? 8;
      const size = Math.ceil(body.length / chunks);
      const drop = this.opts.dropAfterHalf?.has(name);
      let i = 0;
      const next = () => {
        if (drop && i * size >= body.length / 2) {
          res.socket?.destroy();
          return;
        }
        if (i * size >= body.length) {
          res.end();
          return;
        }
        res.write(body.subarray(i * size, (i + 1) * size));
        i++;
        setTimeout(next, this.opts.pauseMs ?? 15);
      };
      next();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
