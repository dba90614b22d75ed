/** The lab record, process identity by PID + start time, and the console file helpers (no QEMU). */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { follow, plainText, tailLines } from '../../src/lab/console.js';
import { planLab } from '../../src/lab/plan.js';
import { isRunning, procRecord, readState, removeState, stopProcess, writeState, type LabState } from '../../src/lab/state.js';
import { tmpDir } from '../helpers/cli.js';
import { SPEC_YAML, specFrom } from '../netboot/lib.js';

function sleeper(): { pid: number; exited: Promise<void> } {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { pid: child.pid!, exited };
}

describe('lab processes', () => {
  it('a recorded process runs while PID and start time match; stopProcess ends it', async () => {
    const p = sleeper();
    const rec = procRecord(p.pid);
    assert.ok(rec);
    assert.equal(isRunning(rec), true);
    assert.equal(await stopProcess(rec, 2000), true);
    await p.exited;
    assert.equal(isRunning(rec), false);
  });

  it('never signals a PID whose start time differs from the record (the PID was reused)', async () => {
    const p = sleeper();
    const rec = procRecord(p.pid)!;
    const impostor = { pid: rec.pid, start: String(Number(rec.start) + 1) };
    assert.equal(isRunning(impostor), false);
    assert.equal(await stopProcess(impostor, 200), true, 'nothing of ours to stop');
    assert.equal(isRunning(rec), true, 'the real process was left alone');
    process.kill(p.pid, 'SIGKILL');
    await p.exited;
    assert.equal(isRunning(undefined), false);
  });
});

describe('lab record', () => {
  it('is written whole with mode 0600 and read back; an unreadable one is reported in one line', () => {
    const dir = tmpDir('lab-state');
    assert.equal(readState(dir), undefined);
    const plan = planLab(specFrom(SPEC_YAML().replace('interface: lo', 'interface: br0\n  address: 192.0.2.1')).spec, { dir, firmware: 'bios' });
    const state: LabState = { version: 1, plan, spec: '/x/hearth.yaml', accel: 'tcg', accelNote: 'TCG', startedAt: 'now', vms: { cp1: { pid: 1, start: '5' } } };
    writeState(state);
    assert.equal(statSync(path.join(dir, 'lab.json')).mode & 0o777, 0o600);
    assert.deepEqual(readState(dir), state);
    removeState(dir);
    assert.equal(readState(dir), undefined);
    writeFileSync(path.join(dir, 'lab.json'), '{"version": 7}');
    assert.throws(() => readState(dir), /lab state .*lab\.json is unreadable/);
  });
});

describe('lab consoles', () => {
  it('plainText drops escape sequences and control characters, keeps the text', () => {
    assert.equal(plainText('\x1b[2J\x1b[01;01HBooting from ROM...\r\n\x1bciPXE\x07 ok\r'), 'Booting from ROM...\niPXE ok\n');
  });

  it('tailLines gives the last non-empty lines', () => {
    const f = path.join(tmpDir('lab-console'), 'vm.console');
    assert.deepEqual(tailLines(f, 3), []);
    writeFileSync(f, 'one\r\n\r\ntwo\nthree\n\nfour\n');
    assert.deepEqual(tailLines(f, 2), ['three', 'four']);
    assert.deepEqual(tailLines(f, 10), ['one', 'two', 'three', 'four']);
  });

  it('follow writes what is appended until told to stop, then flushes the rest', async () => {
    const f = path.join(tmpDir('lab-follow'), 'vm.console');
    writeFileSync(f, 'old line\n');
    const got: string[] = [];
    let polls = 0;
    let stop = false;
    const done = follow(f, statSync(f).size, (b) => got.push(b.toString()), () => {
      polls++;
      if (polls === 2) appendFileSync(f, 'first\n');
      if (polls === 4) {
        appendFileSync(f, 'last\n');
        stop = true;
      }
      return stop;
    }, 5);
    await done;
    assert.equal(got.join(''), 'first\nlast\n');
  });
});
