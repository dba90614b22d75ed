import type { LoadedSpec, SpecIssue } from '../spec/index.js';
import { didYouMean } from '../spec/suggest.js';
import { CATALOGS, catalogEntry, knownReleases, releaseCatalog } from './catalog/index.js';
import { atLeast, requestedNames, versionParts } from './names.js';

const KIND_WORD = { firmware: 'firmware', extensions: 'extension' } as const;

/** How many names an error lists before pointing at `hearth image catalog` instead. */
const LIST_LIMIT = 15;

/**
 * The image stage's checks: every firmware and extension name must be in the catalog of the
 * spec's Talos release (or have an explicit ref), in the list of its kind, and listed once.
 */
export function checkImage(loaded: LoadedSpec): SpecIssue[] {
  const { spec } = loaded;
  const img = spec.image;
  const version = spec.talos.version;
  const issues: SpecIssue[] = [];
  const refs = img.refs;

  // Duplicates (the renderers keep the first; the user probably meant something else).
  const firstAt = new Map<string, string>();
  for (const field of ['firmware', 'extensions'] as const) {
    img[field].forEach((name, i) => {
      const here = `image.${field}[${i}]`;
      const prev = firstAt.get(name);
      if (prev) issues.push({ path: ['image', field, i], message: `"${name}" is listed twice (also at ${prev})` });
      else firstAt.set(name, here);
    });
  }

  const names = requestedNames(spec);
  const cat = releaseCatalog(version);
  if (!cat) {
    const uncovered = names.filter((n) => !refs[n.name]).map((n) => n.name);
    if (uncovered.length > 0) {
      issues.push({
        path: ['talos', 'version'],
        message:
          `hearth has no extension catalog for Talos ${version} (it knows ${knownReleases().join(', ')}); ` +
          `use one of those, or give image.refs for ${uncovered.join(', ')}`,
      });
    }
  } else {
    for (const n of names) {
      if (refs[n.name]) continue;
      const entry = catalogEntry(cat, n.name);
      const word = KIND_WORD[n.field];
      const path = ['image', n.field, n.index];
      if (!entry) {
        const renamed = cat.renamed[n.name];
        if (renamed) {
          issues.push({ path, message: renameMessage(n.name, renamed, version) });
          continue;
        }
        const sameKind = cat.entries.filter((e) => e.kind === (n.field === 'firmware' ? 'firmware' : 'extension')).map((e) => e.name);
        const hint = didYouMean(n.name, cat.entries.map((e) => e.name));
        const known =
          sameKind.length <= LIST_LIMIT
            ? `known ${word}: ${sameKind.join(', ')}`
            : `${sameKind.length} ${word}s are known, list them with \`hearth image catalog --talos ${version}\``;
        issues.push({
          path,
          message: `unknown ${word} "${n.name}" for Talos ${version}${hint}; ${known}; or give its image in image.refs`,
        });
        continue;
      }
      if (entry.kind === 'firmware' && n.field === 'extensions') {
        issues.push({ path, message: `"${n.name}" is firmware: list it under image.firmware` });
      } else if (entry.kind === 'extension' && n.field === 'firmware') {
        issues.push({ path, message: `"${n.name}" is an extension, not firmware: list it under image.extensions` });
      }
    }
  }

  // Refs nobody asks for are a typo or a leftover.
  const listed = new Set(names.map((n) => n.name));
  for (const key of Object.keys(refs)) {
    if (!listed.has(key)) {
      issues.push({ path: ['image', 'refs', key], atKey: true, message: `"${key}" is not in image.firmware or image.extensions, so this ref is unused` });
    }
  }
  if (img.source === 'factory' && Object.keys(refs).length > 0) {
    issues.push({
      path: ['image', 'refs'],
      atKey: true,
      message: 'image.refs only apply to source imager: the Image Factory installs official extensions by name',
    });
  }
  if (img.source === 'imager' && Object.keys(refs).length > 0 && img.installer === undefined) {
    issues.push({
      path: ['image', 'refs'],
      atKey: true,
      message:
        'with custom image.refs the Image Factory cannot serve the installer: set image.installer to the image you push the installer built by `hearth image build` to',
    });
  }
  return issues;
}

/** `amdgpu-firmware` in v1.13.9: renamed; `amdgpu` in v1.6.4: the newer name of `amdgpu-firmware`. */
function renameMessage(name: string, here: string, version: string): string {
  const holder = CATALOGS.find((c) => c.entries.some((e) => e.name === name));
  const [maj, min] = versionParts(version);
  const older = holder ? !atLeast(holder.talos, maj, min) : false;
  return older
    ? `"${name}" was renamed to "${here}" by Talos ${version}: use "${here}"`
    : `"${name}" is the newer name of this package: Talos ${version} calls it "${here}"`;
}
