import { catalog as v1_6_4 } from './v1.6.4.js';
import { catalog as v1_13_9 } from './v1.13.9.js';
import { REGISTRY, type CatalogEntry, type ReleaseCatalog } from './types.js';

export { REGISTRY, type CatalogEntry, type ReleaseCatalog };

/** Every release hearth ships a catalog for, oldest first. */
export const CATALOGS: readonly ReleaseCatalog[] = [v1_6_4, v1_13_9];

export function releaseCatalog(talos: string): ReleaseCatalog | undefined {
  return CATALOGS.find((c) => c.talos === talos);
}

export function knownReleases(): string[] {
  return CATALOGS.map((c) => c.talos);
}

export function catalogEntry(cat: ReleaseCatalog, name: string): CatalogEntry | undefined {
  return cat.entries.find((e) => e.name === name);
}

/** `ghcr.io/siderolabs/<name>:<tag>` */
export function entryRef(e: CatalogEntry): string {
  return `${REGISTRY}/${e.name}:${e.tag}`;
}
