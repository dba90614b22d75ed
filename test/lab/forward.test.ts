/** The lab's HTTP relay chain on loopback: 127.0.0.1:PORT -> Unix socket -> the HTTP server. */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { it } from 'node:test';
import { startRelay } from '../../src/lab/forward.js';
import { tmpDir } from '../helpers/cli.js';
import { rejectsWithin, within, WAIT_MS } from '../helpers/within.js';

it('relays requests and streamed responses both ways, and closes cleanly', async () => {
  const server = createServer((req, res) => {
    if (req.url === '/stream') {
      // A response that stays open (like /api/events): the relay must pass chunks as they come.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      return;
    }
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => res.end(`${req.method} ${req.url} ${body}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const sock = path.join(tmpDir('lab-relay'), 'http.sock');
  const inner = await startRelay({ path: sock }, { host: '127.0.0.1', port });
  const outer = await startRelay({ host: '127.0.0.1', port: 0 }, { path: sock });
  try {
    assert.equal(statSync(sock).mode & 0o777, 0o600, 'only the owner may connect');
    const base = `http://127.0.0.1:${outer.port}`;
    const r = await fetch(`${base}/api/machines`, { method: 'POST', body: 'x'.repeat(100_000) });
    assert.equal(await r.text(), `POST /api/machines ${'x'.repeat(100_000)}`);
    const ac = new AbortController();
    const s = await fetch(`${base}/stream`, { signal: ac.signal });
    const first = await within(WAIT_MS, 'the first event through the relays', s.body!.getReader().read());
    assert.equal(Buffer.from(first.value!).toString(), 'data: one\n\n');
    // Closing with a stream still open must not hang.
    await within(WAIT_MS, 'the outer relay to close with a stream open', outer.close());
    await within(WAIT_MS, 'the inner relay to close with a stream open', inner.close());
    ac.abort();
    assert.equal(existsSync(sock), false, 'the socket file is removed');
    await rejectsWithin(WAIT_MS, 'a refusal on the closed relay port', fetch(`${base}/api/machines`));
  } finally {
    await within(WAIT_MS, 'the outer relay to close', outer.close());
    await within(WAIT_MS, 'the inner relay to close', inner.close());
    server.closeAllConnections();
    await within(WAIT_MS, 'the upstream server to close', new Promise((r) => server.close(r)));
  }
});
