/**
 * What `hearth up` shows, built from the run's event bus only: on a terminal a block redrawn in
 * place (a row per machine: stage, elapsed, download and rate, address; a row per platform
 * component: Ready or what it waits for), elsewhere one log line per change.
 */
import type { NumberedEvent, RunEvent, RunStage } from '../pipeline/events.js';
import type { MachineProgress } from '../netboot/progress/index.js';
import { LiveView } from './live.js';
import { paint, table } from './output.js';

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
const size = (n: number): string => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)}MiB` : n >= 1024 ? `${(n / 1024).toFixed(0)}KiB` : `${n}B`);

interface Row {
  stage: string;
  address?: string;
  firstSeen: number;
  /** A download under way. */
  download?: string;
}

/** The netboot step a snapshot shows, as a stage name. */
function netbootStage(m: MachineProgress): string {
  const last = m.steps.at(-1)?.step;
  if (!last) return m.state;
  return last === 'dhcp-ack' ? 'dhcp' : last.startsWith('dhcp') ? 'dhcp' : last;
}

export class UpView {
  private readonly started = Date.now();
  private readonly machines = new Map<string, Row>();
  private readonly components = new Map<string, { name: string; state: string; waitingFor?: string }>();
  private readonly stages = new Map<RunStage, string>();
  private readonly logs: string[] = [];
  private live?: LiveView;

  /** Starts redrawing in place (a terminal); without it, `line()` gives log lines. */
  startLive(): this {
    this.live = new LiveView(() => this.frame(), true).start();
    return this;
  }

  stop(): void {
    this.live?.stop();
  }

  /** Takes an event in; returns the log line for it (or undefined when it changes nothing worth a line). */
  take({ event: e }: NumberedEvent): string | undefined {
    const line = this.apply(e);
    this.live?.invalidate();
    return line;
  }

  private row(name: string, at: number): Row {
    let r = this.machines.get(name);
    if (!r) this.machines.set(name, (r = { stage: 'waiting', firstSeen: at }));
    return r;
  }

  private apply(e: RunEvent): string | undefined {
    switch (e.type) {
      case 'boot':
        return undefined;
      case 'machine': {
        const m = e.machine;
        const name = m.name ?? m.mac;
        const r = this.row(name, m.firstSeen);
        const stage = netbootStage(m);
        // the download under way (its size), else the last one done with its rate
        const a = m.active[0];
        const done = [...m.steps].reverse().find((x) => x.rate !== undefined);
        r.download = a ? `${a.file}${a.bytes ? ` ${size(a.bytes)}` : ''} ...` : done ? `${done.file} ${size(done.bytes ?? 0)} at ${size(done.rate!)}/s` : undefined;
        if (m.ip) r.address = m.ip;
        if (stage === r.stage) return undefined;
        r.stage = stage;
        const step = m.steps.at(-1);
        const rate = step?.rate ? ` ${size(step.bytes ?? 0)} at ${size(step.rate)}/s` : '';
        return `${name}: ${stage}${m.ip ? ` ${m.ip}` : ''}${rate} +${secs(e.at - r.firstSeen)}`;
      }
      case 'talos': {
        const r = this.row(e.name, e.at);
        r.stage = e.phase;
        r.download = undefined;
        if (e.address) r.address = e.address;
        return `${e.name}: ${e.phase}${e.address ? ` at ${e.address}` : ''}${e.detail ? ` (${e.detail})` : ''} +${secs(e.at - r.firstSeen)}`;
      }
      case 'component': {
        this.components.set(`${e.namespace}/${e.name}`, { name: e.name, state: e.state, waitingFor: e.waitingFor });
        return `component ${e.namespace}/${e.name}: ${e.state}${e.waitingFor && e.state !== 'ready' ? ` (${e.waitingFor})` : ''}`;
      }
      case 'stage':
        this.stages.set(e.stage, e.state);
        return e.state === 'skipped' ? undefined : `stage ${e.stage}: ${e.state}${e.detail && e.state !== 'failed' ? ` (${e.detail})` : ''}`;
      case 'log':
        this.logs.push(e.message);
        if (this.logs.length > 100) this.logs.splice(0, this.logs.length - 100);
        return e.level === 'info' ? e.message : `${e.level}: ${e.message}`;
    }
  }

  /** The frame, fitted to `height` lines: past it, machines running and Ready components are counted, not listed. */
  frame(height = (process.stderr.rows || 50) - 1): string[] {
    const stageText = [...this.stages].map(([s, st]) => `${s} ${st}`).join(' · ');
    const head = paint('bold', `hearth up  ${secs(Date.now() - this.started)}`) + (stageText ? `  ${stageText}` : '');
    const now = Date.now();
    const logs = this.logs.slice(-3).map((l) => paint('dim', l));
    const room = Math.max(4, height - 1 - logs.length);
    let machines = [...this.machines];
    let comps = [...this.components.values()];
    const tables = 2 + (comps.length ? 1 : 0);
    const notes: string[] = [];
    if (machines.length + comps.length + tables > room) {
      const ready = comps.filter((c) => c.state === 'ready').length;
      comps = comps.filter((c) => c.state !== 'ready');
      if (ready) notes.push(`${ready} component${ready === 1 ? '' : 's'} Ready`);
    }
    if (machines.length + comps.length + tables + notes.length > room) {
      const running = machines.filter(([, r]) => r.stage === 'running').length;
      machines = machines.filter(([, r]) => r.stage !== 'running');
      if (running) notes.unshift(`${running} machine${running === 1 ? '' : 's'} running`);
    }
    const rows = machines.map(([name, r]) => [name, r.stage, secs(now - r.firstSeen), r.download ?? '', r.address ?? '']);
    const machineLines = rows.length ? table(['MACHINE', 'STAGE', 'ELAPSED', 'DOWNLOAD', 'ADDRESS'], rows).split('\n').slice(0, -1) : this.machines.size ? [] : [paint('dim', 'waiting for the first machine...')];
    const compRows = comps.map((c) => [c.name, c.state === 'ready' ? 'Ready' : c.state, c.state === 'ready' ? '' : (c.waitingFor ?? '')]);
    const platform = compRows.length ? table(['COMPONENT', 'STATE', 'WAITING FOR'], compRows).split('\n').slice(0, -1) : [];
    let body = [...machineLines, ...platform, ...notes];
    if (body.length > room) body = [...body.slice(0, room - 1), paint('dim', `... ${body.length - room + 1} more`)];
    return [head, ...body, ...logs];
  }
}
