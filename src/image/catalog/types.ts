/** One official system extension package of a Talos release. */
export interface CatalogEntry {
  /** Name as in hearth.yaml and `siderolabs/<name>` in an Image Factory schematic. */
  name: string;
  /** firmware: linux-firmware/microcode packages; extension: everything else (modules, tools, runtimes). */
  kind: 'firmware' | 'extension';
  /** Image tag on ghcr.io/siderolabs/<name>. */
  tag: string;
  /**
   * true: the tag was seen in a published source for exactly this release (see the file's
   * sources). false: derived from the release's tag scheme (same linux-firmware date, or
   * `<version>-<talos>` for kernel modules) and not seen published; hearth warns when it uses one.
   */
  verified: boolean;
}

export interface ReleaseCatalog {
  talos: string;
  /** Where the data came from. */
  sources: string[];
  entries: CatalogEntry[];
  /** Names that other releases use for a package of this one: old or new name -> name here. */
  renamed: Record<string, string>;
}

export const REGISTRY = 'ghcr.io/siderolabs';
