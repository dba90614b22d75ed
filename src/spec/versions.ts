/**
 * Talos releases hearth knows, newest last. Each carries the Kubernetes version that release's
 * `talosctl gen config` defaults to (pkg/machinery/constants.DefaultKubernetesVersion at that tag).
 */
export interface TalosRelease {
  version: string;
  kubernetesVersion: string;
}

export const TALOS_RELEASES: readonly TalosRelease[] = [
  { version: 'v1.6.4', kubernetesVersion: '1.29.1' },
  { version: 'v1.13.9', kubernetesVersion: '1.36.3' },
];

/** The newest stable Talos hearth knows: the default for `talos.version`. */
export const DEFAULT_TALOS_VERSION = TALOS_RELEASES[TALOS_RELEASES.length - 1]!.version;

export const TALOS_VERSION_RE = /^v(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/;
export const KUBERNETES_VERSION_RE = /^v?(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/;

export function talosRelease(version: string): TalosRelease | undefined {
  return TALOS_RELEASES.find((r) => r.version === version);
}

/** `v1.13.9` -> `[1, 13]`. */
export function majorMinor(version: string): [number, number] {
  const m = TALOS_VERSION_RE.exec(version) ?? KUBERNETES_VERSION_RE.exec(version);
  if (!m) throw new Error(`not a version: ${version}`);
  return [Number(m[1]), Number(m[2])];
}

/**
 * The Kubernetes version a spec gets when it names none: the one its Talos release defaults to,
 * or, for a release hearth has no record of, that of the newest known release of the same or an
 * older minor line.
 */
export function defaultKubernetesVersion(talosVersion: string): string {
  const exact = talosRelease(talosVersion);
  if (exact) return exact.kubernetesVersion;
  const [maj, min] = majorMinor(talosVersion);
  const older = TALOS_RELEASES.filter((r) => {
    const [a, b] = majorMinor(r.version);
    return a < maj || (a === maj && b <= min);
  });
  return (older[older.length - 1] ?? TALOS_RELEASES[0]!).kubernetesVersion;
}
