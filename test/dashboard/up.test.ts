/**
 * The dashboard in headless Chromium through a whole `hearth up` run (the real CLI, against the
 * doubles of test/pipeline/up.test.ts): opened while netboot waits for machines, it shows, with no
 * reload, each machine row reaching its Talos phase, then (after booting has stopped: the
 * dashboard outlives DHCP/TFTP/boot scripts) the platform components turning Ready after what they
 * depend on, and every stage done. The page then goes to .cache/dashboard-up.png; with
 * HEARTH_UPDATE_SCREENSHOT=1 it replaces docs/dashboard.png (the README's picture), so a test run
 * never changes a tracked file by itself.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ROOT } from '../helpers/cli.js';
import { startHearth } from '../platform/helpers.js';
import { upLab, type UpLab } from '../pipeline/up-lab.js';
import { chromiumUnavailable, launch, openDashboard, sameDocument, until } from './browser.js';

const SCREENSHOT = process.env.HEARTH_UPDATE_SCREENSHOT === '1' ? path.join(ROOT, 'docs', 'dashboard.png') : path.join(ROOT, '.cache', 'dashboard-up.png');

/** What the page showed, in the order it showed it: `batch` counts the DOM mutation batches (renders) seen. */
interface Seen {
  key: string;
  batch: number;
  deps?: string[];
}

/**
 * Installs a recorder in the page: after each batch of DOM changes it notes every machine whose
 * `running` cell is done, every component row that is Ready (with its "depends on" cell) and every
 * stage shown done, the first time each appears.
 */
async function record(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    const seen = new Map();
    window.hearthSeen = seen;
    let batch = 0;
    const note = (key, extra) => { if (!seen.has(key)) seen.set(key, { key, batch, ...extra }); };
    const scan = () => {
      batch++;
      for (const el of document.querySelectorAll('[data-machine]')) {
        if (el.querySelector('[data-step="running"][data-state="done"]')) note('machine:' + el.getAttribute('data-machine'));
      }
      for (const tr of document.querySelectorAll('tr[data-component].ready')) {
        const deps = (tr.cells[2]?.textContent ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        note('component:' + tr.getAttribute('data-component'), { deps });
      }
      for (const li of document.querySelectorAll('.stages .stage.done')) note('stage:' + li.textContent.split(':')[0].trim());
    };
    scan();
    new MutationObserver(scan).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  })()`);
}

const seenOf = async (page: Page): Promise<Seen[]> => (await page.evaluate('[...window.hearthSeen.values()]')) as Seen[];

describe('dashboard: a whole `hearth up` run in a browser', { skip: chromiumUnavailable() ?? false, timeout: 240_000 }, () => {
  let l: UpLab | undefined;
  let browser: Browser | undefined;
  afterEach(async () => {
    await browser?.close();
    await l?.stop();
    browser = l = undefined;
  });

  test('machine rows reach running, then components turn Ready in dependency order, then every stage is done; no reload', async () => {
    // the helm-controller stand-in reconciles a dependency level every 400 ms, so Ready spreads over several renders
    l = await upLab({ helmTickMs: 400 });
    browser = await launch('127.0.0.1');
    const run = startHearth(l.args('--timeout', '150s', '-o', 'json'));
    const url = `http://127.0.0.1:${l.httpPort}/`;
    await until('netboot to answer', async () => run.child.exitCode === null && (await fetch(`${url}healthz`).then((r) => r.ok, () => false)), 60_000);
    const { page, errors } = await openDashboard(browser, url);
    await until('the stream to be live', async () => (await page.getAttribute('[data-link]', 'data-link')) === 'live');
    await record(page);
    assert.deepEqual(await seenOf(page), [], 'nothing up yet');

    await l.powerOn();
    // during the platform stage booting has stopped, the dashboard has not
    await until('a component on the page', async () => (await seenOf(page)).some((s) => s.key.startsWith('component:')) || run.child.exitCode !== null, 150_000);
    assert.equal(run.child.exitCode, null, 'the run is still in its platform stage');
    const status = async (p: string) => (await fetch(`${url}${p}`)).status;
    assert.deepEqual([await status('boot.ipxe'), await status('assets/vmlinuz'), await status(''), await status('api/machines')], [404, 404, 200, 200]);
    // the run's last events reach the page even though the run closes the server right after them
    let exitedAt = 0;
    void run.exit.then(() => (exitedAt = Date.now()));
    await until('every stage done on the page', async () => (await seenOf(page)).some((s) => s.key === 'stage:platform') || (exitedAt > 0 && Date.now() - exitedAt > 10_000), 150_000);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const code = await run.wait('up to finish after the platform stage', 240_000);
    assert.equal(code, 0, run.stderr());

    const seen = await seenOf(page);
    const at = new Map(seen.map((s) => [s.key, s]));
    const keys = seen.map((s) => s.key);
    assert.ok(await sameDocument(page), 'the page was never reloaded');
    assert.deepEqual(errors, []);
    // every stage done
    for (const stage of ['netboot', 'bootstrap', 'platform']) assert.ok(at.has(`stage:${stage}`), `stage ${stage} shown done: ${keys}`);
    // every machine row reached running, before any component was Ready
    const machines = l.names.map((n) => at.get(`machine:${n}`));
    assert.ok(machines.every(Boolean), `every machine shown running: ${keys}`);
    const components = seen.filter((s) => s.key.startsWith('component:'));
    assert.ok(components.length >= 2, `platform components shown Ready: ${keys}`);
    const firstReady = Math.min(...components.map((c) => c.batch));
    assert.ok(machines.every((m) => m!.batch < firstReady), 'machines running before components Ready');
    // no component Ready before what it depends on (a dependency is a name or namespace/name)
    let ordered = 0;
    for (const c of components) {
      for (const dep of c.deps ?? []) {
        const d = at.get(`component:${dep.split('/').at(-1)}`);
        assert.ok(d, `${c.key} depends on ${dep}, which never showed Ready`);
        assert.ok(d.batch <= c.batch, `${c.key} Ready (render ${c.batch}) before its dependency ${dep} (render ${d.batch})`);
        if (d.batch < c.batch) ordered++;
      }
    }
    // the first list of releases may find some levels Ready at once; the later ones come render by render
    assert.ok(ordered > 0, `some component turned Ready on a later render than its dependency: ${JSON.stringify(components)}`);
    // the dashboard outlived booting: the components came after netboot stopped serving boots
    const events = run
      .stdout()
      .trim()
      .split('\n')
      .map((s) => JSON.parse(s));
    const stopped = events.findIndex((e) => e.type === 'log' && /^netboot stopped: every machine is installed.*the dashboard stays at http:\/\/127\.0\.0\.1:\d+\/ until the run ends$/.test(e.message));
    const firstComponent = events.findIndex((e) => e.type === 'component');
    assert.ok(stopped >= 0 && firstComponent > stopped, `booting stopped (${stopped}) before the platform's first component (${firstComponent})`);
  });
});
