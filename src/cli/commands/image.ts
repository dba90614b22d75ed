import path from 'node:path';
import { Option, type Command } from 'commander';
import { InputError } from '../../common/errors.js';
import { writeFileAtomic } from '../../common/fs.js';
import {
  allKinds,
  CATALOGS,
  customNames,
  factoryUrls,
  installerImage,
  knownReleases,
  marshalSchematic,
  PROFILE_KINDS,
  releaseCatalog,
  renderProfile,
  schematicData,
  schematicFor,
  schematicId,
  unverifiedRefs,
  type ProfileKind,
} from '../../image/index.js';
import { buildWithFactory, buildWithImager, DockerCli, HttpDownloader, type BuildEvents } from '../../image/build/index.js';
import type { Spec } from '../../spec/index.js';
import { DEFAULT_TALOS_VERSION } from '../../spec/versions.js';
import { loadChecked, withOutput, withSpecFile } from '../context.js';
import { formatData, out, paint, say, table, warn } from '../output.js';

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

export function registerImage(program: Command): void {
  const image = program
    .command('image')
    .description('stage 1: the Talos OS image (imager profiles, Image Factory schematic and URLs, build)')
    .addHelpText('after', '\nExamples:\n  hearth image profile -f hearth.yaml\n  hearth image schematic -o json\n  hearth image urls\n  hearth image build --out assets');

  withSpecFile(
    image
      .command('profile')
      .description('print the Talos imager profile (YAML on stdout), or write one file per kind with --out')
      .addOption(new Option('--kind <KIND>', 'output kind').choices([...PROFILE_KINDS, 'all']).default('installer'))
      .option('--out <DIR>', 'write DIR/<kind>.yaml instead of printing')
      .addHelpText(
        'after',
        '\nThe installer profile is what the seed feeds the imager:\n  hearth image profile | docker run --rm -i -v /dev:/dev --privileged ghcr.io/siderolabs/imager:v1.13.9 -\n\nExamples:\n  hearth image profile -f examples/hearth.yaml\n  hearth image profile --kind all --out profiles/',
      ),
  ).action(async (opts: { file: string; kind: string; out?: string }) => {
    const { spec } = loadChecked(opts.file);
    const kinds = kindsFor(spec, opts.kind);
    const rendered = kinds.map((k) => ({ kind: k, text: renderProfile(spec, k) }));
    warnUnverified(spec);
    if (opts.out) {
      for (const r of rendered) await writeFileAtomic(path.join(opts.out, `${r.kind}.yaml`), r.text);
      say(`wrote ${rendered.map((r) => path.join(opts.out!, `${r.kind}.yaml`)).join(', ')}`);
      return;
    }
    process.stdout.write(rendered.map((r) => r.text).join('---\n'));
  });

  withOutput(
    withSpecFile(
      image
        .command('schematic')
        .description('print the Image Factory schematic of the spec and its ID (the ID the factory assigns)')
        .addHelpText(
          'after',
          '\nyaml prints the canonical schematic (POST it to FACTORY/schematics) and the ID on stderr;\njson prints {"id": ..., "schematic": {...}}; id prints only the ID.\n\nExamples:\n  hearth image schematic | curl -X POST --data-binary @- https://factory.talos.dev/schematics\n  hearth image schematic -o json',
        ),
    ),
    ['yaml', 'json', 'id'],
  ).action((opts: { file: string; output: string }) => {
    const { spec } = loadChecked(opts.file);
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
  });

  withOutput(
    withSpecFile(
      image
        .command('urls')
        .description('print the Image Factory URLs (kernel, initramfs, ISO, disk image, PXE) and the installer image')
        .addHelpText('after', '\nExamples:\n  hearth image urls\n  hearth image urls -o json | jq -r .kernel'),
    ),
  ).action((opts: { file: string; output: string }) => {
    const { spec } = loadChecked(opts.file);
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
  });

  withOutput(
    withSpecFile(
      image
        .command('build')
        .description('build the boot assets: run the Talos imager in Docker (source imager) or download them from the Image Factory (source factory)')
        .option('--out <DIR>', 'output directory (default: netboot.assets of the spec)')
        .addOption(new Option('--kind <KIND>', 'imager output kinds to build').choices([...PROFILE_KINDS, 'all']).default('all'))
        .option('--secureboot-keys <DIR>', 'directory with the SecureBoot signing keys (image.secureboot: true with source imager)')
        .addHelpText(
          'after',
          '\nsource imager runs, once per kind:\n  docker run --rm -i -v /dev:/dev --privileged -v DIR:/out ghcr.io/siderolabs/imager:VERSION - < profile\nsource factory downloads kernel and initramfs (the UKI with SecureBoot).\nThe kernel and initramfs are saved under the netboot names (netboot.kernel, netboot.initrd[0]);\nsha256 sums go to DIR/SHA256SUMS. On failure nothing is left in DIR.\n\nExamples:\n  hearth image build\n  hearth image build --out assets -o json',
        ),
    ),
  ).action(async (opts: { file: string; out?: string; kind: string; secureBootKeys?: string; output: string }) => {
    const loaded = loadChecked(opts.file);
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
  });

  withOutput(
    image
      .command('catalog')
      .description('list the official extensions and firmware hearth knows for a Talos release')
      .option('--talos <VERSION>', 'Talos release', DEFAULT_TALOS_VERSION)
      .addHelpText('after', `\nKnown releases: ${CATALOGS.map((c) => c.talos).join(', ')}.\n\nExamples:\n  hearth image catalog\n  hearth image catalog --talos v1.6.4 -o json`),
  ).action((opts: { talos: string; output: string }) => {
    const cat = releaseCatalog(opts.talos);
    if (!cat) throw new InputError(`hearth has no extension catalog for Talos ${opts.talos} (it knows ${knownReleases().join(', ')})`);
    if (opts.output === 'json' || opts.output === 'yaml') {
      out(formatData(cat, opts.output));
      return;
    }
    out(table(['NAME', 'KIND', 'IMAGE', 'VERIFIED'], cat.entries.map((e) => [e.name, e.kind, `ghcr.io/siderolabs/${e.name}:${e.tag}`, e.verified ? 'yes' : 'derived'])));
    say(`sources: ${cat.sources.join('; ')}`);
  });
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

