import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildWithImager, type DockerRunner } from '../../src/image/build/index.js';
import { OperationError } from '../../src/common/errors.js';
import { renderProfile } from '../../src/image/index.js';
import { runHearth } from '../helpers/cli.js';
import { FactoryTestDouble } from './factory-double.js';
import { load, SEED_IMAGE, specText } from './helpers.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const hasSha256sum = spawnSync('sha256sum', ['--version']).status === 0;

function tmpdir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'hearth-image-'));
}

/** A spec file using the factory at `base`, written into a fresh directory. */
function factorySpec(base: string): { dir: string; file: string } {
  const dir = tmpdir();
  const file = path.join(dir, 'hearth.yaml');
  writeFileSync(file, specText(`  extensions: [iscsi-tools, util-linux-tools]\n  source: factory\n  factory: ${base}`));
  return { dir, file };
}

test('factory download: kernel and initramfs land complete, with progress and sha256 (FactoryTestDouble)', async () => {
  const kernel = randomBytes(256 * 1024);
  const initramfs = randomBytes(512 * 1024);
  const factory = new FactoryTestDouble(new Map([['kernel-amd64', kernel], ['initramfs-amd64.xz', initramfs]]));
  const base = await factory.start();
  const { dir, file } = factorySpec(base);
  try {
    const out = path.join(dir, 'assets');
    const r = await runHearth(['image', 'build', '-f', file, '--out', out, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    // The netboot names (netboot.kernel, netboot.initrd[0]) so `hearth netboot` serves them as they are.
    assert.deepEqual(
      result.files.map((f: { name: string; bytes: number; sha256: string }) => [f.name, f.bytes, f.sha256]),
      [
        ['vmlinuz', kernel.length, sha(kernel)],
        ['initramfs.xz', initramfs.length, sha(initramfs)],
      ],
    );
    assert.equal(result.files[0].url, `${base}/image/613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245/v1.13.9/kernel-amd64`);
    assert.deepEqual(readFileSync(path.join(out, 'vmlinuz')), kernel);
    assert.deepEqual(readFileSync(path.join(out, 'initramfs.xz')), initramfs);
    assert.deepEqual(readdirSync(out).sort(), ['SHA256SUMS', 'initramfs.xz', 'vmlinuz']);
    // Progress and messages go to stderr: not a terminal here, so quarter lines.
    assert.match(r.stderr, /downloading http:\/\/127\.0\.0\.1:\d+\/image\/613e1592[0-9a-f]+\/v1\.13\.9\/kernel-amd64/);
    // The 50 % line counts the bytes in when the half was crossed: at least 0.125 of 0.25 MiB, less
    // than all of it, whatever size the chunks came in.
    assert.match(r.stderr, /kernel-amd64: 25% \(0\.[0-2]\/0\.3 MiB\)\nkernel-amd64: 50% \(0\.[12]\/0\.3 MiB\)\nkernel-amd64: 75% \(0\.[23]\/0\.3 MiB\)\n/);
    assert.match(r.stderr, new RegExp(`initramfs-amd64.xz: ${initramfs.length} bytes, sha256 ${sha(initramfs)}`));
    assert.deepEqual(factory.requests, [
      '/image/613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245/v1.13.9/kernel-amd64',
      '/image/613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245/v1.13.9/initramfs-amd64.xz',
    ]);
  } finally {
    await factory.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SHA256SUMS is what sha256sum -c accepts', { skip: !hasSha256sum && 'sha256sum (coreutils) is not installed' }, async () => {
  const factory = new FactoryTestDouble(new Map([['kernel-amd64', randomBytes(4096)], ['initramfs-amd64.xz', randomBytes(8192)]]));
  const { dir, file } = factorySpec(await factory.start());
  try {
    const out = path.join(dir, 'assets');
    const r = await runHearth(['image', 'build', '-f', file, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^FILE\s+BYTES\s+SHA256\nvmlinuz\s+4096\s+[0-9a-f]{64}\ninitramfs.xz\s+8192\s+[0-9a-f]{64}\n/);
    const check = execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out, encoding: 'utf8' });
    assert.equal(check, 'vmlinuz: OK\ninitramfs.xz: OK\n');
  } finally {
    await factory.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a connection dropped mid-download: exit 1, one line, no partial file', async () => {
  const factory = new FactoryTestDouble(new Map([['kernel-amd64', randomBytes(64 * 1024)], ['initramfs-amd64.xz', randomBytes(256 * 1024)]]), {
    dropAfterHalf: new Set(['initramfs-amd64.xz']),
  });
  const { dir, file } = factorySpec(await factory.start());
  try {
    const fresh = path.join(dir, 'fresh');
    const r = await runHearth(['image', 'build', '-f', file, '--out', fresh]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, /^error: download of http:\/\/127\.0\.0\.1:\d+\/image\/[0-9a-f]{64}\/v1\.13\.9\/initramfs-amd64\.xz (broke off after \d+ bytes|is incomplete: got \d+ of 262144 bytes)/);
    assert.equal(existsSync(fresh), false, 'a directory hearth created is removed again');
    // An existing directory keeps its content and gains nothing, not even the finished kernel.
    const existing = path.join(dir, 'existing');
    mkdirSync(existing);
    writeFileSync(path.join(existing, 'keep.txt'), 'x');
    const r2 = await runHearth(['image', 'build', '-f', file, '--out', existing]);
    assert.equal(r2.code, 1);
    assert.deepEqual(readdirSync(existing), ['keep.txt']);
  } finally {
    await factory.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an HTTP 404 from the factory: exit 1 naming the URL and status', async () => {
  const factory = new FactoryTestDouble(new Map([['initramfs-amd64.xz', randomBytes(10)]]));
  const { dir, file } = factorySpec(await factory.start());
  try {
    const out = path.join(dir, 'assets');
    const r = await runHearth(['image', 'build', '-f', file, '--out', out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: http:\/\/127\.0\.0\.1:\d+\/image\/[0-9a-f]{64}\/v1\.13\.9\/kernel-amd64: HTTP 404 Not Found \(404 page not found\)$/m);
    assert.equal(existsSync(out), false);
  } finally {
    await factory.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no network (nothing listening): exit 1 saying the network is unreachable', async () => {
  // Take a free port, then close it: connecting there is refused like an unreachable factory.
  const factory = new FactoryTestDouble(new Map());
  const base = await factory.start();
  await factory.stop();
  const { dir, file } = factorySpec(base);
  try {
    const r = await runHearth(['image', 'build', '-f', file, '--out', path.join(dir, 'a')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: the network is unreachable: cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/m);
    assert.equal(existsSync(path.join(dir, 'a')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('imager build with the real docker client and no engine: one line, exit 1, nothing written', async (t) => {
  if (spawnSync('docker', ['--version']).error) return t.skip('no docker client on PATH (the not-installed path is tested below)');
  const dir = tmpdir();
  try {
    const file = path.join(dir, 'hearth.yaml');
    writeFileSync(file, specText(SEED_IMAGE, 'v1.6.4'));
    // A socket nobody serves: the engine is missing even on a machine that has one.
    const sock = `unix://${path.join(dir, 'no-engine.sock')}`;
    const r = await runHearth(['image', 'build', '-f', file, '--out', path.join(dir, 'out')], { env: { DOCKER_HOST: sock } });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^error: the Docker engine is not running or not reachable: .*(Cannot connect to the Docker daemon|no-engine\.sock)/);
    assert.equal(existsSync(path.join(dir, 'out')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('imager build without a docker client: one line saying docker is not installed', async () => {
  const dir = tmpdir();
  try {
    const file = path.join(dir, 'hearth.yaml');
    writeFileSync(file, specText(SEED_IMAGE, 'v1.6.4'));
    const r = await runHearth(['image', 'build', '-f', file, '--out', path.join(dir, 'out')], { env: { HEARTH_DOCKER: path.join(dir, 'no-such-docker') } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: docker is not installed: no `.*no-such-docker` command on PATH/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal(existsSync(path.join(dir, 'out')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * FakeDockerEngine: a DockerRunner double that plays the imager. It records each command line and
 * profile, then writes what the imager writes for the profile's kind into the directory mounted at
 * /out — or fails with the output the docker client prints when the registry is unreachable.
 */
class FakeDockerEngine implements DockerRunner {
  readonly runs: { args: string[]; stdin: string }[] = [];
  constructor(private readonly failWith?: string) {}
  async ensureEngine(): Promise<void> {}
  async run(args: string[], stdin: string, onOutput: (chunk: string) => void): Promise<{ code: number; output: string }> {
    this.runs.push({ args, stdin });
    if (this.failWith) {
      onOutput(this.failWith);
      return { code: 125, output: this.failWith };
    }
    const mount = args[args.indexOf('-v', args.indexOf('--privileged')) + 1]!;
    const outDir = mount.replace(/:\/out$/, '');
    const kind = /\n {2}kind: (\w+)\n/.exec(stdin)![1];
    const arch = /^arch: (\w+)$/m.exec(stdin)![1];
    const file = { installer: `installer-${arch}.tar`, kernel: `kernel-${arch}`, initramfs: `initramfs-${arch}.xz`, iso: `metal-${arch}.iso` }[kind!]!;
    onOutput(`profile ready:\n${kind} output\n`);
    writeFileSync(path.join(outDir, file), `${kind} bytes`);
    return { code: 0, output: '' };
  }
}

test('imager build runs the seed command with the profile on stdin and publishes the outputs (FakeDockerEngine)', async () => {
  const spec = load(SEED_IMAGE, 'v1.6.4').spec;
  const dir = tmpdir();
  try {
    const docker = new FakeDockerEngine();
    const logs: string[] = [];
    const out = path.join(dir, 'assets');
    const res = await buildWithImager(spec, out, ['installer', 'kernel', 'initramfs', 'iso'], docker, { log: (l) => logs.push(l) });
    assert.equal(docker.runs.length, 4);
    const args = docker.runs[0]!.args;
    const mount = args[7]!;
    assert.deepEqual(args, ['run', '--rm', '-i', '-v', '/dev:/dev', '--privileged', '-v', mount, 'ghcr.io/siderolabs/imager:v1.6.4', '-']);
    assert.match(mount, /\.hearth-build-[^/]+:\/out$/);
    assert.equal(docker.runs[0]!.stdin, renderProfile(spec, 'installer'));
    assert.deepEqual(res.files.map((f) => f.name).sort(), ['initramfs.xz', 'installer-amd64.tar', 'metal-amd64.iso', 'vmlinuz']);
    assert.deepEqual(readdirSync(out).sort(), ['SHA256SUMS', 'initramfs.xz', 'installer-amd64.tar', 'metal-amd64.iso', 'vmlinuz']);
    const sums = readFileSync(path.join(out, 'SHA256SUMS'), 'utf8');
    assert.match(sums, new RegExp(`^${sha(Buffer.from('kernel bytes'))}  vmlinuz$`, 'm'));
    assert.ok(logs.some((l) => l === '  kernel output'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an imager run that cannot reach the registry: the network named, nothing left behind', async () => {
  const spec = load(SEED_IMAGE, 'v1.6.4').spec;
  const dir = tmpdir();
  try {
    const docker = new FakeDockerEngine(
      'Unable to find image \'ghcr.io/siderolabs/imager:v1.6.4\' locally\ndocker: Error response from daemon: Get "https://ghcr.io/v2/": dial tcp: lookup ghcr.io on 127.0.0.53:53: server misbehaving.\n',
    );
    const out = path.join(dir, 'assets');
    await assert.rejects(buildWithImager(spec, out, ['installer'], docker, { log: () => undefined }), (err: Error) => {
      assert.ok(err instanceof OperationError);
      assert.match(err.message, /^the network is unreachable \(pulling images failed\): docker: Error response from daemon: Get "https:\/\/ghcr.io\/v2\/": dial tcp: lookup ghcr.io/);
      return true;
    });
    assert.equal(existsSync(out), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SecureBoot with the imager needs the keys directory, before anything runs', async () => {
  const docker = new FakeDockerEngine();
  await assert.rejects(buildWithImager(load('  secureboot: true').spec, tmpdir(), ['installer'], docker, { log: () => undefined }), /--secureboot-keys DIR/);
  assert.equal(docker.runs.length, 0);
});
