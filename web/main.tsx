/**
 * The dashboard page: one EventSource on /api/events, the state rebuilt from its events
 * (model.ts), rendered with Preact. The browser's EventSource reconnects by itself and sends the
 * last id it saw; the server answers with what was missed, or a `reset` and fresh snapshots.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { NumberedEvent, RunEvent } from '../src/pipeline/events.js';
import {
  apply,
  componentOrder,
  componentStatus,
  emptyState,
  fmtAfter,
  fmtBytes,
  fmtRate,
  fmtTime,
  machineRows,
  type Cell,
  type DashState,
  type MachineRow,
} from './model.js';

type Link = 'connecting' | 'live' | 'reconnecting' | 'unavailable';

/** The stream and the state it builds; views re-render when `version` moves. */
class Stream {
  state: DashState = emptyState();
  link: Link = 'connecting';
  version = 0;
  private listeners = new Set<() => void>();
  private scheduled = false;

  start(): void {
    const es = new EventSource('/api/events');
    es.onopen = () => this.set('live');
    es.onerror = () => this.set(es.readyState === EventSource.CLOSED ? 'unavailable' : 'reconnecting');
    es.addEventListener('reset', () => {
      this.state = emptyState();
      this.changed();
    });
    es.onmessage = (m: MessageEvent<string>) => {
      const id = Number(m.lastEventId);
      if (!Number.isSafeInteger(id)) return;
      apply(this.state, { id, event: JSON.parse(m.data) as RunEvent } satisfies NumberedEvent);
      this.changed();
    };
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private set(link: Link): void {
    this.link = link;
    this.changed();
  }

  /** One render per frame however many events arrive in it. */
  private changed(): void {
    this.version++;
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      for (const fn of this.listeners) fn();
    });
  }
}

function CellView({ c }: { c: Cell }) {
  const figures = [fmtAfter(c.after), fmtBytes(c.bytes), fmtRate(c.rate)].filter(Boolean).join(' · ');
  return (
    <li class={`cell ${c.state}`} data-step={c.key} data-state={c.state} title={c.note ?? ''}>
      <span class="label">{c.label}</span>
      <span class="figures">{figures || (c.state === 'waiting' ? '—' : c.state)}</span>
    </li>
  );
}

function MachineView({ row }: { row: MachineRow }) {
  return (
    <article class="machine" data-machine={row.name ?? row.mac} data-mac={row.mac ?? ''}>
      <header>
        <strong>{row.name ?? row.mac}</strong>
        {row.name && row.mac ? <code>{row.mac}</code> : null}
        {row.address ? <code class="address">{row.address}</code> : null}
        <span class="state">{row.state}</span>
        {row.errors ? <span class="errors">{row.errors} errors</span> : null}
      </header>
      <ol class="timeline">
        {row.cells.map((c) => (
          <CellView key={c.key} c={c} />
        ))}
      </ol>
    </article>
  );
}

function App({ stream }: { stream: Stream }) {
  const [, setVersion] = useState(0);
  const [now, setNow] = useState(Date.now());
  useEffect(() => stream.subscribe(() => setVersion(stream.version)), [stream]);
  // Only the clock for rates and ages under way; the data comes from the stream.
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const s = stream.state;
  const { known, unknown } = machineRows(s, now);
  const components = componentOrder(s.components.values());
  const stages = [...s.stages.values()];
  return (
    <main>
      <header class="top">
        <h1>hearth</h1>
        <ul class="stages">
          {stages.map((st) => (
            <li key={st.stage} class={`stage ${st.state}`} title={st.detail ?? ''}>
              {st.stage}: {st.state}
            </li>
          ))}
        </ul>
        <span class={`link ${stream.link}`} data-link={stream.link}>
          {stream.link}
        </span>
      </header>
      <section>
        <h2>Machines</h2>
        {known.length ? known.map((r) => <MachineView key={r.key} row={r} />) : <p class="empty">waiting for machines…</p>}
      </section>
      {unknown.length ? (
        <section class="unknown">
          <h2>Unknown machines that asked for a boot</h2>
          {unknown.map((r) => (
            <MachineView key={r.key} row={r} />
          ))}
        </section>
      ) : null}
      <section>
        <h2>Platform</h2>
        {components.length ? (
          <table class="components">
            <thead>
              <tr>
                <th>component</th>
                <th>status</th>
                <th>depends on</th>
              </tr>
            </thead>
            <tbody>
              {components.map((c) => (
                <tr key={`${c.namespace}/${c.name}`} class={c.state} data-component={c.name}>
                  <td>
                    {c.name} <small>{c.namespace}</small>
                  </td>
                  <td>{componentStatus(c)}</td>
                  <td>{c.dependsOn.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="empty">no platform components reported (yet)</p>
        )}
      </section>
      <section>
        <h2>Last events</h2>
        <ol class="feed">
          {[...s.feed].reverse().map((l) => (
            <li key={l.id} class={l.level}>
              <time>{fmtTime(l.at)}</time> {l.text}
            </li>
          ))}
        </ol>
      </section>
    </main>
  );
}

const stream = new Stream();
render(<App stream={stream} />, document.getElementById('app')!);
stream.start();
