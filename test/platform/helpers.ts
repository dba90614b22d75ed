/** Shared fixtures for the platform tests: specs, a Flux install manifest, kubeconfigs, CLI runs. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { hearthArgv, REFERENCE, ROOT, tmpDir } from '../helpers/cli.js';
import { within } from '../helpers/within.js';
import { parseSpec } from '../../src/spec/index.js';
import { resolvePlatform, type KubeObject } from '../../src/platform/index.js';

export const FLUX_REF = path.join(REFERENCE, 'flux');

/** A fresh temporary directory, removed when the test process exits (tests may remove it earlier). */
export function tempDir(tag: string): string {
  return tmpDir(`platform-${tag}`);
}

/** The bundled example with its platform section replaced. */
export function specWith(platform: Record<string, unknown>, dir: string, name = 'hearth.yaml'): string {
  const doc = parse(readFileSync(path.join(ROOT, 'examples/hearth.yaml'), 'utf8')) as Record<string, unknown>;
  doc.platform = platform;
  const file = path.join(dir, name);
  writeFileSync(file, stringify(doc));
  return file;
}

/**
 * A stand-in for Flux's install.yaml: the upstream CRDs from test/fixtures/upstream/flux plus the
 * flux-system Namespace, a ServiceAccount and a Deployment shaped like Flux's.
 */
export function fluxInstallManifest(dir: string): string {
  const crds = readdirSync(FLUX_REF)
    .filter((f) => f.endsWith('.crd.yaml'))
    .sort()
    .map((f) => readFileSync(path.join(FLUX_REF, f), 'utf8').replace(/^---\n/, ''));
  const extra = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flux-system', labels: { 'app.kubernetes.io/instance': 'flux-system' } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'helm-controller', namespace: 'flux-system' } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'helm-controller', namespace: 'flux-system' },
      spec: {
        selector: { matchLabels: { app: 'helm-controller' } },
        template: {
          metadata: { labels: { app: 'helm-controller' } },
          spec: {
            serviceAccountName: 'helm-controller',
            containers: [{ name: 'manager', image: 'ghcr.io/fluxcd/helm-controller:v1.6.3', args: ['--events-addr=http://notification-controller.flux-system.svc.cluster.local./'] }],
          },
        },
      },
    },
  ].map((o) => stringify(o));
  const file = path.join(dir, 'flux-install.yaml');
  writeFileSync(file, [...crds, ...extra].map((d) => `---\n${d.trimEnd()}\n`).join(''));
  return file;
}

/** A CLI process started by startHearth. */
export interface StartedHearth {
  /** The process itself (to signal it). */
  readonly child: ChildProcess;
  /** Its standard output so far. */
  stdout(): string;
  /** Its standard error so far. */
  stderr(): string;
  /** Its exit code once it has exited and its output is read; null when a signal (or the LIFETIME_MS guard) ended it. */
  readonly exit: Promise<number | null>;
  /** The exit code, waited for at most `ms`; past that the process is killed and the wait fails naming `what`. */
  wait(what: string, ms?: number): Promise<number | null>;
  /** Kills the process if it still runs (for `finally`: a failed test leaves nothing running). */
  stop(): void;
}

/**
 * The longest a started CLI may live: a test that fails before signalling it must not hold its file
 * open until the suite's per-test timeout. Past it the process is killed and its stderr says so.
 */
const LIFETIME_MS = 5 * 60_000;

/** Starts the real CLI (built or through tsx) without waiting, for tests that signal it. */
export function startHearth(args: string[], env: NodeJS.ProcessEnv = {}): StartedHearth {
  const [node, ...argv] = hearthArgv(args);
  const child = spawn(node!, argv, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const guard = setTimeout(() => {
    err += `\n[test helper: hearth ${args.join(' ')} still running after ${LIFETIME_MS / 1000} s; killed]\n`;
    child.kill('SIGKILL');
  }, LIFETIME_MS);
  guard.unref();
  const exit = new Promise<number | null>((r) => child.on('close', (code) => (clearTimeout(guard), r(code))));
  const stop = () => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  const wait = (what: string, ms = 60_000) => within(ms, `${what} (hearth ${args[0] ?? ''} ${args[1] ?? ''})`, exit).catch((e: unknown) => {
    stop();
    throw e;
  });
  return { child, stdout: () => out, stderr: () => err, exit, wait, stop };
}

export async function until(cond: () => boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Resolves a `platform:` section through the real spec loader, as `hearth platform` does. */
export function resolveSpec(platform: Record<string, unknown>, tag = 'resolve') {
  const dir = tempDir(tag);
  try {
    const file = specWith(platform, dir);
    const { loaded, issues } = parseSpec(readFileSync(file, 'utf8'), file);
    if (!loaded) throw new Error(`spec did not load: ${JSON.stringify(issues)}`);
    return resolvePlatform(loaded.spec);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A Flux controller Deployment shaped as in a fluxcd/flux2 release's install.yaml (one
 * "manager" container, RUNTIME_NAMESPACE env, named ports the probes and Services use).
 */
export function fluxUpstreamDeployment(name: string): KubeObject {
  const ports: Record<string, { name: string; containerPort: number; protocol: string }[]> = {
    'source-controller': [
      { containerPort: 9090, name: 'http', protocol: 'TCP' },
      { containerPort: 8080, name: 'http-prom', protocol: 'TCP' },
      { containerPort: 9440, name: 'healthz', protocol: 'TCP' },
    ],
    'notification-controller': [
      { containerPort: 9090, name: 'http', protocol: 'TCP' },
      { containerPort: 9292, name: 'http-webhook', protocol: 'TCP' },
      { containerPort: 8080, name: 'http-prom', protocol: 'TCP' },
      { containerPort: 9440, name: 'healthz', protocol: 'TCP' },
    ],
  };
  const args = [
    '--events-addr=http://notification-controller.flux-system.svc.cluster.local./',
    '--watch-all-namespaces=true',
    '--log-level=info',
    '--log-encoding=json',
    '--enable-leader-election',
  ];
  if (name === 'source-controller') args.push('--storage-path=/data', '--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.cluster.local.');
  if (name === 'notification-controller') args.splice(0, 1);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'flux-system', labels: { 'app.kubernetes.io/component': name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'manager',
              image: `ghcr.io/fluxcd/${name}:v1.0.0`,
              args,
              env: [{ name: 'RUNTIME_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
              ports: ports[name] ?? [
                { containerPort: 8080, name: 'http-prom', protocol: 'TCP' },
                { containerPort: 9440, name: 'healthz', protocol: 'TCP' },
              ],
              livenessProbe: { httpGet: { path: '/healthz', port: 'healthz' } },
              readinessProbe: { httpGet: { path: name === 'source-controller' ? '/' : '/readyz', port: name === 'source-controller' ? 'http' : 'healthz' } },
            },
          ],
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          priorityClassName: 'system-cluster-critical',
          serviceAccountName: name,
        },
      },
    },
  };
}
