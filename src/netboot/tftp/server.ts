/**
 * The TFTP server loop: the request socket, the table of transfers in progress, and shutdown.
 * What to answer is decided in request.ts, which file a name is by the files port (files.ts), and
 * each transfer runs in its own Transfer (transfer.ts).
 */
import dgram from 'node:dgram';
import { bindFailure } from '../../common/errors.js';
import { labelCounters } from '../metrics.js';
import { FileCache } from './cache.js';
import { tftpConfig, type TftpServerOptions } from './config.js';
import { jailedFiles, type TftpFiles } from './files.js';
import { errorPacket } from './packet.js';
import { jailRefusal, requestedName, screenRequest, type Refusal } from './request.js';
import { Transfer, literalLookup, type TransferContext } from './transfer.js';

export interface TftpServer {
  port: number;
  address: string;
  /** Transfers in progress. */
  active(): number;
  close(): Promise<void>;
}

export async function startTftp(opts: TftpServerOptions): Promise<TftpServer> {
  const config = tftpConfig(opts);
  const { metrics, events } = config;
  const files: TftpFiles = await jailedFiles(config.root, config.files);
  const transfers = new Set<Transfer>();
  const drop = labelCounters(metrics.tftpDropped);
  const duplicateAcks = metrics.tftpDropped.labels('duplicate-ack');
  const transfersStarted = metrics.tftpTransfers.labels('started');
  let closing = false;
  const ctx: TransferContext = {
    config,
    cache: new FileCache({ maxBytes: config.cacheBytes }),
    drop,
    duplicateAck: () => duplicateAcks.inc(),
    started: () => transfersStarted.inc(),
    ended(t, result, bytes) {
      transfers.delete(t);
      metrics.tftpActive.set(transfers.size);
      metrics.tftpTransfers.inc({ result });
      metrics.tftpBytes.inc(bytes);
    },
  };

  const main = dgram.createSocket({ type: 'udp4', reuseAddr: false, lookup: literalLookup });
  main.on('error', () => undefined);
  main.on('message', (msg, rinfo) => {
    if (closing) return;
    handleRequest(msg, rinfo).catch(() => drop('internal'));
  });
  await new Promise<void>((resolve, reject) => {
    main.once('error', (e) => reject(bindFailure(e, 'TFTP', `${config.address}:${config.port}`)));
    main.bind({ address: config.address, port: config.port, exclusive: true }, () => {
      main.removeAllListeners('error');
      main.on('error', () => undefined);
      resolve();
    });
  });
  try {
    main.setRecvBufferSize(4 * 1024 * 1024);
  } catch {
    /* best effort */
  }

  const refuse = (r: Refusal, rinfo: dgram.RemoteInfo) => {
    main.send(errorPacket(r.code, r.message), rinfo.port, rinfo.address);
    drop(r.reason);
  };

  async function handleRequest(msg: Buffer, rinfo: dgram.RemoteInfo): Promise<void> {
    const s = screenRequest(msg, transfers.size >= config.maxTransfers);
    if ('drop' in s) return drop(s.drop);
    if ('refuse' in s) return refuse(s.refuse, rinfo);
    const req = s.serve;
    const found = await files.resolve(requestedName(req.filename));
    if ('refused' in found) {
      const r = jailRefusal(found.refused);
      refuse(r, rinfo);
      events.emit({ kind: 'tftp-error', at: Date.now(), ip: rinfo.address, mac: config.macForIp(rinfo.address), file: req.filename, detail: r.message });
      return;
    }
    const t = new Transfer(ctx, req, found.file, found.st, rinfo);
    transfers.add(t);
    metrics.tftpActive.set(transfers.size);
    try {
      await t.start();
    } catch (e) {
      t.finish('error', e instanceof Error ? e.message : String(e));
    }
  }

  const addr = main.address();
  return {
    port: addr.port,
    address: addr.address,
    active: () => transfers.size,
    close: async () => {
      closing = true;
      for (const t of [...transfers]) t.finish('aborted', 'server shutting down');
      ctx.cache.clear();
      await new Promise<void>((resolve) => main.close(() => resolve()));
    },
  };
}
