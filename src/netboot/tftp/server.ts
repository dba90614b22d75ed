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
import { LimitNotices } from './notices.js';
import { jailRefusal, requestedName, screenRequest, slotRefusal, type Refusal } from './request.js';
import { TransferSlots, type Slot } from './slots.js';
import { literalLookup } from './socket.js';
import { Transfer, type TransferContext } from './transfer.js';

export interface TftpServer {
  port: number;
  address: string;
  /** Transfer slots taken now (transfers in progress and requests being opened). */
  active(): number;
  close(): Promise<void>;
}

export async function startTftp(opts: TftpServerOptions): Promise<TftpServer> {
  const config = tftpConfig(opts);
  const { metrics, events } = config;
  const files: TftpFiles = await jailedFiles(config.root, config.files);
  const transfers = new Set<Transfer>();
  const slots = new TransferSlots({ ...config, ownAddress: config.address });
  const notices = new LimitNotices(config.log, config.noticeIntervalMs);
  const limited = labelCounters(metrics.tftpLimited);
  /** A limit bit: counted in hearth_tftp_limited_total and noted in the (rate-limited) log. */
  const limit = (kind: string, detail: string) => {
    limited(kind);
    notices.note(kind, detail, Date.now());
  };
  const drop = labelCounters(metrics.tftpDropped);
  const duplicateAcks = metrics.tftpDropped.labels('duplicate-ack');
  const transfersStarted = metrics.tftpTransfers.labels('started');
  let closing = false;
  const ctx: TransferContext = {
    config,
    cache: new FileCache({ maxBytes: config.cacheBytes }),
    drop,
    duplicateAck: (n = 1) => duplicateAcks.inc(n),
    started: () => transfersStarted.inc(),
    stalled: (t) => limit('stalled', `ended a transfer to ${t.peer} that acknowledged nothing for ${config.maxStallMs} ms`),
    ended(t, result, bytes) {
      transfers.delete(t);
      slots.release(t.slot);
      metrics.tftpActive.set(slots.size);
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
    const s = screenRequest(msg);
    if ('drop' in s) return drop(s.drop);
    if ('refuse' in s) return refuse(s.refuse, rinfo);
    const req = s.serve;
    // The slot is taken before the first await, so concurrent requests cannot overshoot the caps.
    const adm = slots.admit(rinfo.address, Date.now());
    if ('refused' in adm) {
      refuse(slotRefusal(adm.refused), rinfo);
      limit(adm.refused, adm.refused === 'busy' ? `all ${config.maxTransfers} slots busy, refused ${rinfo.address}` : `${rinfo.address} already holds ${config.maxPerClient} transfers`);
      return;
    }
    const slot = adm.admitted;
    if (adm.evicted) takeOver(adm.evicted, rinfo.address);
    metrics.tftpActive.set(slots.size);
    let t: Transfer | undefined;
    try {
      const found = await files.resolve(requestedName(req.filename));
      // Closed, or the slot was taken over, while the name was being resolved.
      if (closing || slot.evict) return;
      if ('refused' in found) {
        const r = jailRefusal(found.refused);
        refuse(r, rinfo);
        events.emit({ kind: 'tftp-error', at: Date.now(), ip: rinfo.address, mac: config.macForIp(rinfo.address), file: req.filename, detail: r.message });
        return;
      }
      const tr = (t = new Transfer(ctx, req, found.file, found.st, rinfo, slot));
      slot.evict = () => tr.finish('aborted', 'its slot went to another client');
      transfers.add(tr);
      await tr.start();
    } catch (e) {
      t?.finish('error', e instanceof Error ? e.message : String(e));
    } finally {
      // A slot without a transfer is given back here; a transfer gives its own back when it ends.
      if (!t) {
        slots.release(slot);
        metrics.tftpActive.set(slots.size);
      }
    }
  }

  /** Ends the holder of a slot the table handed to `newcomer`. */
  function takeOver(victim: Slot, newcomer: string): void {
    limit('evicted', `gave the slot of ${victim.address} (silent ${Date.now() - victim.lastProgress()} ms) to ${newcomer}`);
    const end = victim.evict;
    // Not yet a transfer (still resolving its name): mark it so it stops when the lookup returns.
    victim.evict = () => undefined;
    end?.();
  }

  const addr = main.address();
  return {
    port: addr.port,
    address: addr.address,
    active: () => slots.size,
    close: async () => {
      closing = true;
      for (const t of [...transfers]) t.finish('aborted', 'server shutting down');
      ctx.cache.clear();
      await new Promise<void>((resolve) => main.close(() => resolve()));
    },
  };
}
