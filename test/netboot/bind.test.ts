/**
 * A taken port is a BindError (an InputError: exit code 2) raised by the server that failed to
 * bind, naming the service and the address. Loopback only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BindError, InputError, exitCodeFor } from '../../src/common/errors.js';
import { startHttp, type HttpServer } from '../../src/netboot/http/index.js';
import { createMetrics } from '../../src/netboot/metrics.js';
import { resolveBoot } from '../../src/netboot/render/index.js';
import { startTftp, type TftpServer } from '../../src/netboot/tftp/index.js';
import { SPEC_YAML, makeTree, specFrom, type Tree } from './lib.js';

describe('bind failures', () => {
  let tree: Tree;
  let http: HttpServer;
  let tftp: TftpServer;
  const spec = specFrom(SPEC_YAML()).spec;
  const httpOpts = (port: number) => ({ address: '127.0.0.1', port, resolveBoot: (c: object) => resolveBoot(spec, c), assets: tree.assets, ipxe: tree.ipxe, metrics: createMetrics() });
  before(async () => {
    tree = makeTree();
    http = await startHttp(httpOpts(0));
    tftp = await startTftp({ address: '127.0.0.1', port: 0, root: tree.assets, metrics: createMetrics() });
  });
  after(async () => {
    await http.close();
    await tftp.close();
    tree.cleanup();
  });

  it('HTTP on a taken port', async () => {
    const err = await startHttp(httpOpts(http.port)).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof BindError, String(err));
    assert.ok(err instanceof InputError);
    assert.equal(exitCodeFor(err), 2);
    assert.equal(err.code, 'EADDRINUSE');
    assert.equal(err.message, `HTTP port already in use on 127.0.0.1:${http.port} (another DHCP/TFTP/HTTP server running? use --http-port/--tftp-port)`);
  });

  it('TFTP on a taken port', async () => {
    const err = await startTftp({ address: '127.0.0.1', port: tftp.port, root: tree.assets, metrics: createMetrics() }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof BindError, String(err));
    assert.equal(err.code, 'EADDRINUSE');
    assert.equal(err.service, 'TFTP');
    assert.equal(err.where, `127.0.0.1:${tftp.port}`);
  });
});
