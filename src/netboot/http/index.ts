/**
 * The HTTP side of network boot: /boot.ipxe, the per-machine iPXE script, the iPXE binaries (UEFI
 * HTTP boot), the assets (Range, HEAD, ETag; sent by sendfile(2)), /api/machines, /metrics and
 * /healthz. Built in layers, like matchbox:
 *
 *   config.ts    the options (ports: resolveBoot, macForIp, machines) and the resolved config
 *   routes.ts    one handler per route, request -> response, no sockets; the router
 *   files.ts     ETag / Range / conditional answers for a file (pure)
 *   exchange.ts  the request and response shapes handlers use
 *   server.ts    admission, dispatch to the handlers, request metrics (startHttp)
 *   front.ts     the connection loop: GET/HEAD read and answered without node:http (head.ts
 *                parses, outgoing.ts writes); any other request hands the connection to node:http
 *   respond.ts   a response's head and body out, by either path, under the send timeout
 *   sendfile.ts  file bytes by sendfile(2) (the native addon); stream.ts copies when it is absent
 *   warm.ts      one loopback download at start, so the first client's is not a cold one
 */
export { startHttp, type HttpServer } from './server.js';
export { warmHttp } from './warm.js';
export type { HttpServerOptions } from './config.js';
export { parseRange } from './files.js';
