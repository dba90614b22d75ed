/**
 * The lab's HTTP (the netboot server's dashboard, /api/machines, /metrics) from the host. The server
 * listens inside the lab namespace, which the host cannot reach; a Unix socket in the lab directory
 * can be (file-system paths are not per network namespace). So the lab netboot process relays that
 * socket to its HTTP port, and `up --http PORT` starts a relay from 127.0.0.1:PORT to the socket.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { chmodSync, rmSync } from 'node:fs';

export const HTTP_SOCKET = 'http.sock';

/** Connections relayed at once; more are refused (closed) until some end. */
const MAX_CONNECTIONS = 256;

export interface Relay {
  /** The port listened on (TCP relays). */
  port?: number;
  close(): Promise<void>;
}

/** Listens on `listen` (a Unix socket path or a loopback port) and relays each connection to `target`. */
export function startRelay(listen: { path: string } | { host: string; port: number }, target: { path: string } | { host: string; port: number }): Promise<Relay> {
  if ('path' in listen) rmSync(listen.path, { force: true });
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(target);
    open.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.maxConnections = MAX_CONNECTIONS;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of open) s.destroy();
      if ('path' in listen) rmSync(listen.path, { force: true });
    });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const ready = () => {
      server.off('error', reject);
      // Only root (who runs the lab) may connect: the server may hand out machine configs.
      if ('path' in listen) chmodSync(listen.path, 0o600);
      const addr = server.address();
      resolve({ ...(typeof addr === 'object' && addr ? { port: addr.port } : {}), close });
    };
    if ('path' in listen) server.listen(listen.path, ready);
    else server.listen(listen.port, listen.host, ready);
  });
}

/** The line `up` waits for in the relay's log. */
export const FORWARDING = 'hearth lab http: forwarding';

/** The host-side relay (`hearth lab _forward`): 127.0.0.1:PORT to the lab's socket, until SIGTERM/SIGINT. */
export async function serveForward(socket: string, port: number, log: (line: string) => void): Promise<void> {
  const relay = await startRelay({ host: '127.0.0.1', port }, { path: socket });
  log(`${FORWARDING} http://127.0.0.1:${relay.port} to the lab netboot server`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await relay.close();
}
