/**
 * The HTTP side of network boot (node:http): /boot.ipxe, the per-machine iPXE script, the iPXE
 * binaries (UEFI HTTP boot), the assets (Range, HEAD, ETag; streamed from disk), /api/machines,
 * /metrics and /healthz. Built in layers, like matchbox:
 *
 *   config.ts    the options (ports: resolveBoot, macForIp, machines) and the resolved config
 *   routes.ts    one handler per route, request -> response, no sockets; the router
 *   files.ts     ETag / Range / conditional answers for a file (pure)
 *   exchange.ts  the request and response shapes handlers use
 *   server.ts    node:http: dispatch, writing responses, streaming files, metrics (startHttp)
 *   stream.ts    file bytes to the socket with bounded memory
 *   warm.ts      one loopback download at start, so the first client's is not a cold one
 */
export { startHttp, type HttpServer } from './server.js';
export { warmHttp } from './warm.js';
export type { HttpServerOptions } from './config.js';
export { parseRange } from './files.js';
