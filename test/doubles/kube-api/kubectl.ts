/**
 * Runs the real kubectl against the double: a kubeconfig file per double (client certificates),
 * a private discovery cache, a bounded run time; `watchKubectl` keeps a long-running one (get -w,
 * wait) and stops it by its PID.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function kubectlAvailable(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

export interface KubectlRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class Kubectl {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), `hearth-kubectl-${process.pid}-`));
  private readonly config: string;
  constructor(kubeconfig: string, name = 'kc') {
    this.config = path.join(this.dir, name);
    writeFileSync(this.config, kubeconfig, { mode: 0o600 });
  }

  private argv(args: string[]): string[] {
    return ['--kubeconfig', this.config, '--cache-dir', path.join(this.dir, 'cache'), ...args];
  }

  /** One kubectl run, killed after timeoutMs; `input` goes to stdin (for -f -). */
  run(args: string[], input?: string, timeoutMs = 30_000): Promise<KubectlRun> {
    const p = this.start(args);
    if (input !== undefined) p.child.stdin!.end(input);
    else p.child.stdin!.end();
    const timer = setTimeout(() => p.stop(), timeoutMs);
    return p.exit.then((code) => {
      clearTimeout(timer);
      return { code, stdout: p.stdout(), stderr: p.stderr() };
    });
  }

  /** A kubectl that keeps running (get -w, wait) until it exits or stop() kills it. */
  start(args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string; exit: Promise<number | null>; stop: () => void } {
    const child = spawn('kubectl', this.argv(args), { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, KUBECTL_EXTERNAL_DIFF: '' } });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    return { child, stdout: () => out, stderr: () => err, exit, stop: () => void (child.exitCode === null && child.kill()) };
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
