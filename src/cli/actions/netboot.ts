import path from 'node:path';
import { InputError } from '../../common/errors.js';
import { fetchMachines, progressRows, startNetboot, type BootEvent, type MachineProgress } from '../../netboot/index.js';
import { InstallMarks } from '../../netboot/installs.js';
import { normalizeMac } from '../../netboot/render/index.js';
import { prepareNetboot } from '../../pipeline/prepare-netboot.js';
import { loadSpec } from '../../spec/index.js';
import { formatData } from '../format.js';
import { LiveView } from '../live.js';
import { releaseOptimizer } from '../optimizer.js';
import { boundYoungGeneration, keepYoungGenerationSmall } from '../young-generation.js';
import { out, paint, say, table, warn } from '../output.js';

/** HH:MM:SS (UTC) of the last second a log line was made for, formatted once per second. */
let clockSecond = NaN;
let clockText = '';

/** Where a log line is written piece by piece: `text` appends to the current line, `end` ends it. */
export interface LineSink {
  text(piece: string): void;
  end(): void;
}

/**
 * `HH:MM:SS MAC [name] kind [ip] [file] [bytes B] [duration ms] [detail]`, written into `out`.
 * Made for every boot event (four per DHCP exchange): straight into the log's buffer, with no line
 * string, arrays or Date per line.
 */
export function writeLogLine(out: LineSink, m: MachineProgress, e: BootEvent): void {
  const second = Math.floor(e.at / 1000);
  if (second !== clockSecond) {
    clockSecond = second;
    clockText = new Date(second * 1000).toISOString().slice(11, 19);
  }
  out.text(clockText);
  field(out, m.mac);
  if (m.name) field(out, m.name);
  field(out, e.kind);
  if (e.ip) field(out, e.ip);
  if (e.file) field(out, e.file);
  if (e.bytes !== undefined) field(out, `${e.bytes}B`);
  if (e.durationMs !== undefined) field(out, `${e.durationMs}ms`);
  if (e.detail) field(out, e.detail);
  out.end();
}

function field(out: LineSink, text: string): void {
  out.text(' ');
  out.text(text);
}

/** writeLogLine's line as a string. */
export function logLine(m: MachineProgress, e: BootEvent): string {
  let line = '';
  writeLogLine({ text: (piece) => void (line += piece), end: () => undefined }, m, e);
  return line;
}

/** Log lines written in batches (see lineBatcher); `text` + `end` write a line piece by piece (LineSink). */
export interface LineBatcher extends LineSink {
  add(line: string): void;
  flush(): void;
}

/**
 * Log lines written in batches: queued, then written together once per `delayMs` (or when
 * `maxBytes` are waiting), so a busy DHCP server makes one write per batch instead of one per event
 * (four per exchange). A queued line is copied into one reused byte buffer at once rather than kept
 * as a string until the write: strings held for the whole delay outlive V8's young generation and
 * are promoted, a steady ~1 KB of old-space garbage per DHCP exchange. A line (or, written piece by
 * piece, a piece) that does not fit the buffer is written on its own, after what waits. `flush()`
 * writes what is waiting at once.
 */
export function lineBatcher(write: (text: string) => void, delayMs = 20, maxBytes = 64 * 1024): LineBatcher {
  const buf = Buffer.allocUnsafe(maxBytes + 1024);
  let used = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (used === 0) return;
    const text = buf.toString('utf8', 0, used);
    used = 0;
    write(text);
  };
  /** Room for `text` (flushing what waits if need be); false when it cannot fit even an empty buffer. */
  const room = (text: string): boolean => {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; count exactly only when that bound does not fit.
    if (used + text.length * 3 + 1 > buf.length && used + Buffer.byteLength(text) + 1 > buf.length) {
      flush();
      if (Buffer.byteLength(text) + 1 > buf.length) return false;
    }
    return true;
  };
  const put = (text: string) => {
    const n = text.length;
    if (n <= 64) {
      // Short ASCII (the usual field) byte by byte: cheaper than a call into the UTF-8 encoder.
      let i = 0;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c >= 128) break;
        buf[used + i] = c;
      }
      if (i === n) {
        used += n;
        return;
      }
    }
    used += buf.write(text, used, 'utf8');
  };
  const endLine = () => {
    buf[used++] = 10;
    if (used >= maxBytes) flush();
    else timer ??= setTimeout(flush, delayMs);
  };
  return {
    add(line) {
      if (!room(line)) return write(line + '\n');
      put(line);
      endLine();
    },
    text(piece) {
      if (room(piece)) put(piece);
      else write(piece);
    },
    end: endLine,
    flush,
  };
}

interface ServeOpts {
  file: string;
  interface?: string;
  address?: string;
  dhcp?: 'full' | 'proxy' | 'off';
  state?: string;
  httpPort?: number;
  tftpPort?: number;
  dhcpPort?: number;
  log?: boolean;
  secrets?: string;
  configOnce?: boolean;
}

export async function serve(opts: ServeOpts): Promise<void> {
  keepYoungGenerationSmall();
  const p = await prepareNetboot(opts.file, opts.secrets);
  const live = Boolean(process.stderr.isTTY) && !opts.log;
  // Operational lines (a refused config request): printed, or shown under the live table.
  const notices: string[] = [];
  let view: LiveView | undefined;
  // Log lines go out in batches, all through one queue so they keep their order.
  const logLines = lineBatcher((text) => say(text));
  const log = (line: string) => {
    if (!live) return logLines.add(line);
    notices.push(line);
    if (notices.length > 3) notices.shift();
    view?.invalidate();
  };
  const srv = await startNetboot(p.loaded, {
    interface: opts.interface,
    address: opts.address,
    dhcpMode: opts.dhcp,
    stateDir: opts.state,
    httpPort: opts.httpPort,
    tftpPort: opts.tftpPort,
    dhcpPort: opts.dhcpPort,
    secretsFile: opts.secrets,
    configOnce: opts.configOnce,
    ...(p.talos ? { talosInputs: p.talos } : {}),
    log,
  });
  // Started, so the young generation may grow with the load (bounded), no longer with start-up,
  // and hot code is optimized again.
  boundYoungGeneration();
  releaseOptimizer();
  for (const w of srv.warnings) warn(w);
  const c = srv.config;
  srv.bus.emit({ type: 'stage', at: Date.now(), stage: 'netboot', state: 'started', detail: `serving on ${c.interface ?? c.serverIp}` });
  say(
    `hearth netboot: serving on ${c.interface ?? c.serverIp} (${c.serverIp}): DHCP ${c.dhcp.mode}, TFTP :${srv.tftp.port}, HTTP ${c.httpBase} ` +
      `(dashboard ${c.httpBase}/, metrics ${c.httpBase}/metrics, machines ${c.httpBase}/api/machines). ` +
      `Talos configs: ${srv.talosConfig ? `served at ${c.httpBase}/talos/config${opts.configOnce ? ', once per boot' : ''}` : 'off'}. Ctrl-C stops.`,
  );
  if (live) {
    view = new LiveView(() => {
      const { headers, rows } = progressRows(srv.progress.list());
      const lines = (rows.length ? table(headers, rows) : 'waiting for machines...\n').split('\n').slice(0, -1);
      return [...lines.map((l, i) => (i === 0 ? paint(rows.length ? 'bold' : 'dim', l) : l)), ...notices.map((l) => paint('dim', l))];
    }).start();
    srv.bus.subscribe(() => view!.invalidate());
  } else {
    // The log lines come from the run's event stream, like the dashboard's feed.
    srv.bus.subscribe(({ event: e }) => {
      const m = e.type === 'boot' && e.boot.mac ? srv.progress.get(e.boot.mac) : undefined;
      // A refusal already has its own line (naming the requester) from the server.
      if (m && e.type === 'boot' && e.boot.kind !== 'talos-config-refused') writeLogLine(logLines, m, e.boot);
    });
  }
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      logLines.flush();
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      say(`hearth netboot: ${sig}, shutting down`);
      resolve();
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
  view?.stop();
  await srv.close();
  logLines.flush();
  say('hearth netboot: stopped');
}

export async function machines(opts: { server: string; output: 'text' | 'json' | 'yaml' }): Promise<void> {
  const machines = await fetchMachines(opts.server);
  if (opts.output !== 'text') {
    out(formatData({ machines }, opts.output));
    return;
  }
  if (machines.length === 0) {
    say('no machines seen yet');
    return;
  }
  const { headers, rows } = progressRows(machines);
  out(table(headers, rows));
}

/** `hearth netboot reinstall NAME`: clears the machine's installed mark, so its next network boot installs again. */
export async function reinstall(name: string, opts: { file: string; state?: string }): Promise<void> {
  const loaded = loadSpec(opts.file);
  const machine = loaded.spec.machines.find((m) => m.name === name);
  if (!machine) {
    const known = loaded.spec.machines.map((m) => m.name);
    throw new InputError(`no machine named ${name} in machines[] of ${opts.file}${known.length ? ` (there are: ${known.join(', ')})` : ''}`);
  }
  const stateDir = path.resolve(opts.state ?? path.join(loaded.baseDir, '.hearth', 'netboot'));
  const marks = new InstallMarks(stateDir);
  const mac = machine.mac ? normalizeMac(machine.mac) : undefined;
  const hits = marks.list().filter((m) => m.mac === mac || m.name === name);
  if (hits.length === 0) {
    say(`${name} is not marked installed in ${marks.file}; its next network boot installs anyway`);
    return;
  }
  for (const h of hits) await marks.rearm(h.mac);
  say(`${name} re-armed: its next network boot gets the installer (${marks.file})`);
}
