import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { InputError, OperationError } from '../../common/errors.js';
import { writeFileAtomic } from '../../common/fs.js';
import type { Spec } from '../../spec/index.js';
import { renderProfile, type ProfileKind } from '../profile.js';
import { factoryUrls } from '../urls.js';
import { explainDockerFailure, type DockerRunner } from './docker.js';
import type { Downloader, ProgressFn } from './download.js';

export { DockerCli, explainDockerFailure, type DockerRunner } from './docker.js';
export { HttpDownloader, type Downloader, type ProgressFn, type Downloaded } from './download.js';

export interface BuiltFile {
  /** File name inside the output directory. */
  name: string;
  bytes: number;
  sha256: string;
  /** Where it came from (factory builds). */
  url?: string;
}

export interface BuildResult {
  source: 'imager' | 'factory';
  out: string;
  files: BuiltFile[];
  /** The SHA256SUMS file written beside them. */
  sums: string;
}

export interface BuildEvents {
  /** A line of progress for the user (stderr). */
  log(line: string): void;
  /** Byte progress of one download. */
  progress?(name: string, done: number, total: number | undefined): void;
  /** A download finished (so a progress bar can end its line). */
  finished?(name: string): void;
}

/** The imager command line, exactly the seed's plus the mounts that bring the output (and keys) out. */
export function imagerArgs(spec: Spec, outMount: string, secureBootKeys?: string): string[] {
  const args = ['run', '--rm', '-i', '-v', '/dev:/dev', '--privileged', '-v', `${outMount}:/out`];
  if (secureBootKeys) args.push('-v', `${secureBootKeys}:/secureboot:ro`);
  args.push(`ghcr.io/siderolabs/imager:${spec.talos.version}`, '-');
  return args;
}

/** How the output files are named: the kernel and initramfs under the names netboot serves. */
function finalName(spec: Spec, produced: string): string {
  const arch = spec.image.arch;
  if (produced === `kernel-${arch}`) return spec.netboot.kernel;
  if (/^initramfs-.*\.xz$/.test(produced) && produced.includes(arch)) return spec.netboot.initrd[0] ?? produced;
  return produced;
}

async function sha256File(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** A staging directory inside DIR; files appear in DIR only once everything succeeded. */
async function stage<T>(outDir: string, work: (tmp: string) => Promise<T>): Promise<T> {
  const existed = await fsp
    .stat(outDir)
    .then(() => true)
    .catch(() => false);
  await fsp.mkdir(outDir, { recursive: true });
  const tmp = await fsp.mkdtemp(path.join(outDir, '.hearth-build-'));
  try {
    return await work(tmp);
  } catch (err) {
    if (!existed) {
      await fsp.rm(outDir, { recursive: true, force: true });
    }
    throw err;
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

async function publish(spec: Spec, tmp: string, outDir: string, produced: { name: string; url?: string; sha256?: string; bytes?: number }[]): Promise<{ files: BuiltFile[]; sums: string }> {
  const files: BuiltFile[] = [];
  for (const p of produced) {
    const name = finalName(spec, p.name);
    const src = path.join(tmp, p.name);
    const { sha256, bytes } = p.sha256 !== undefined && p.bytes !== undefined ? { sha256: p.sha256, bytes: p.bytes } : await sha256File(src);
    files.push({ name, bytes, sha256, ...(p.url ? { url: p.url } : {}) });
  }
  // Rename into place only after every file is complete.
  for (const [i, p] of produced.entries()) {
    await fsp.rename(path.join(tmp, p.name), path.join(outDir, files[i]!.name));
  }
  const sums = path.join(outDir, 'SHA256SUMS');
  await writeFileAtomic(sums, files.map((f) => `${f.sha256}  ${f.name}\n`).join(''));
  return { files, sums };
}

/** source imager: one imager run per kind, as the seed runs it. */
export async function buildWithImager(
  spec: Spec,
  outDir: string,
  kinds: ProfileKind[],
  docker: DockerRunner,
  events: BuildEvents,
  secureBootKeys?: string,
): Promise<BuildResult> {
  if (spec.image.secureboot && !secureBootKeys) {
    throw new InputError('secureboot: true needs the signing keys: pass --secureboot-keys DIR (uki-signing-key.pem, uki-signing-cert.pem, pcr-signing-key.pem)');
  }
  const profiles = kinds.map((k) => ({ kind: k, text: renderProfile(spec, k) })); // render errors first: nothing runs
  await docker.ensureEngine();
  return stage(outDir, async (tmp) => {
    for (const { kind, text } of profiles) {
      const args = imagerArgs(spec, tmp, secureBootKeys ? path.resolve(secureBootKeys) : undefined);
      events.log(`imager: building ${kind} (docker ${args.join(' ')})`);
      let pending = '';
      const res = await docker.run(args, text, (chunk) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const l of lines) if (l.trim() !== '') events.log(`  ${l.trimEnd()}`);
      });
      if (pending.trim() !== '') events.log(`  ${pending.trimEnd()}`);
      if (res.code !== 0) throw new OperationError(explainDockerFailure(res.output, res.code));
    }
    const produced = (await fsp.readdir(tmp, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => ({ name: d.name }));
    if (produced.length === 0) throw new OperationError('the imager finished but wrote no files');
    const { files, sums } = await publish(spec, tmp, outDir, produced);
    return { source: 'imager', out: outDir, files, sums };
  });
}

/** source factory: download the kernel and initramfs (or the UKI with SecureBoot) of the spec's schematic. */
export async function buildWithFactory(spec: Spec, outDir: string, downloader: Downloader, events: BuildEvents): Promise<BuildResult> {
  const urls = factoryUrls(spec);
  const wanted: { name: string; url: string }[] = spec.image.secureboot
    ? [{ name: path.posix.basename(urls.uki!), url: urls.uki! }]
    : [
        { name: `kernel-${spec.image.arch}`, url: urls.kernel },
        { name: `initramfs-${spec.image.arch}.xz`, url: urls.initramfs },
      ];
  return stage(outDir, async (tmp) => {
    const produced: { name: string; url: string; sha256: string; bytes: number }[] = [];
    for (const w of wanted) {
      events.log(`downloading ${w.url}`);
      const onProgress: ProgressFn = (done, total) => events.progress?.(w.name, done, total);
      const got = await downloader.download(w.url, path.join(tmp, w.name), onProgress);
      events.finished?.(w.name);
      events.log(`${w.name}: ${got.bytes} bytes, sha256 ${got.sha256}`);
      produced.push({ name: w.name, url: w.url, sha256: got.sha256, bytes: got.bytes });
    }
    const { files, sums } = await publish(spec, tmp, outDir, produced);
    return { source: 'factory', out: outDir, files, sums };
  });
}
