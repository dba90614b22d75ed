/**
 * The dashboard in a real browser while a real machine boots: `hearth netboot serve` runs in a
 * network namespace this test creates, headless Chromium runs in the same namespace and opens
 * the dashboard at http://192.0.2.1:8080/, and one QEMU VM (BIOS, iPXE ROM, TCG) network-boots the
 * small kernel + busybox payload. The page's machine row must go through DHCP, script, kernel and
 * initrd as they happen, in that order, in more than one update, without a reload. A screenshot
 * of the page goes to .cache/dashboard.png (docs/dashboard.png comes from test/dashboard/up.test.ts).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ROOT } from '../helpers/cli.js';
import { NetnsLab, netnsUnavailable, which, type Netns } from '../helpers/netns.js';
import { hearthArgv, waitForOutput } from '../netboot/lib.js';
import { MARKER, buildPayload, payloadUnavailable } from '../netboot/payload.js';
import { qemuArgv, specYaml } from '../netboot/vm.js';
import { CHROMIUM, cellStates, chromiumUnavailable, launch, openDashboard, sameDocument, until } from './browser.js';

const VM_TIMEOUT_MS = Number(process.env.HEARTH_E2E_VM_TIMEOUT_MS ?? 240_000);
const MAC = '52:54:00:12:35:01';
const SCREENSHOT = path.join(ROOT, '.cache', 'dashboard.png');

const skip = (() => {
  const browser = chromiumUnavailable();
  if (browser) return browser;
  const ns = netnsUnavailable();
  if (ns) return ns;
  if (!which('qemu-system-x86_64')) return 'qemu-system-x86_64 is not installed';
  if (!existsSync('/usr/lib/ipxe/qemu/efi-e1000.rom')) return 'ipxe-qemu is not installed';
  return payloadUnavailable();
})();

/** In-page: every change of a timeline cell, in order, with the render batch it came in. */
const RECORDER = `(() => {
  window.hearthCells = [];
  let batch = 0;
  const seen = new Map();
  const scan = () => {
    batch++;
    document.querySelectorAll('[data-machine="vm1"] [data-step]').forEach((c) => {
      const step = c.getAttribute('data-step'), state = c.getAttribute('data-state');
      if (seen.get(step) !== state) { seen.set(step, state); window.hearthCells.push({ step, state, batch, figures: c.textContent }); }
    });
  };
  new MutationObserver(scan).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  scan();
})()`;

interface CellChange {
  step: string;
  state: string;
  batch: number;
  figures: string;
}

describe('dashboard in Chromium while a QEMU VM network-boots', { skip: skip ?? false, timeout: 420_000 }, () => {
  const lab = new NetnsLab('dash');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hearth-dash-'));
  let ns: Netns;
  let serve: ChildProcess;
  let log = '';
  let browser: Browser;
  let page: Page;
  let requests: string[];
  let serial = '';
  let vmExit: Promise<number | null>;

  before(async () => {
    const payload = (await buildPayload()).dir;
    ns = await lab.ns('site');
    await lab.bridge(ns, 'br0', '192.0.2.1/24');
    await lab.tap(ns, 'tap0', 'br0');
    const specFile = path.join(tmp, 'hearth.yaml');
    writeFileSync(specFile, specYaml(payload, 'full', false, [MAC]));
    serve = ns.spawn(hearthArgv(['netboot', 'serve', '-f', specFile, '--state', path.join(tmp, 'state'), '--log']), { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    serve.stdout?.on('data', (d) => (log += d));
    serve.stderr?.on('data', (d) => (log += d));
    await waitForOutput(() => log, (s) => /serving on br0/.test(s) || serve.exitCode !== null, 30_000, 'hearth netboot serve');
    assert.equal(serve.exitCode, null, log);
    // Chromium inside the namespace: the wrapper execs it there (playwright talks to it over inherited pipes).
    const wrapper = path.join(tmp, 'chromium-in-netns');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${ns.argv([CHROMIUM]).join(' ')} "$@"\n`);
    chmodSync(wrapper, 0o755);
    browser = await launch('192.0.2.1', wrapper);
    ({ page, requests } = await openDashboard(browser, 'http://192.0.2.1:8080/'));
    await until('the event stream', async () => (await page.getAttribute('[data-link]', 'data-link')) === 'live');
    await page.evaluate(RECORDER);
  });

  after(async () => {
    await browser?.close();
    if (serve && serve.exitCode === null) serve.kill('SIGTERM');
    await lab.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the machine row advances through its stages live, without a reload', async () => {
    assert.match((await page.textContent('main')) ?? '', /waiting for machines/);
    const vm = ns.spawn(['timeout', '-s', 'KILL', String(VM_TIMEOUT_MS / 1000), ...qemuArgv({ name: 'vm1', mac: MAC, tap: 'tap0', firmware: 'bios' }, tmp)]);
    vm.stdout?.on('data', (d) => (serial += d));
    vm.stderr?.on('data', (d) => (serial += d));
    vmExit = new Promise((r) => vm.on('exit', (code) => r(code)));
    await until('the initrd on the page', async () => (await cellStates(page, 'vm1')).initrd === 'done' || vm.exitCode !== null, VM_TIMEOUT_MS);
    const code = await vmExit;
    assert.ok(serial.includes(MARKER), `the VM did not boot the payload (exit ${code}):\n${serial.slice(-2000)}\n${log.slice(-2000)}`);
    assert.ok(await sameDocument(page), 'the page was not reloaded');
    const changes = (await page.evaluate('window.hearthCells')) as CellChange[];
    const doneAt = (step: string) => changes.findIndex((c) => c.step === step && c.state === 'done');
    const order = ['dhcp', 'script', 'kernel', 'initrd'].map(doneAt);
    assert.ok(order.every((i) => i >= 0), `every stage done: ${JSON.stringify(changes)}`);
    assert.deepEqual([...order].sort((a, b) => a - b), order, `stages done in boot order: ${JSON.stringify(changes)}`);
    // Seen as it happened: DHCP was done on the page in an earlier update than the kernel.
    assert.ok(changes[order[0]!]!.batch < changes[order[2]!]!.batch, JSON.stringify(changes));
    const kernel = await page.textContent('[data-machine="vm1"] [data-step="kernel"]');
    assert.match(kernel ?? '', /MiB/, 'the kernel cell shows its size');
    assert.match((await page.textContent('[data-machine="vm1"]')) ?? '', /192\.0\.2\.11/);
    assert.match((await page.textContent('.feed')) ?? '', /http-asset-done/);
    for (const r of requests) assert.ok(r.startsWith('http://192.0.2.1:8080/'), `request to another origin: ${r}`);
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    if (process.env.HEARTH_E2E_DEBUG) console.error(JSON.stringify(changes, null, 1));
  });
});
