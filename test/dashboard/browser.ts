/**
 * Headless Chromium for the dashboard tests (Debian's `chromium`, driven by playwright-core), and
 * a loopback TCP relay the tests put between the browser and the server to cut the event stream.
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined. */
export function chromiumUnavailable(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (Debian package chromium; CI installs it from .ci/apt-packages)`;
}

/**
 * Launches headless Chromium; `wrapper` is an executable that runs it (e.g. inside a network
 * namespace). Only the `server` address resolves: Chromium's own background services reach nothing.
 */
export async function launch(server: string, wrapper = CHROMIUM): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const args = ['--no-sandbox', '--disable-gpu', `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${server}`, '--disable-background-networking', '--disable-component-update'];
  return chromium.launch({ executablePath: wrapper, headless: true, args, timeout: 60_000 });
}

/**
 * Opens the dashboard and marks the document, so a test can tell the page was never reloaded; it
 * also records every request the page makes (to check nothing leaves for another origin).
 */
export async function openDashboard(browser: Browser, url: string, viewport = { width: 1280, height: 900 }): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  const page = await browser.newPage({ viewport });
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => void requests.push(r.url()));
  page.on('pageerror', (e) => void errors.push(String(e)));
  page.on('console', (m) => void (m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION/.test(m.text()) && errors.push(m.text())));
  await page.goto(url, { waitUntil: 'load' });
  await page.evaluate("window.hearthMark = 'same document'");
  return { page, requests, errors };
}

/** True while the page is still the document openDashboard loaded. */
export async function sameDocument(page: Page): Promise<boolean> {
  return (await page.evaluate('window.hearthMark')) === 'same document';
}

/** The states of a machine's timeline cells on the page, by step (empty when the row is absent). */
export async function cellStates(page: Page, machine: string): Promise<Record<string, string>> {
  const cells = await page.$$eval(`[data-machine="${machine}"] [data-step]`, (els) => els.map((e) => [e.getAttribute('data-step'), e.getAttribute('data-state')]));
  return Object.fromEntries(cells);
}

/**
 * A relay from a loopback port to the server: `cut()` drops every relayed connection, `hold(true)`
 * refuses new ones until `hold(false)`; `exchanges` keeps what went each way at the start of each connection.
 */
export class Relay {
  /** Per connection, in order: the client's request and the first 64 KiB of the server's answer. */
  readonly exchanges: { head: string; reply: string }[] = [];
  private readonly open = new Set<net.Socket>();
  private held = false;
  private server?: net.Server;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.server = net.createServer((client) => {
      if (this.held) return void client.destroy();
      const upstream = net.connect(this.target.port, this.target.host);
      this.open.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.open.delete(client);
        this.open.delete(upstream);
      };
      const x = { head: '', reply: '' };
      this.exchanges.push(x);
      client.once('data', (d: Buffer) => void (x.head = d.toString('latin1')));
      upstream.on('data', (d: Buffer) => void (x.reply.length < 65536 && (x.reply += d.toString('latin1'))));
      client.pipe(upstream).pipe(client);
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  hold(on: boolean): void {
    this.held = on;
  }

  cut(): number {
    const n = this.open.size;
    for (const s of this.open) s.destroy();
    this.open.clear();
    return n;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** Waits (bounded) until `pred` holds; `what` names it in the timeout error. */
export async function until(what: string, pred: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
