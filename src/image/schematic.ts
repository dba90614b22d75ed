import { createHash } from 'node:crypto';
import type { Spec } from '../spec/index.js';
import { catalogEntry, releaseCatalog } from './catalog/index.js';
import { requestedNames } from './names.js';
import { marshalYamlV3 } from '../common/yamlv3.js';

/**
 * An Image Factory schematic (siderolabs/image-factory pkg/schematic): the customization the
 * factory applies to a Talos release. Field names and order are those of the Go structs.
 */
export interface Schematic {
  overlay?: { image: string; name: string };
  customization: {
    extraKernelArgs?: string[];
    meta?: { key: number; value: string }[];
    systemExtensions?: { officialExtensions?: string[] };
    secureboot?: { includeWellKnownCertificates?: boolean };
  };
}

/**
 * Names that are not official extensions of the spec's release: given only through image.refs
 * (custom images). The Image Factory cannot install them, so they stay out of the schematic.
 */
export function customNames(spec: Spec): string[] {
  const cat = releaseCatalog(spec.talos.version);
  return requestedNames(spec)
    .map((n) => n.name)
    .filter((name) => spec.image.refs[name] !== undefined && !(cat && catalogEntry(cat, name)));
}

/** The schematic for a spec: official extensions `siderolabs/<name>`, firmware first, in the spec's order. */
export function schematicFor(spec: Spec): Schematic {
  const custom = new Set(customNames(spec));
  const officialExtensions = requestedNames(spec)
    .filter((n) => !custom.has(n.name))
    .map((n) => `siderolabs/${n.name}`);
  const customization: Schematic['customization'] = {};
  if (spec.image.extraKernelArgs.length > 0) customization.extraKernelArgs = [...spec.image.extraKernelArgs];
  if (officialExtensions.length > 0) customization.systemExtensions = { officialExtensions };
  return { customization };
}

/**
 * The canonical bytes: what yaml.v3 `yaml.Marshal(schematic)` produces (4-space indent,
 * omitempty fields left out, an all-empty customization as `customization: {}`).
 */
export function marshalSchematic(s: Schematic): string {
  const c = s.customization;
  const nonEmpty = <T>(list: T[] | undefined) => (list && list.length > 0 ? list : undefined);
  const exts = nonEmpty(c.systemExtensions?.officialExtensions);
  return marshalYamlV3({
    overlay: s.overlay ? { image: s.overlay.image, name: s.overlay.name } : undefined,
    customization: {
      extraKernelArgs: nonEmpty(c.extraKernelArgs),
      meta: nonEmpty(c.meta)?.map((m) => ({ key: m.key, value: m.value })),
      systemExtensions: exts ? { officialExtensions: exts } : undefined,
      secureboot: c.secureboot?.includeWellKnownCertificates ? { includeWellKnownCertificates: true } : undefined,
    },
  });
}

/** The schematic ID: sha256 of the canonical bytes, hex, exactly as the Image Factory computes it. */
export function schematicId(s: Schematic): string {
  return createHash('sha256').update(marshalSchematic(s)).digest('hex');
}

/** The schematic as plain data for `-o json`: empty fields left out like the YAML. */
export function schematicData(s: Schematic): Record<string, unknown> {
  const c = s.customization;
  const customization: Record<string, unknown> = {};
  if (c.extraKernelArgs?.length) customization.extraKernelArgs = c.extraKernelArgs;
  if (c.meta?.length) customization.meta = c.meta;
  if (c.systemExtensions?.officialExtensions?.length) customization.systemExtensions = { officialExtensions: c.systemExtensions.officialExtensions };
  if (c.secureboot?.includeWellKnownCertificates) customization.secureboot = { includeWellKnownCertificates: true };
  return s.overlay ? { overlay: s.overlay, customization } : { customization };
}
