/**
 * The few Prometheus metric types netboot serves at /metrics (counters, gauges, one histogram),
 * written out in the text exposition format 0.0.4. A small stand-in for the prom-client package,
 * with the same constructor options and the calls hearth makes, so `hearth netboot serve` does not
 * load it (about 12 MiB of resident memory and 40 ms of start-up in a process that idles at ~55 MiB).
 *
 * Each label set is one child holding a number; `labels(...)` returns it, so hot paths that keep
 * the child do no lookup at all. Label values are hearth's own fixed reasons, types and routes.
 */

export type Labels = Record<string, string | number>;

interface MetricOptions {
  name: string;
  help: string;
  labelNames?: readonly string[];
  registers?: Registry[];
}

export interface MetricValue {
  labels: Record<string, string>;
  value: number;
  metricName?: string;
}

export interface MetricSnapshot {
  name: string;
  help: string;
  type: string;
  values: MetricValue[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

/** `{a="x",b="y"}` for the given names and values (empty string when there are none). */
function labelText(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const parts: string[] = [];
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  names.forEach((n, i) => parts.push(`${n}="${escapeLabel(values[i]!)}"`));
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** What the metric types share: name, help, label names, and the children by label values. */
abstract class Metric<Child> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  protected readonly children = new Map<string, { values: string[]; child: Child }>();
  abstract readonly type: string;

  constructor(opts: MetricOptions) {
    if (!NAME.test(opts.name)) throw new Error(`invalid metric name ${opts.name}`);
    for (const l of opts.labelNames ?? []) if (!LABEL.test(l) || l === 'le') throw new Error(`invalid label name ${l}`);
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = [...(opts.labelNames ?? [])];
    for (const r of opts.registers ?? []) r.registerMetric(this);
  }

  protected abstract make(): Child;

  /** The child for these label values, given in `labelNames` order. */
  labels(...values: (string | number)[]): Child {
    if (values.length !== this.labelNames.length) throw new Error(`${this.name}: expected ${this.labelNames.length} label values, got ${values.length}`);
    const texts = values.map(String);
    const key = texts.join('\u0000');
    let e = this.children.get(key);
    if (!e) this.children.set(key, (e = { values: texts, child: this.make() }));
    return e.child;
  }

  protected childFor(labels: Labels | undefined): Child {
    if (!labels) return this.labels();
    for (const k of Object.keys(labels)) if (!this.labelNames.includes(k)) throw new Error(`${this.name}: unknown label ${k}`);
    return this.labels(...this.labelNames.map((n) => labels[n] ?? ''));
  }

  protected header(): string {
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
  }

  abstract text(): string;
  abstract get(): Promise<MetricSnapshot>;
}

export class CounterChild {
  value = 0;
  inc(n = 1): void {
    if (!(n >= 0)) throw new Error('a counter only goes up');
    this.value += n;
  }
}

export class GaugeChild {
  value = 0;
  set(n: number): void {
    this.value = n;
  }
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

/** Counters and gauges: one number per label set; one without labels starts at 0 and is always shown. */
abstract class Scalar<Child extends { value: number }> extends Metric<Child> {
  constructor(opts: MetricOptions) {
    super(opts);
    if (this.labelNames.length === 0) this.labels();
  }

  text(): string {
    let out = this.header();
    for (const { values, child } of this.children.values()) out += `${this.name}${labelText(this.labelNames, values)} ${formatValue(child.value)}\n`;
    return out;
  }

  async get(): Promise<MetricSnapshot> {
    const values = [...this.children.values()].map(({ values: v, child }) => ({ labels: Object.fromEntries(this.labelNames.map((n, i) => [n, v[i]!])), value: child.value }));
    return { name: this.name, help: this.help, type: this.type, values };
  }
}

export class Counter extends Scalar<CounterChild> {
  readonly type = 'counter';
  protected make(): CounterChild {
    return new CounterChild();
  }
  /** inc(), inc(n), inc(labels), inc(labels, n). */
  inc(a?: Labels | number, n?: number): void {
    if (typeof a === 'number' || a === undefined) this.labels().inc(a ?? 1);
    else this.childFor(a).inc(n ?? 1);
  }
}

export class Gauge extends Scalar<GaugeChild> {
  readonly type = 'gauge';
  protected make(): GaugeChild {
    return new GaugeChild();
  }
  /** set(n) or set(labels, n). */
  set(a: Labels | number, n?: number): void {
    if (typeof a === 'number') this.labels().set(a);
    else this.childFor(a).set(n ?? 0);
  }
  inc(a?: Labels | number, n?: number): void {
    if (typeof a === 'number' || a === undefined) this.labels().inc(a ?? 1);
    else this.childFor(a).inc(n ?? 1);
  }
  dec(a?: Labels | number, n?: number): void {
    if (typeof a === 'number' || a === undefined) this.labels().dec(a ?? 1);
    else this.childFor(a).dec(n ?? 1);
  }
}

export class HistogramChild {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(private readonly upper: readonly number[]) {
    this.counts = upper.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.upper.length; i++) if (v <= this.upper[i]!) this.counts[i]!++;
  }
}

export class Histogram extends Metric<HistogramChild> {
  readonly type = 'histogram';
  private readonly buckets: number[];

  constructor(opts: MetricOptions & { buckets: number[] }) {
    super(opts);
    this.buckets = [...opts.buckets].sort((a, b) => a - b);
    if (this.labelNames.length === 0) this.labels();
  }

  protected make(): HistogramChild {
    return new HistogramChild(this.buckets);
  }

  /** observe(v) or observe(labels, v). */
  observe(a: Labels | number, v?: number): void {
    if (typeof a === 'number') this.labels().observe(a);
    else this.childFor(a).observe(v ?? 0);
  }

  text(): string {
    let out = this.header();
    for (const { values, child } of this.children.values()) {
      this.buckets.forEach((b, i) => (out += `${this.name}_bucket${labelText(this.labelNames, values, ['le', formatValue(b)])} ${child.counts[i]}\n`));
      out += `${this.name}_bucket${labelText(this.labelNames, values, ['le', '+Inf'])} ${child.count}\n`;
      out += `${this.name}_sum${labelText(this.labelNames, values)} ${formatValue(child.sum)}\n`;
      out += `${this.name}_count${labelText(this.labelNames, values)} ${child.count}\n`;
    }
    return out;
  }

  async get(): Promise<MetricSnapshot> {
    const values: MetricValue[] = [];
    for (const { values: v, child } of this.children.values()) {
      const labels = Object.fromEntries(this.labelNames.map((n, i) => [n, v[i]!]));
      this.buckets.forEach((b, i) => values.push({ labels: { ...labels, le: formatValue(b) }, value: child.counts[i]!, metricName: `${this.name}_bucket` }));
      values.push({ labels: { ...labels, le: '+Inf' }, value: child.count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: child.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: child.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values };
  }
}

/** A set of metrics served together. */
export class Registry {
  readonly contentType = 'text/plain; version=0.0.4; charset=utf-8';
  private readonly all = new Map<string, Metric<unknown>>();

  registerMetric(m: Metric<unknown>): void {
    if (this.all.has(m.name)) throw new Error(`a metric named ${m.name} is already registered`);
    this.all.set(m.name, m);
  }

  /** The exposition text of every metric, in registration order. */
  async metrics(): Promise<string> {
    let out = '';
    for (const m of this.all.values()) out += m.text() + '\n';
    return out;
  }
}
