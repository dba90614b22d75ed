/**
 * Leases across several server restarts, with a real client: busybox udhcpc in its own network
 * namespace per machine. The server restarts several times (clean with SIGTERM, and kill -9) with
 * new machines joining in between; it must know every earlier lease after each start, and at the
 * end every machine asks again. udhcpc keeps no lease file and asks with a plain DISCOVER,
 * so getting the same address back rests entirely on the server's journal. Every earlier client
 * gets its address again, and no address is given twice.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NetnsLab, netnsUnavailable, which } from '../helpers/netns.js';
import { makeLan, serverOptions, startRunner, type Lan, type Runner } from './dhcp-lab.js';
import { exited } from '../helpers/within.js';

const skip = netnsUnavailable() ?? (!which('udhcpc') && !which('busybox') ? 'busybox udhcpc is not installed' : undefined);
const CLIENTS = 8;
const mac = (i: number) => `52:54:00:ab:00:${(i + 1).toString(16).padStart(2, '0')}`;

const SCRIPT = `#!/bin/sh
case "$1" in
  bound) echo "bound ip=$ip" >> "$LOG"; ip addr flush dev "$interface"; ip addr add "$ip/24" dev "$interface" ;;
  deconfig) ip addr flush dev "$interface" ;;
esac
`;

describe('DHCP leases across restarts, with udhcpc', { skip, timeout: 300_000 }, () => {
  const lab = new NetnsLab('drst');
  let lan: Lan;
  let dir: string;
  let script: string;
  let server: Runner | undefined;
  let opts: Record<string, unknown>;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-dhcp-restarts-'));
    script = path.join(dir, 'udhcpc.sh');
    await writeFile(script, SCRIPT);
    await chmod(script, 0o755);
    lan = await makeLan(lab, Array.from({ length: CLIENTS }, (_, i) => mac(i)));
    // One machine with a fixed address and hostname: its journal lines differ in length from the rest.
    opts = serverOptions(path.join(dir, 'state'), { quietEvents: true, reservations: [{ mac: mac(2), ip: '192.0.2.12', hostname: 'control-plane-1' }] });
  });

  after(async () => {
    await server?.stop();
    await lab.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** One udhcpc run (-q: quit once bound, -n: give up if not): the address it was given. */
  async function lease(i: number, round: number): Promise<string> {
    const log = path.join(dir, `c${i}-r${round}-${Math.random().toString(36).slice(2)}.log`);
    const udhcpc = which('udhcpc') ? ['udhcpc'] : ['busybox', 'udhcpc'];
    const r = await lan.clients[i]!.exec([...udhcpc, '-f', '-q', '-n', '-i', 'c0', '-s', script, '-t', '6', '-T', '1', '-A', '1'], {
      timeoutMs: 30_000,
      env: { ...process.env, LOG: log },
    });
    const text = await readFile(log, 'utf8').catch(() => '');
    const ip = /bound ip=(\S+)/.exec(text)?.[1];
    assert.ok(ip, `client ${i} got no lease in round ${round} (exit ${r.code}): ${r.stderr}\nserver: ${server?.stderr()}`);
    return ip;
  }

  async function restart(how: 'clean' | 'kill -9'): Promise<void> {
    if (how === 'clean') await server!.stop();
    else {
      const gone = exited(server!.proc, 'the DHCP server after SIGKILL');
      process.kill(server!.proc.pid!, 'SIGKILL');
      await gone;
    }
    server = await startRunner(lan.srv, opts);
  }

  test('every client keeps its address over clean and kill -9 restarts; no address twice', async (t) => {
    server = await startRunner(lan.srv, opts);
    const first = new Map<number, string>();
    const check = async (stage: string) => {
      assert.equal(new Set(first.values()).size, first.size, `${stage}: no address given twice (${[...first.values()].join(' ')})`);
      const listed = await server!.leases();
      assert.equal(listed.length, first.size, `${stage}: the server lists every lease`);
      for (const [i, ip] of first) assert.ok(listed.some((l) => l.mac === mac(i) && l.ip === ip), `${stage}: server holds ${mac(i)} → ${ip}`);
      assert.equal(new Set(listed.map((l) => l.ip)).size, listed.length, `${stage}: distinct addresses`);
    };
    const join = async (clients: number[], round: number) => {
      const got = await Promise.all(clients.map((i) => lease(i, round)));
      clients.forEach((i, k) => first.set(i, got[k]!));
    };
    await join([0, 1, 2], 0);
    await check('start');
    // After each restart the server must still know everyone, and only new clients come (the
    // first journal lines the new process writes); at the end every client comes back.
    const rounds: { then: 'clean' | 'kill -9'; join: number[] }[] = [
      { then: 'clean', join: [3, 4] },
      { then: 'kill -9', join: [5, 6] },
      { then: 'clean', join: [7] },
      { then: 'kill -9', join: [] },
    ];
    for (const [r, { then, join: joining }] of rounds.entries()) {
      const round = r + 1;
      await restart(then);
      await check(`round ${round}, after a ${then} restart`);
      await join(joining, round);
      await check(`round ${round}, after ${joining.length} joined`);
      t.diagnostic(`round ${round}: ${then} restart, ${first.size - joining.length} leases kept, ${joining.length} joined`);
    }
    const everyone = [...first.keys()];
    const back = await Promise.all(everyone.map((i) => lease(i, 9)));
    everyone.forEach((i, k) => assert.equal(back[k], first.get(i), `client ${i} got its address back`));
    await check('all clients back');
    assert.equal(first.size, CLIENTS);
  });
});
