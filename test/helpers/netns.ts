/**
 * Network namespaces for tests: each test builds its own little lab (namespaces, veth pairs,
 * bridges, taps) with names that carry the test's PID, runs real peers inside it, and removes it.
 * Only 192.0.2.0/24 and 198.51.100.0/24 are used (documentation ranges), never a host route.
 *
 *   const lab = new NetnsLab('dhcp');          // namespaces are named h<tag><pid><n>
 *   const srv = await lab.ns('srv');
 *   const cli = await lab.ns('cli');
 *   await lab.veth(srv, 's0', '192.0.2.1/24', cli, 'c0');
 *   const r = await cli.exec(['udhcpc', '-i', 'c0', '-n', '-q']);
 *   await lab.cleanup();
 */
import { execFile, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command (argv form, no shell), bounded in time; never rejects. */
export function run(argv: string[], opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: opts.timeoutMs ?? 30_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, env: opts.env ?? process.env },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) + (err && code === null ? `\n${err.message}` : '') });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Absolute path of a binary on PATH (plus the sbin directories), or undefined. */
export function which(bin: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, bin);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Why network-namespace tests cannot run here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'network namespaces need root';
  if (!which('ip')) return 'iproute2 (ip) is not installed';
  const probe = `hprobe${process.pid}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `cannot create a network namespace: ${r.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

export class Netns {
  readonly children = new Set<ChildProcess>();
  constructor(readonly name: string) {}

  /** argv run inside the namespace. */
  argv(cmd: string[]): string[] {
    return ['ip', 'netns', 'exec', this.name, ...cmd];
  }

  exec(cmd: string[], opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
    return run(this.argv(cmd), opts);
  }

  /** Throws with the command's stderr when it fails (for setup steps). */
  async must(cmd: string[]): Promise<string> {
    const r = await this.exec(cmd);
    if (r.code !== 0) throw new Error(`[${this.name}] ${cmd.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
    return r.stdout;
  }

  /**
   * Starts a long-running process in the namespace. `ip netns exec` execs the command, so the
   * child's PID is the command's own; cleanup kills it by that PID.
   */
  spawn(cmd: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, ...cmd], { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  async killAll(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const c of this.children) {
      if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) continue;
      waits.push(new Promise((resolve) => {
        const t = setTimeout(resolve, 3000);
        c.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      }));
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await Promise.all(waits);
  }
}

export class NetnsLab {
  private readonly spaces: Netns[] = [];
  private seq = 0;
  /** Short prefix: interface and namespace names stay well under the 15-character limit. */
  readonly prefix: string;

  constructor(tag: string) {
    this.prefix = `h${tag.slice(0, 4)}${process.pid % 100000}`;
  }

  /** Creates a namespace with lo up and IPv6 off (so nothing but our IPv4 test traffic flows). */
  async ns(role: string): Promise<Netns> {
    const name = `${this.prefix}${role}${this.seq++}`;
    const r = await run(['ip', 'netns', 'add', name]);
    if (r.code !== 0) throw new Error(`ip netns add ${name}: ${r.stderr.trim()}`);
    const ns = new Netns(name);
    this.spaces.push(ns);
    await ns.must(['ip', 'link', 'set', 'lo', 'up']);
    await ns.exec(['sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    return ns;
  }

  /**
   * A veth pair between two namespaces: `aIf` in a (with address aAddr, CIDR, if given), `bIf`
   * in b (with bAddr if given). Both ends are brought up.
   */
  async veth(a: Netns, aIf: string, aAddr: string | undefined, b: Netns, bIf: string, bAddr?: string, opts: { mac?: string } = {}): Promise<void> {
    const tmp = `v${process.pid % 100000}x${this.seq++}`;
    const r = await run(['ip', 'link', 'add', tmp, 'netns', a.name, 'type', 'veth', 'peer', 'name', `${tmp}p`, 'netns', b.name]);
    if (r.code !== 0) throw new Error(`veth ${a.name}/${b.name}: ${r.stderr.trim()}`);
    await a.must(['ip', 'link', 'set', tmp, 'name', aIf]);
    await b.must(['ip', 'link', 'set', `${tmp}p`, 'name', bIf]);
    if (opts.mac) await b.must(['ip', 'link', 'set', bIf, 'address', opts.mac]);
    if (aAddr) await a.must(['ip', 'addr', 'add', aAddr, 'dev', aIf]);
    if (bAddr) await b.must(['ip', 'addr', 'add', bAddr, 'dev', bIf]);
    await a.must(['ip', 'link', 'set', aIf, 'up']);
    await b.must(['ip', 'link', 'set', bIf, 'up']);
  }

  /** A bridge inside `ns` (with an address if given); attach veths/taps with `attach`. */
  async bridge(ns: Netns, name: string, addr?: string): Promise<void> {
    await ns.must(['ip', 'link', 'add', name, 'type', 'bridge']);
    if (addr) await ns.must(['ip', 'addr', 'add', addr, 'dev', name]);
    await ns.must(['ip', 'link', 'set', name, 'up']);
  }

  async attach(ns: Netns, ifname: string, bridge: string): Promise<void> {
    await ns.must(['ip', 'link', 'set', ifname, 'master', bridge]);
    await ns.must(['ip', 'link', 'set', ifname, 'up']);
  }

  /** A tap device in `ns` attached to `bridge` (for QEMU). */
  async tap(ns: Netns, name: string, bridge: string): Promise<void> {
    await ns.must(['ip', 'tuntap', 'add', name, 'mode', 'tap']);
    await this.attach(ns, name, bridge);
  }

  /** Kills every process started in the lab's namespaces (by PID) and deletes the namespaces. */
  async cleanup(): Promise<void> {
    for (const ns of this.spaces) await ns.killAll();
    for (const ns of this.spaces.splice(0)) {
      await run(['ip', 'netns', 'del', ns.name]);
    }
  }
}
