import { Option, type Command } from 'commander';
// Data modules only (no renderer): the flag choices and help text below need them at start-up.
import { CATALOGS } from '../../image/catalog/index.js';
import { PROFILE_KINDS } from '../../image/kinds.js';
import { DEFAULT_TALOS_VERSION } from '../../spec/versions.js';
import { lazy, withOutput, withSpecFile } from '../context.js';

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
  ).action(lazy(async () => (await import('../actions/image.js')).profile));

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
  ).action(lazy(async () => (await import('../actions/image.js')).schematic));

  withOutput(
    withSpecFile(
      image
        .command('urls')
        .description('print the Image Factory URLs (kernel, initramfs, ISO, disk image, PXE) and the installer image')
        .addHelpText('after', '\nExamples:\n  hearth image urls\n  hearth image urls -o json | jq -r .kernel'),
    ),
  ).action(lazy(async () => (await import('../actions/image.js')).urls));

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
  ).action(lazy(async () => (await import('../actions/image.js')).build));

  withOutput(
    image
      .command('catalog')
      .description('list the official extensions and firmware hearth knows for a Talos release')
      .option('--talos <VERSION>', 'Talos release', DEFAULT_TALOS_VERSION)
      .addHelpText('after', `\nKnown releases: ${CATALOGS.map((c) => c.talos).join(', ')}.\n\nExamples:\n  hearth image catalog\n  hearth image catalog --talos v1.6.4 -o json`),
  ).action(lazy(async () => (await import('../actions/image.js')).catalog));
}

