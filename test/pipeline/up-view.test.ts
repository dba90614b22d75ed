/**
 * `hearth up`'s view, from bus events alone: log lines for pipes, and a terminal frame that fits the
 * terminal's height (machines running and Ready components counted instead of listed when it must).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RunEventBus } from '../../src/pipeline/events.js';
import { UpView } from '../../src/cli/up-view.js';

process.env.NO_COLOR = '1';

function fed(machines: number, components: number): { view: UpView; lines: string[] } {
  const bus = new RunEventBus();
  const view = new UpView();
  const lines: string[] = [];
  bus.subscribe((e) => {
    const line = view.take(e);
    if (line) lines.push(line);
  });
  for (let i = 0; i < machines; i++) bus.emit({ type: 'talos', at: 1000 + i, name: `m${i}`, phase: i === 0 ? 'installing' : 'running', address: `192.0.2.${10 + i}` });
  for (let i = 0; i < components; i++) {
    bus.emit({ type: 'component', at: 2000, name: `c${i}`, namespace: 'hearth-x', state: i === 0 ? 'progressing' : 'ready', waitingFor: i === 0 ? 'dependency hearth-x/c1' : undefined, dependsOn: [] });
  }
  bus.emit({ type: 'log', at: 3000, level: 'warn', message: 'something to know' });
  return { view, lines };
}

test('log lines for pipes: one per change', () => {
  const { lines } = fed(2, 2);
  assert.deepEqual(lines, [
    'm0: installing at 192.0.2.10 +0.0s',
    'm1: running at 192.0.2.11 +0.0s',
    'component hearth-x/c0: progressing (dependency hearth-x/c1)',
    'component hearth-x/c1: ready',
    'warn: something to know',
  ]);
});

test('a frame with room lists every machine and component', () => {
  const { view } = fed(3, 3);
  const frame = view.frame(40);
  assert.match(frame[0]!, /^hearth up {2}\d+\.\ds/);
  for (const m of ['m0', 'm1', 'm2']) assert.ok(frame.some((l) => l.startsWith(m)), m);
  assert.ok(frame.some((l) => /^c0\s+progressing\s+dependency hearth-x\/c1/.test(l)));
  assert.ok(frame.some((l) => /^c2\s+Ready/.test(l)));
  assert.equal(frame.at(-1), 'something to know');
});

test('a frame without room counts what is done and lists what is not, within the height', () => {
  const { view } = fed(50, 26);
  const frame = view.frame(20);
  assert.ok(frame.length <= 20, `${frame.length} lines`);
  assert.ok(frame.some((l) => l.startsWith('m0 ')), 'the machine still installing is listed');
  assert.ok(!frame.some((l) => l.startsWith('m1 ')), 'running machines are counted');
  assert.ok(frame.includes('49 machines running'));
  assert.ok(frame.includes('25 components Ready'));
  assert.ok(frame.some((l) => l.startsWith('c0 ')), 'the component not Ready is listed');
});
