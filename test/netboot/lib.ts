/** Shared fixtures for the netboot tests (not a test file itself). */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HttpServerOptions } from '../../src/netboot/http/index.js';
import { resolveBoot } from '../../src/netboot/render/index.js';
import { parseSpec, type LoadedSpec } from '../../src/spec/index.js';

export { hearthArgv } from '../helpers/cli.js';

export interface Tree {
  dir: string;
  assets: string;
  ipxe: string;
  files: Record<string, Buffer>;
  cleanup(): void;
}

/** A temp dir with assets (random files, a text file, a symlink leading out) and fake iPXE binaries. */
export function makeTree(sizes: Record<string, number> = {}): Tree {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-nb-'));
  const assets = path.join(dir, 'assets');
  const ipxe = path.join(dir, 'ipxe');
  mkdirSync(path.join(assets, 'sub'), { recursive: true });
  mkdirSync(ipxe);
  const files: Record<string, Buffer> = {};
  const put = (rel: string, data: Buffer) => {
    writeFileSync(path.join(assets, rel), data);
    files[rel] = data;
  };
  put('vmlinuz', randomBytes(300_001));
  put('initramfs.xz', randomBytes(1_000_003));
  put('empty', Buffer.alloc(0));
  put('exact512', randomBytes(512));
  put('sub/nested.bin', randomBytes(7777));
  put('text.txt', Buffer.from('line one\nline two\r\nbare\rcr\n'));
  for (const [name, size] of Object.entries(sizes)) put(name, randomBytes(size));
  writeFileSync(path.join(dir, 'secret.txt'), 'outside the jail\n');
  symlinkSync('../secret.txt', path.join(assets, 'escape'));
  symlinkSync('vmlinuz', path.join(assets, 'inside-link'));
  for (const b of ['undionly.kpxe', 'ipxe.efi', 'snponly.efi']) {
    const data = randomBytes(70_000 + b.length);
    writeFileSync(path.join(ipxe, b), data);
    files[b] = data;
  }
  return { dir, assets, ipxe, files, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const SPEC_YAML = (extra = '') => `apiVersion: hearth.dev/v1alpha1
kind: Cluster
metadata: { name: lab }
talos: { version: v1.13.9 }
cluster: { endpoint: https://192.0.2.10:6443 }
platform: { bundle: paas-hosted }
netboot:
  interface: lo
  dhcp: { mode: off }
  kernel: vmlinuz
  initrd: [initramfs.xz]
  kernelArgs: [console=ttyS0, hearth.test=default]
${extra}
machines:
  - { name: cp1, role: controlplane, mac: "52:54:00:00:00:01", address: 192.0.2.11/24, interface: eth0, installDisk: /dev/sda }
  - { name: w1, role: worker, mac: "52:54:00:00:00:04", uuid: 8f0c1e3a-1111-2222-3333-444455556666, address: 192.0.2.21/24, interface: eth0, installDisk: /dev/sda }
`;

export function specFrom(yaml: string, baseDir = os.tmpdir()): LoadedSpec {
  const r = parseSpec(yaml, path.join(baseDir, 'hearth.yaml'), baseDir);
  if (!r.loaded) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return r.loaded;
}

/** Parses Prometheus text exposition strictly enough to catch malformed output; returns samples. */
export function parseProm(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}

/** Sum of every sample of a metric family (all label sets). */
export function sum(samples: Map<string, number>, name: string, labelFilter = ''): number {
  let s = 0;
  for (const [k, v] of samples) if ((k === name || k.startsWith(`${name}{`)) && k.includes(labelFilter)) s += v;
  return s;
}

/** Resolves when `pred(text)` holds for the accumulated output of a stream, or rejects after ms. */
export function waitForOutput(get: () => string, pred: (s: string) => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const end = Date.now() + ms;
    const tick = () => {
      if (pred(get())) return resolve();
      if (Date.now() > end) return reject(new Error(`timed out waiting for ${what}; output so far:\n${get().slice(-3000)}`));
      setTimeout(tick, 100);
    };
    tick();
  });
}

/** startHttp options for a loopback test server over a tree (port 0, the spec's boot plans); `extra` adds or overrides. */
export function loopbackHttp(tree: Tree, loaded: LoadedSpec, extra: Omit<HttpServerOptions, 'address' | 'port' | 'resolveBoot' | 'assets' | 'ipxe'>): HttpServerOptions {
  return { address: '127.0.0.1', port: 0, resolveBoot: (client) => resolveBoot(loaded.spec, client), assets: tree.assets, ipxe: tree.ipxe, ...extra };
}

/** How many of this process's file descriptors point at `file` (a handle left open shows here). */
export function fdsOn(file: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false; // closed between the listing and the readlink
    }
  }).length;
}
