/**
 * The image stage (the seed's first step): Talos imager profiles, the Image Factory schematic and
 * its URLs, and building or downloading the boot assets. Everything here except ./build is pure.
 */
import { stringify } from 'yaml';
import type { Artifact } from '../common/artifacts.js';
import type { LoadedSpec, Spec } from '../spec/index.js';
import { allKinds, extensionRefs, renderProfile } from './profile.js';
import { marshalSchematic, schematicFor, schematicId } from './schematic.js';
import { factoryUrls } from './urls.js';

export { checkImage } from './check.js';
export { CATALOGS, catalogEntry, entryRef, knownReleases, releaseCatalog, type CatalogEntry, type ReleaseCatalog } from './catalog/index.js';
export { allKinds, baseInstallerRef, extensionRefs, imagerProfile, PROFILE_KINDS, renderProfile, type ImagerProfile, type ProfileKind } from './profile.js';
export { customNames, marshalSchematic, schematicData, schematicFor, schematicId, type Schematic } from './schematic.js';
export { factoryUrls, type FactoryUrls } from './urls.js';

/**
 * The installer image the Talos machine configs install from (machine.install.image):
 * image.installer when set; otherwise the Image Factory installer for the spec's schematic and
 * version (for source imager too: the factory builds the same official extensions into the same
 * release, so nodes install exactly what `hearth image build` produced, without a registry of
 * your own). With custom image.refs, checkImage requires image.installer.
 */
export function installerImage(spec: Spec): string {
  return spec.image.installer ?? factoryUrls(spec).installer;
}

/** Catalog entries whose tag hearth derived rather than saw published: worth a warning before a build. */
export function unverifiedRefs(spec: Spec): string[] {
  if (spec.image.source !== 'imager') return [];
  return extensionRefs(spec)
    .filter((e) => !e.verified)
    .map((e) => e.ref);
}

/** What `hearth plan` writes into DIR/image/: one imager profile per kind, the schematic and its ID, the URLs. */
export async function planImage(loaded: LoadedSpec): Promise<Artifact[]> {
  const { spec } = loaded;
  const schematic = schematicFor(spec);
  const id = schematicId(schematic);
  const urls = { ...factoryUrls(spec, id), installImage: installerImage(spec) };
  const profiles: Artifact[] = allKinds(spec).map((kind) => ({
    path: `profiles/${kind}.yaml`,
    content: renderProfile(spec, kind),
    description: `Talos imager profile (${kind}): docker run --rm -i -v /dev:/dev --privileged ghcr.io/siderolabs/imager:${spec.talos.version} - < profiles/${kind}.yaml`,
  }));
  return [
    ...profiles,
    {
      path: 'schematic.yaml',
      content: marshalSchematic(schematic),
      description: 'Image Factory schematic, canonical bytes: sha256sum schematic.yaml = its ID',
    },
    { path: 'schematic.id', content: `${id}\n`, description: 'Image Factory schematic ID' },
    { path: 'urls.yaml', content: stringify(urls, { lineWidth: 0 }), description: 'Image Factory URLs and the install image' },
  ];
}
