/**
 * The soak's load generator (bench/netboot/soak.ts starts it inside the client namespace; not
 * meant to be run by hand). One phase per process, given as JSON in argv[2]:
 *   { mode: 'dhcp' | 'tftp' | 'http' | 'slow', count, seed, deadline, server, ... }
 * Prints `{"progress":n}` lines while it works and one `{"result":{...}}` line at the end.
 * Every loop is bounded by its count and by `deadline` (epoch ms).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { metricSum } from '../../test/netboot/dhcp-lab.js';
import { intOf, rng, tftpTemplates, type Rng } from '../../test/netboot/fuzz.js';
import { rrqPacket } from '../../src/netboot/tftp/packet.js';
import { dhcpDatagram, httpAttempt, soakMacs, tftpPacket } from './soak-gen.js';

interface Job {
  mode: 'dhcp' | 'tftp' | 'http' | 'slow';
  count: number;
  seed: number;
  deadline: number;
  /** Server address (HTTP on 8080, TFTP on 69, DHCP on 67). */
  server: string;
  /** Local addresses to spread TCP connections over. */
  sources: string[];
  macs?: number;
  floodShare?: number;
  /** UDP: packets sent but not yet counted by /metrics before the sender waits. */
  window?: number;
  /** TFTP: transfers opened and never acknowledged. */
  stalled?: number;
  concurrency?: number;
  /** HTTP: per-connection limit, ms. */
  timeoutMs?: number;
  /** slow: how long the slow clients hold on, ms. */
  holdMs?: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The content of the file outside the served trees: in a reply, it leaked. */
const MARKER = 'HEARTH-SOAK-SECRET';
/** TFTP ERROR 0 "x": ends a transfer. */
const CANCEL = Buffer.from([0, 5, 0, 0, 0x78, 0]);
const kinds: Record<string, number> = {};
const tally = (k: string, n = 1) => (kinds[k] = (kinds[k] ?? 0) + n);

async function metrics(): Promise<string> {
  try {
    const res = await fetch(`http://${job.server}:8080/metrics`, { signal: AbortSignal.timeout(5000) });
    return await res.text();
  } catch {
    return '';
  }
}

/**
 * Sends `count` datagrams from `next`, `batch` at a time, and waits (bounded) whenever more than
 * `window` of them are not yet counted by the server's /metrics (`counted`), so that the kernel
 * does not drop them for us: what the server receives is what we sent. A datagram `next` marks
 * `unpaced` is sent but left out of that count (`counted` must leave it out too): one to a port
 * that may have closed meanwhile, which the server then never sees.
 */
async function pacedUdp(
  next: () => { data: Buffer; port: number; ip: string; unpaced?: boolean },
  counted: (m: string) => number,
  reply: (sock: dgram.Socket, m: Buffer, port: number) => void = () => undefined,
): Promise<Record<string, unknown>> {
  const window = job.window ?? 2048;
  const base = counted(await metrics());
  let sent = 0;
  let sentUnpaced = 0;
  let attempted = 0;
  const sendErrors: Record<string, number> = {};
  let stalls = 0;
  let lastCounted = base;
  let lastProgress = Date.now();
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, () => r()));
  sock.setBroadcast(true);
  let replies = 0;
  sock.on('message', (m, rinfo) => {
    replies++;
    reply(sock, m, rinfo.port);
  });
  sock.on('error', (e: NodeJS.ErrnoException) => (sendErrors[`socket-${e.code}`] = (sendErrors[`socket-${e.code}`] ?? 0) + 1));
  while (attempted < job.count && Date.now() < job.deadline) {
    const batch: Promise<void>[] = [];
    for (let i = 0; i < 128 && attempted < job.count; i++) {
      const p = next();
      attempted++;
      batch.push(
        new Promise((r) =>
          sock.send(p.data, p.port, p.ip, (e) => {
            if (e) sendErrors[(e as NodeJS.ErrnoException).code ?? 'error'] = (sendErrors[(e as NodeJS.ErrnoException).code ?? 'error'] ?? 0) + 1;
            else if (p.unpaced) sentUnpaced++;
            else sent++;
            r();
          }),
        ),
      );
    }
    await Promise.all(batch);
    if (sent - (lastCounted - base) > window) {
      const until = Date.now() + 5000;
      for (;;) {
        lastCounted = counted(await metrics());
        if (sent - (lastCounted - base) <= window / 2) break;
        if (Date.now() > until || Date.now() > job.deadline) {
          stalls++;
          break;
        }
        await sleep(5);
      }
    }
    if (Date.now() - lastProgress > 2000) {
      out({ progress: sent + sentUnpaced });
      lastProgress = Date.now();
    }
  }
  // Let the server catch up with the tail (bounded).
  for (let i = 0; i < 200 && counted(await metrics()) - base < sent; i++) await sleep(25);
  const final = counted(await metrics()) - base;
  sock.close();
  return { sent: sent + sentUnpaced, sentUnpaced, attempted, sendErrors, replies, countedByServer: final, paceStalls: stalls };
}

async function dhcp(r: Rng): Promise<Record<string, unknown>> {
  const mix = { macs: soakMacs(job.macs ?? 32), floodShare: job.floodShare ?? 0.001 };
  return pacedUdp(
    () => {
      const d = dhcpDatagram(r, mix);
      tally(d.kind);
      return { data: d.data, port: 67, ip: d.broadcast ? '255.255.255.255' : job.server };
    },
    (m) => metricSum(m, 'hearth_dhcp_packets_received_total'),
  );
}

/** Opens a transfer of `file` and never acknowledges it; resolves with the transfer's port. */
async function stalledTransfer(file: string, opts: Record<string, number>): Promise<{ sock: dgram.Socket; port: number | undefined }> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, () => r()));
  const port = await new Promise<number | undefined>((resolve) => {
    const t = setTimeout(() => resolve(undefined), 3000);
    // A refusal (busy, over the per-address share) comes from the request port: not a transfer.
    sock.once('message', (_m, rinfo) => (clearTimeout(t), resolve(rinfo.port === 69 ? undefined : rinfo.port)));
    sock.send(rrqPacket(file, 'octet', opts), 69, job.server);
  });
  return { sock, port };
}

async function tftp(r: Rng): Promise<Record<string, unknown>> {
  const abortedAt = async () => metricSum(await metrics(), 'hearth_tftp_transfers_total', 'result="aborted"');
  const abortedBefore = await abortedAt();
  const holders: { sock: dgram.Socket; port: number | undefined; timeout: number }[] = [];
  for (let i = 0; i < (job.stalled ?? 32); i++) {
    const timeout = i === 0 ? 255 : [1, 5, 30, 255][intOf(r, 4)]!;
    const h = await stalledTransfer('initramfs', { timeout, blksize: [512, 1468, 8192, 65464][intOf(r, 4)]!, windowsize: [1, 8, 64][intOf(r, 3)]! });
    holders.push({ ...h, timeout });
  }
  let cancelled = 0;
  const leaks: string[] = [];
  const live = holders.filter((h) => h.timeout === 255 && h.port !== undefined).map((h) => h.port!);
  const templates = tftpTemplates(r);
  const res = await pacedUdp(
    () => {
      const p = tftpPacket(r, templates, 'small.bin');
      tally(p.kind);
      // A stalled transfer's port closes once the server gives up on its silent client (its
      // longest stall), so what is sent there is not paced: the server may never see it.
      const toTransfer = p.to === 'transfer' && live.length > 0;
      return { data: p.data, port: toTransfer ? live[intOf(r, live.length)]! : 69, ip: job.server, unpaced: toTransfer };
    },
    (m) =>
      metricSum(m, 'hearth_tftp_packets_dropped_total') -
      metricSum(m, 'hearth_tftp_packets_dropped_total', 'reason="unknown-tid"') +
      metricSum(m, 'hearth_tftp_transfers_total', 'result="started"'),
    // Transfers of the small file that bad-option requests start are cancelled as soon as they answer.
    (sock, m, port) => {
      if (m.includes(MARKER) && leaks.length < 20) leaks.push(`TFTP reply from port ${port}`);
      if (port !== 69 && m.length >= 2 && (m.readUInt16BE(0) === 3 || m.readUInt16BE(0) === 6)) {
        cancelled++;
        sock.send(CANCEL, port, job.server);
      }
    },
  );
  const before = await metrics();
  const activeBeforeCancel = metricSum(before, 'hearth_tftp_active_transfers');
  // Stalled transfers whose slot went to a newer request from the same address, and the like.
  const abortedDuring = metricSum(before, 'hearth_tftp_transfers_total', 'result="aborted"') - abortedBefore;
  for (const h of holders) {
    if (h.port !== undefined) h.sock.send(CANCEL, h.port, job.server);
  }
  await sleep(1000);
  holders.forEach((h) => h.sock.close());
  const after = await metrics();
  const activeAfter = metricSum(after, 'hearth_tftp_active_transfers');
  // Transfers a client's ERROR ended in that second: the released holders, and any of the load's.
  const endedByClient = metricSum(after, 'hearth_tftp_transfers_total', 'result="client-error"') - metricSum(before, 'hearth_tftp_transfers_total', 'result="client-error"');
  return { ...res, leaks, cancelled, stalledTransfers: holders.length, stalledOpened: holders.filter((h) => h.port !== undefined).length, activeBeforeCancel, activeAfter, endedByClient, abortedDuring };
}


/** One TCP exchange: connect, write, read until the server closes or the time limit. */
function exchange(data: Buffer, halfClose: boolean, source: string, timeoutMs: number): Promise<{ outcome: string; head: string; statuses: string[] }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: job.server, port: 8080, localAddress: source });
    let got = Buffer.alloc(0);
    let err = '';
    const t = setTimeout(() => {
      err = 'timeout';
      s.destroy();
    }, timeoutMs);
    s.on('connect', () => {
      s.write(data);
      if (halfClose) s.end();
    });
    s.on('data', (d: Buffer) => {
      if (got.length < 256 * 1024) got = Buffer.concat([got, d]);
    });
    s.on('error', (e: NodeJS.ErrnoException) => (err ||= e.code ?? 'error'));
    s.on('close', () => {
      clearTimeout(t);
      const text = got.toString('latin1');
      const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => m[1]!);
      resolve({ outcome: err || (statuses.length ? 'answered' : 'closed-silently'), head: text, statuses });
    });
  });
}

async function http(r: Rng): Promise<Record<string, unknown>> {
  const statuses: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  const leaks: string[] = [];
  const serverErrors: Record<string, number> = {};
  const serverErrorExamples: string[] = [];
  let requests = 0;
  let attempts = 0;
  let lastProgress = Date.now();
  const conc = job.concurrency ?? 64;
  const worker = async (w: number) => {
    while (requests < job.count && Date.now() < job.deadline) {
      const a = httpAttempt(r, '/assets/small.bin');
      requests += a.requests;
      attempts++;
      tally(a.kind, a.requests);
      const source = job.sources[(attempts + w) % job.sources.length]!;
      const res = await exchange(a.data, a.halfClose, source, job.timeoutMs ?? 5000);
      outcomes[res.outcome] = (outcomes[res.outcome] ?? 0) + 1;
      for (const s of res.statuses) statuses[s] = (statuses[s] ?? 0) + 1;
      if (res.statuses.some((x) => x.startsWith('5'))) {
        serverErrors[a.kind] = (serverErrors[a.kind] ?? 0) + 1;
        if (serverErrorExamples.length < 5) serverErrorExamples.push(a.data.toString('latin1').split('\r\n')[0]!.slice(0, 120));
      }
      if ((res.head.includes(MARKER) || res.head.includes('root:x:0:0')) && leaks.length < 20) leaks.push(a.data.toString('latin1').slice(0, 200));
      if (Date.now() - lastProgress > 2000) {
        out({ progress: requests });
        lastProgress = Date.now();
      }
    }
  };
  await Promise.all(Array.from({ length: conc }, (_, w) => worker(w)));
  return { sent: requests, connections: attempts, statuses, outcomes, leaks, serverErrors, serverErrorExamples };
}

/**
 * Slow clients, held for holdMs: trickle a request a byte at a time, stall in the headers, stall
 * in a body, and download a large file without reading it. Reports which the server closed.
 */
async function slow(r: Rng): Promise<Record<string, unknown>> {
  const kindsOf = ['trickle', 'stall-headers', 'stall-body', 'no-read'] as const;
  const state = { closedByServer: {} as Record<string, number>, answered: {} as Record<string, number>, opened: {} as Record<string, number> };
  const socks: net.Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  const bump = (o: Record<string, number>, k: string) => (o[k] = (o[k] ?? 0) + 1);
  let ending = false;
  const holdMs = job.holdMs ?? 30_000;
  const request = Buffer.from('GET /healthz HTTP/1.1\r\nHost: 192.0.2.1\r\nConnection: close\r\n\r\n');
  /** A trickled request is complete at half the hold time, so whether it is answered shows. */
  const trickleMs = Math.max(10, Math.floor(holdMs / 2 / request.length));
  for (let i = 0; i < job.count; i++) {
    const kind = kindsOf[i % kindsOf.length]!;
    const s = net.connect({ host: job.server, port: 8080, localAddress: job.sources[i % job.sources.length] });
    socks.push(s);
    bump(state.opened, kind);
    let answered = false;
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      if (!answered && /^HTTP\/1\.1 \d{3}/.test(d.toString('latin1', 0, 12))) {
        answered = true;
        bump(state.answered, kind);
      }
    });
    s.on('close', () => {
      if (!ending) bump(state.closedByServer, kind);
    });
    s.on('connect', () => {
      if (kind === 'trickle') {
        let k = 0;
        const t = setInterval(() => (k < request.length && !s.destroyed ? s.write(request.subarray(k, ++k)) : clearInterval(t)), trickleMs);
        timers.push(t);
      } else if (kind === 'stall-headers') s.write('GET /assets/small.bin HTTP/1.1\r\nHost: 192.0.2.1\r\nX-Slow: ');
      else if (kind === 'stall-body') {
        s.write('POST /healthz HTTP/1.1\r\nHost: 192.0.2.1\r\nContent-Length: 1000000\r\n\r\n');
        const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write('x')), trickleMs);
        timers.push(t);
      } else {
        s.write('GET /assets/initramfs HTTP/1.1\r\nHost: 192.0.2.1\r\n\r\n');
        s.once('data', () => s.pause()); // read the first chunk (the status), then never again
      }
    });
    if (i % 50 === 49) await sleep(10 + intOf(r, 10));
  }
  const until = Math.min(Date.now() + holdMs, job.deadline);
  while (Date.now() < until) {
    await sleep(Math.min(2000, Math.max(0, until - Date.now())));
    out({ progress: socks.filter((s) => !s.destroyed).length });
  }
  ending = true;
  timers.forEach(clearInterval);
  socks.forEach((s) => s.destroy());
  return { sent: job.count, ...state };
}

async function main(): Promise<void> {
  const r = rng(job.seed);
  const run = { dhcp, tftp, http, slow }[job.mode];
  if (!run) throw new Error(`unknown mode ${String(job.mode)}`);
  const result = await run(r);
  out({ result: { ...result, kinds } });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    out({ error: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  },
);
