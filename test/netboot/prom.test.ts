import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetrics, labelCounters } from '../../src/netboot/metrics.js';
import { Counter, Gauge, Histogram, Registry } from '../../src/netboot/prom.js';
import { parseProm } from './lib.js';

test('counters: HELP/TYPE, one line per label set, unlabelled ones shown from 0', async () => {
  const registry = new Registry();
  const registers = [registry];
  const plain = new Counter({ name: 't_plain_total', help: 'plain', registers });
  const byType = new Counter({ name: 't_by_type_total', help: 'by type', labelNames: ['type'], registers });
  assert.equal(await registry.metrics(), '# HELP t_plain_total plain\n# TYPE t_plain_total counter\nt_plain_total 0\n\n# HELP t_by_type_total by type\n# TYPE t_by_type_total counter\n\n');
  plain.inc();
  plain.inc(2.5);
  byType.inc({ type: 'offer' });
  byType.inc({ type: 'offer' }, 2);
  byType.labels('ack').inc();
  const text = await registry.metrics();
  assert.match(text, /^t_plain_total 3\.5$/m);
  assert.match(text, /^t_by_type_total\{type="offer"\} 3$/m);
  assert.match(text, /^t_by_type_total\{type="ack"\} 1$/m);
  assert.deepEqual((await byType.get()).values, [
    { labels: { type: 'offer' }, value: 3 },
    { labels: { type: 'ack' }, value: 1 },
  ]);
  assert.throws(() => plain.inc(-1), /only goes up/);
  assert.throws(() => byType.labels('a', 'b'), /expected 1 label values/);
  assert.throws(() => byType.inc({ route: 'x' }), /unknown label route/);
});

test('label values and help are escaped the way the text format says', async () => {
  const registry = new Registry();
  const c = new Counter({ name: 't_esc_total', help: 'a\\b\nc', labelNames: ['reason'], registers: [registry] });
  c.inc({ reason: 'say "hi"\\\n' });
  const text = await registry.metrics();
  assert.match(text, /^# HELP t_esc_total a\\\\b\\nc$/m);
  assert.ok(text.includes('t_esc_total{reason="say \\"hi\\"\\\\\\n"} 1\n'), text);
  assert.equal(parseProm(text).size, 1);
});

test('gauges set, go up and down; a name is registered once', async () => {
  const registry = new Registry();
  const g = new Gauge({ name: 't_gauge', help: 'g', registers: [registry] });
  g.set(5);
  g.inc();
  g.dec(3);
  assert.equal((await g.get()).values[0]!.value, 3);
  assert.match(await registry.metrics(), /^t_gauge 3$/m);
  assert.throws(() => new Gauge({ name: 't_gauge', help: 'again', registers: [registry] }), /already registered/);
  assert.throws(() => new Gauge({ name: 'bad name', help: 'x' }), /invalid metric name/);
});

test('histograms: cumulative buckets, +Inf, sum and count per label set', async () => {
  const registry = new Registry();
  const h = new Histogram({ name: 't_seconds', help: 'h', labelNames: ['route'], buckets: [1, 0.1], registers: [registry] });
  h.observe({ route: 'boot' }, 0.05);
  h.observe({ route: 'boot' }, 0.5);
  h.observe({ route: 'boot' }, 5);
  const s = parseProm(await registry.metrics());
  assert.equal(s.get('t_seconds_bucket{le="0.1",route="boot"}'), 1);
  assert.equal(s.get('t_seconds_bucket{le="1",route="boot"}'), 2);
  assert.equal(s.get('t_seconds_bucket{le="+Inf",route="boot"}'), 3);
  assert.equal(s.get('t_seconds_sum{route="boot"}'), 5.55);
  assert.equal(s.get('t_seconds_count{route="boot"}'), 3);
});

test("netboot's metrics parse as Prometheus text and count through labelCounters", async () => {
  const m = createMetrics();
  const dropped = labelCounters(m.dhcpDropped);
  dropped('overloaded');
  dropped('overloaded');
  dropped('relayed');
  m.dhcpLeases.set(7);
  m.httpDuration.observe({ route: 'asset' }, 0.002);
  m.httpRequests.inc({ route: 'asset', status: '200' });
  const s = parseProm(await m.registry.metrics());
  assert.equal(s.get('hearth_dhcp_packets_dropped_total{reason="overloaded"}'), 2);
  assert.equal(s.get('hearth_dhcp_packets_dropped_total{reason="relayed"}'), 1);
  assert.equal(s.get('hearth_dhcp_leases'), 7);
  assert.equal(s.get('hearth_http_request_duration_seconds_bucket{le="0.01",route="asset"}'), 1);
  assert.equal(s.get('hearth_http_requests_total{route="asset",status="200"}'), 1);
  assert.equal(s.get('hearth_tftp_bytes_sent_total'), 0);
  assert.equal(m.registry.contentType, 'text/plain; version=0.0.4; charset=utf-8');
});
