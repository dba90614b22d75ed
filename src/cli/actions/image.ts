import path from 'node:path';
import { InputError } from '../../common/errors.js';
import { writeFileAtomic } from '../../common/fs.js';
import {
  allKinds,
  customNames,
  factoryUrls,
  installerImage,
  knownReleases,
  marshalSchematic,
  releaseCatalog,
  renderProfile,
  schematicData,
  schematicFor,
  schematicId,
  unverifiedRefs,
  type ProfileKind,
} from '../../image/index.js';
import { buildWithFactory, buildWithImager, DockerCli, HttpDownloader, type BuildEvents } from '../../image/build/index.js';
import { prepare } from '../../pipeline/prepare.js';
import type { Spec } from '../../spec/index.js';
import { formatData } from '../format.js';
import { out, paint, say, table, warn } from '../output.js';

function kindsFor(spec: Spec, kind: string): ProfileKind[] {
  return kind === 'all' ? allKinds(spec) : [kind as ProfileKind];
}

function warnUnverified(spec: Spec): void {
  const refs = unverifiedRefs(spec);
  if (refs.length > 0) {
    warn(
      `${refs.length} extension tag${refs.length === 1 ? '' : 's'} for Talos ${spec.talos.version} ${refs.length === 1 ? 'is' : 'are'} derived, not seen published: ${refs.join(', ')}; ` +
        'pin them in image.refs if the imager cannot pull one',
    );
  }
}

export async function profile(opts: { file: string; kind: string; out?: string }): Promise<void> {
  const { spec } = prepare(opts.file).loaded;
  const kinds = kindsFor(spec, opts.kind);
  const rendered = kinds.map((k) => ({ kind: k, text: renderProfile(spec, k) }));
  warnUnverified(spec);
  if (opts.out) {
    for (const r of rendered) await writeFileAtomic(path.join(opts.out, `${r.kind}.yaml`), r.text);
    say(`wrote ${rendered.map((r) => path.join(opts.out!, `${r.kind}.yaml`)).join(', ')}`);
    return;
  }
  process.stdout.write(rendered.map((r) => r.text).join('---\n'));
}

export function schematic(opts: { file: string; output: string }): void {
  const { spec } = prepare(opts.file).loaded;
  const s = schematicFor(spec);
  const id = schematicId(s);
  const custom = customNames(spec);
  if (custom.length > 0) warn(`left out of the schematic (custom images from image.refs, not official extensions): ${custom.join(', ')}`);
  if (opts.output === 'json') out(formatData({ id, schematic: schematicData(s) }, 'json'));
  else if (opts.output === 'id') out(id);
  else {
    process.stdout.write(marshalSchematic(s));
    say(`schematic id: ${id}`);
  }
}

export function urls(opts: { file: string; output: string }): void {
  const { spec } = prepare(opts.file).loaded;
  const urls = { ...factoryUrls(spec), installImage: installerImage(spec) };
  if (opts.output === 'json' || opts.output === 'yaml') {
    out(formatData(urls, opts.output));
    return;
  }
  const rows: [string, string][] = [
    ['schematic', urls.schematic],
    ['kernel', urls.kernel],
    ['initramfs', urls.initramfs],
    ['cmdline', urls.cmdline],
    ['iso', urls.iso],
    ['disk', urls.disk],
    ...(urls.uki ? ([['uki', urls.uki]] as [string, string][]) : []),
    ['pxe', urls.pxe],
    ['installer', urls.installer],
    ['install image', urls.installImage],
  ];
  out(table(['ASSET', 'URL'], rows));
}

export async function build(opts: { file: string; out?: string; kind: string; secureBootKeys?: string; output: string }): Promise<void> {
  const loaded = prepare(opts.file).loaded;
  const { spec } = loaded;
  const outDir = opts.out ?? path.resolve(loaded.baseDir, spec.netboot.assets);
  const events = progressEvents();
  let result;
  try {
    if (spec.image.source === 'imager') {
      warnUnverified(spec);
      result = await buildWithImager(spec, outDir, kindsFor(spec, opts.kind), new DockerCli(), events, opts.secureBootKeys);
    } else {
      if (opts.kind !== 'all') throw new InputError('--kind applies to source imager; the factory build downloads the kernel and initramfs');
      result = await buildWithFactory(spec, outDir, new HttpDownloader(), events);
    }
  } finally {
    events.endLine(); // an error message starts on its own line, not after a progress bar
  }
  if (opts.output === 'json' || opts.output === 'yaml') {
    out(formatData(result, opts.output));
    return;
  }
  out(table(['FILE', 'BYTES', 'SHA256'], result.files.map((f) => [f.name, String(f.bytes), f.sha256])));
  say(`wrote ${result.files.length} files and SHA256SUMS into ${outDir}`);
}

export function catalog(opts: { talos: string; output: string }): void {
  const cat = releaseCatalog(opts.talos);
  if (!cat) throw new InputError(`hearth has no extension catalog for Talos ${opts.talos} (it knows ${knownReleases().join(', ')})`);
  if (opts.output === 'json' || opts.output === 'yaml') {
    out(formatData(cat, opts.output));
    return;
  }
  out(table(['NAME', 'KIND', 'IMAGE', 'VERIFIED'], cat.entries.map((e) => [e.name, e.kind, `ghcr.io/siderolabs/${e.name}:${e.tag}`, e.verified ? 'yes' : 'derived'])));
  say(`sources: ${cat.sources.join('; ')}`);
}

/** Download progress on stderr: a bar on a terminal, a few log lines otherwise. */
function progressEvents(): BuildEvents & { endLine(): void } {
  const tty = Boolean(process.stderr.isTTY);
  const lastStep = new Map<string, number>();
  let open = false;
  let lastDrawn = '';
  const endLine = () => {
    if (open) process.stderr.write('\n');
    open = false;
  };
  return {
    endLine,
    log: (line) => {
      endLine();
      say(line);
    },
    progress: (name, done, total) => {
      if (tty) {
        const width = 30;
        const frac = total ? Math.min(1, done / total) : 0;
        const bar = total ? '#'.repeat(Math.round(frac * width)).padEnd(width, '.') : '?'.repeat(width);
        const pct = total ? `${Math.floor(frac * 100)}%`.padStart(4) : '  ? ';
        const line = `${paint('dim', name)} [${bar}] ${pct} ${mib(done)}${total ? `/${mib(total)}` : ''} MiB`;
        if (line === lastDrawn) return; // redraw only when something visible changed
        lastDrawn = line;
        process.stderr.write(`\r${line}`);
        open = true;
        return;
      }
      // Not a terminal: a line at each quarter, so logs show movement without flooding.
      if (!total) return;
      const step = Math.floor((done / total) * 4);
      if (step > (lastStep.get(name) ?? 0) && step < 4) {
        lastStep.set(name, step);
        say(`${name}: ${step * 25}% (${mib(done)}/${mib(total)} MiB)`);
      }
    },
    finished: () => endLine(),
  };
}

function mib(n: number): string {
  return (n / 1048576).toFixed(1);
}

