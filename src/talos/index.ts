/**
 * The talos stage: the Talos secrets bundle, machine configs and talosconfig from hearth.yaml,
 * interchangeable with what talosctl makes (`talosctl gen secrets`, `talosctl gen config`).
 *
 * Layout: contract.ts (version -> features), pki.ts + secrets.ts (bundle), generate.ts (base
 * configs), patch.ts (strategic merge + RFC 6902), node.ts (per-machine patch), schema.ts (ajv +
 * key order), render.ts (the pure pipeline), yaml.ts (talosctl's YAML layout). This file is the edge:
 * it reads patch files and secrets, makes keys, and turns results into artifacts.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeArtifacts, type Artifact } from '../common/artifacts.js';
import { InputError } from '../common/errors.js';
import { exists, readInputFile, writeFileAtomic } from '../common/fs.js';
import * as imageStage from '../image/index.js';
import type { LoadedSpec, Spec, SpecIssue, SpecPath } from '../spec/index.js';
import { contractFor, contractSupported, type TalosContract } from './contract.js';
import type { Doc } from './generate.js';
import { parsePatchText, PatchError, toPatch, type Patch } from './patch.js';
import { renderTalos, TalosConfigError, type ClusterNetworking, type PatchSet, type RenderedTalos, type SourcedPatch } from './render.js';
import { generateSecrets, parseSecrets, SecretsError, serializeSecrets, talosClientCert, type SecretsBundle } from './secrets.js';
import { docsToYaml } from './yaml.js';

export { contractFor, type TalosContract } from './contract.js';
export { generateBase, type Doc, type GenOptions } from './generate.js';
export { applyPatch, applyJsonPatch, parsePatchText, toPatch, PatchError, type Patch } from './patch.js';
export { renderTalos, TalosConfigError, semanticProblems, networkingPatches, type ClusterNetworking, type RenderedTalos } from './render.js';
export { generateSecrets, parseSecrets, serializeSecrets, talosClientCert, SecretsError, type SecretsBundle } from './secrets.js';
export { validateDocument, canonicalOrder } from './schema.js';
export { docsToYaml, yamlToDocs } from './yaml.js';

/** The marker Talos uses in redacted configs (config.RedactSecrets). */
export const REDACTED = '******';

/**
 * The installer image nodes install from: the image stage's ref (imager or Image Factory installer)
 * when that stage provides one, else the stock installer of the Talos release.
 */
export function installImageFor(spec: Spec): string {
  return imageStage.installerImage(spec) || `ghcr.io/siderolabs/installer:${spec.talos.version}`;
}

// ---- patches (edge: reads files) ----

type RawPatch = Spec['cluster']['patches']['common'][number];

/** How a string patch is meant: a file (path, or @path) or inline YAML text. */
function stringPatchKind(s: string): 'file' | 'inline' {
  if (s.startsWith('@')) return 'file';
  if (s.includes('\n') || /^\s*[[{]/.test(s) || /^\s*[\w.$/-]+:(\s|$)/.test(s)) return 'inline';
  return 'file';
}

interface LoadedPatch {
  at: SpecPath;
  sourced?: SourcedPatch;
  issue?: SpecIssue;
}

function loadOne(raw: RawPatch, at: SpecPath, baseDir: string): LoadedPatch {
  const pos = formatSpecPath(at);
  try {
    if (typeof raw === 'string') {
      if (stringPatchKind(raw) === 'file') {
        const rel = raw.replace(/^@/, '');
        const file = path.resolve(baseDir, rel);
        if (!existsSync(file)) return { at, issue: { path: at, message: `patch file ${rel} does not exist (paths are relative to the spec file)` } };
        if (!statSync(file).isFile()) return { at, issue: { path: at, message: `patch ${rel} is not a file` } };
        try {
          return { at, sourced: { source: rel, patch: parsePatchText(readFileSync(file, 'utf8')) } };
        } catch (err) {
          if (err instanceof PatchError) return { at, issue: { path: at, message: `patch file ${rel}: ${err.message}` } };
          throw err;
        }
      }
      return { at, sourced: { source: pos, patch: parsePatchText(raw) } };
    }
    return { at, sourced: { source: pos, patch: toPatch(raw) } };
  } catch (err) {
    if (err instanceof PatchError) return { at, issue: { path: at, message: `patch: ${err.message}` } };
    throw err;
  }
}

function formatSpecPath(p: SpecPath): string {
  return p.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}

/** Reads every patch the spec names; problems come back as issues at the patch's spec position. */
export function loadPatches(loaded: LoadedSpec): { patches: PatchSet; issues: SpecIssue[] } {
  const { spec, baseDir } = loaded;
  const issues: SpecIssue[] = [];
  const take = (list: RawPatch[], at: SpecPath): SourcedPatch[] =>
    list.flatMap((raw, i) => {
      const r = loadOne(raw, [...at, i], baseDir);
      if (r.issue) issues.push(r.issue);
      return r.sourced ? [r.sourced] : [];
    });
  const patches: PatchSet = {
    common: take(spec.cluster.patches.common, ['cluster', 'patches', 'common']),
    controlplane: take(spec.cluster.patches.controlplane, ['cluster', 'patches', 'controlplane']),
    worker: take(spec.cluster.patches.worker, ['cluster', 'patches', 'worker']),
    machines: {},
  };
  spec.machines.forEach((m, i) => {
    patches.machines[m.name] = take(m.patches, ['machines', i, 'patches']);
  });
  return { patches, issues };
}

// ---- checks ----

/**
 * Spec-level checks of the talos stage; each names its field. (Address/gateway/VIP arithmetic,
 * installDisk-or-diskSelector and interface-or-bond exclusivity and the control-plane count are
 * checked by the spec loader already.)
 */
export function checkTalos(loaded: LoadedSpec): SpecIssue[] {
  const { spec } = loaded;
  const issues: SpecIssue[] = [];
  if (!contractSupported(spec.talos.version)) {
    issues.push({ path: ['talos', 'version'], message: `hearth generates machine configs for Talos v1.6 and later, not ${spec.talos.version}` });
    return issues;
  }
  const contract = contractFor(spec.talos.version);
  issues.push(...loadPatches(loaded).issues);
  const hostnames = new Map<string, number>();
  spec.machines.forEach((m, i) => {
    const at = (...p: (string | number)[]): SpecPath => ['machines', i, ...p];
    const h = m.hostname ?? m.name;
    if (hostnames.has(h)) issues.push({ path: at(m.hostname ? 'hostname' : 'name'), message: `hostname ${h} is already used by machines[${hostnames.get(h)}]` });
    else hostnames.set(h, i);
    if (m.role === 'controlplane' && !m.installDisk && !m.diskSelector) {
      issues.push({ path: at('installDisk'), message: 'a control plane needs installDisk or diskSelector' });
    }
    if ((m.address || m.gateway) && m.interface === undefined && !m.bond) {
      issues.push({ path: at(m.address ? 'address' : 'gateway'), message: 'a static address needs an interface or a bond to sit on' });
    }
    if (m.role === 'controlplane' && spec.cluster.vip && m.interface === undefined && !m.bond) {
      issues.push({ path: at('interface'), message: 'the VIP needs an interface or a bond on every control plane' });
    }
    if (contract.multiDocNetwork && m.interface && typeof m.interface === 'object' && 'physical' in m.interface) {
      issues.push({ path: at('interface', 'physical'), message: `Talos ${contract.name} selects links with CEL over LinkStatus, which has no "physical" field: use hardwareAddr, permanentAddr, driver, busPath or pciID` });
    }
    if (!contract.multiDocNetwork && m.interface && typeof m.interface === 'object') {
      for (const k of ['permanentAddr', 'physical'] as const) {
        if (k in m.interface) issues.push({ path: at('interface', k), message: `Talos ${contract.name} device selectors have no ${k} (busPath, hardwareAddr, pciID, driver)` });
      }
    }
    if (m.bond && m.interface === undefined) {
      const dup = m.bond.interfaces.find((x, j) => m.bond!.interfaces.indexOf(x) !== j);
      if (dup) issues.push({ path: at('bond', 'interfaces'), message: `link ${dup} is listed twice` });
    }
  });
  return issues;
}

// ---- generation (edge: keys, files) ----

export interface TalosOutput {
  secrets: SecretsBundle;
  rendered: RenderedTalos;
  contract: TalosContract;
  installImage: string;
}

/** Reads a secrets bundle file (talosctl's or hearth's); InputError naming the file otherwise. */
export function readSecretsFile(file: string): SecretsBundle {
  const text = readInputFile(file, 'secrets bundle');
  try {
    return parseSecrets(text);
  } catch (err) {
    if (err instanceof SecretsError) throw new InputError(`secrets bundle ${file}: ${err.message}`);
    throw err;
  }
}

/** New secrets for the spec's Talos version. */
export async function newSecrets(spec: Spec, now = new Date()): Promise<SecretsBundle> {
  return generateSecrets(contractFor(spec.talos.version), now);
}

/**
 * Renders every config for a loaded spec with the given secrets. Throws InputError (nothing written
 * yet) when a patch or the spec breaks a config: the message names the patch and the field.
 */
export async function generateTalos(loaded: LoadedSpec, secrets: SecretsBundle, now = new Date(), networking?: ClusterNetworking): Promise<TalosOutput> {
  const issues = checkTalos(loaded);
  if (issues.length > 0) {
    const first = loaded.locate(issues)[0]!;
    throw new InputError(`${first.file}:${first.line}:${first.col} ${formatSpecPath(first.path)}: ${first.message}`);
  }
  const { spec } = loaded;
  const contract = contractFor(spec.talos.version);
  const { patches } = loadPatches(loaded);
  const installImage = installImageFor(spec);
  const client = await talosClientCert(secrets, ['os:admin'], now);
  try {
    const rendered = renderTalos({ spec, contract, secrets, patches, installImage, client, networking });
    return { secrets, rendered, contract, installImage };
  } catch (err) {
    if (err instanceof TalosConfigError) throw new InputError(`patch ${err.message}`);
    throw err;
  }
}

const SECRET_MODE = 0o600;

/** The files `hearth talos config` writes (paths relative to its --out directory). */
export function configArtifacts(outp: TalosOutput): Artifact[] {
  const { rendered } = outp;
  return [
    { path: 'controlplane.yaml', content: docsToYaml(rendered.controlplane), mode: SECRET_MODE, description: 'control-plane base config' },
    { path: 'worker.yaml', content: docsToYaml(rendered.worker), mode: SECRET_MODE, description: 'worker base config' },
    { path: 'talosconfig', content: rendered.talosconfig, mode: SECRET_MODE, description: 'talosctl client config (os:admin)' },
    ...rendered.nodes.map((n) => ({ path: `nodes/${n.name}.yaml`, content: docsToYaml(n.docs), mode: SECRET_MODE, description: `${n.role} ${n.name}` })),
  ];
}

/** One file the write functions below wrote, for the CLI's summary. */
export interface WrittenFile {
  file: string;
  mode: string;
  what: string;
}

function alreadyExists(file: string, why = ''): InputError {
  return new InputError(`${file} already exists; use --force to replace it${why}`);
}

/**
 * `hearth talos secrets`: a new bundle in DIR/secrets.yaml (mode 0600, atomic). An existing bundle is
 * replaced only with `force`: every node config depends on it.
 */
export async function writeSecrets(spec: Spec, dir: string, opts: { force?: boolean } = {}): Promise<WrittenFile> {
  const file = path.join(dir, 'secrets.yaml');
  if (!opts.force && (await exists(file))) throw alreadyExists(file, ' (every node config depends on it)');
  const bundle = await newSecrets(spec);
  try {
    await writeFileAtomic(file, serializeSecrets(bundle), { mode: SECRET_MODE, exclusive: !opts.force });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyExists(file);
    throw err;
  }
  return { file, mode: '0600', what: `Talos secrets bundle for ${spec.talos.version}` };
}

/**
 * `hearth talos config`: every config into `out`, with the bundle from `secretsFile` (default
 * out/secrets.yaml, created there when missing). Everything is rendered and validated before the
 * first write; existing files are replaced only with `force`.
 */
export async function writeConfigs(
  loaded: LoadedSpec,
  opts: { out: string; secretsFile?: string; force?: boolean; networking?: ClusterNetworking },
): Promise<{ files: WrittenFile[]; result: TalosOutput; warnings: string[] }> {
  const warnings: string[] = [];
  const secretsFile = opts.secretsFile ?? path.join(opts.out, 'secrets.yaml');
  const creating = !opts.secretsFile && !(await exists(secretsFile));
  const bundle = creating ? await newSecrets(loaded.spec) : readSecretsFile(secretsFile);
  if (!creating) {
    const mode = statSync(secretsFile).mode & 0o777;
    if (mode & 0o077) warnings.push(`${secretsFile} is readable by others (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it`);
  }
  const result = await generateTalos(loaded, bundle, new Date(), opts.networking);
  const artifacts = configArtifacts(result);
  if (!opts.force) {
    for (const a of artifacts) {
      const file = path.join(opts.out, a.path);
      if (await exists(file)) throw alreadyExists(file);
    }
  }
  if (creating) await writeFileAtomic(secretsFile, serializeSecrets(bundle), { mode: SECRET_MODE, exclusive: true });
  await writeArtifacts(opts.out, artifacts);
  const files = [
    ...(creating ? [{ file: secretsFile, mode: '0600', what: 'Talos secrets bundle (new)' }] : []),
    ...artifacts.map((a) => ({ file: path.join(opts.out, a.path), mode: '0600', what: a.description ?? '' })),
  ];
  return { files, result, warnings };
}

/** Every string value of a bundle (and its base64), so configs can be redacted. */
function secretValues(b: SecretsBundle): Set<string> {
  const vals = [
    b.cluster.id,
    b.cluster.secret,
    b.secrets.bootstraptoken,
    b.secrets.secretboxencryptionsecret,
    b.secrets.aescbcencryptionsecret,
    b.trustdinfo.token,
    ...[b.certs.etcd, b.certs.k8s, b.certs.k8saggregator, b.certs.os].flatMap((p) => [p.crt, p.key]),
    b.certs.k8sserviceaccount.key,
  ].filter((v): v is string => Boolean(v));
  return new Set([...vals, ...vals.map((v) => Buffer.from(v).toString('base64'))]);
}

/** Replaces every value that comes from the secrets bundle with Talos's redaction marker. */
export function redactDocs(docs: Doc[], b: SecretsBundle): Doc[] {
  const secret = secretValues(b);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return secret.has(v) ? REDACTED : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return docs.map((d) => walk(d) as Doc);
}

/**
 * What `hearth plan` writes into DIR/talos/.
 * Without --with-secrets: the configs with every value from the secrets bundle (CA certificates and
 * keys, tokens, cluster id/secret) replaced by "******" — reviewable, diffable and deterministic, but
 * not appliable; no secrets.yaml and no talosconfig. They are rendered (and validated) with a real
 * bundle (--secrets FILE, else a throwaway one), so they show exactly what the real files hold.
 * With --with-secrets: the real configs, talosconfig and secrets.yaml, all mode 0600.
 */
export async function planTalos(
  loaded: LoadedSpec,
  opts: { withSecrets: boolean; secretsFile?: string; networking?: ClusterNetworking },
): Promise<Artifact[]> {
  const secrets = opts.secretsFile ? readSecretsFile(opts.secretsFile) : await newSecrets(loaded.spec);
  const result = await generateTalos(loaded, secrets, new Date(), opts.networking);
  if (opts.withSecrets) {
    return [{ path: 'secrets.yaml', content: serializeSecrets(secrets), mode: SECRET_MODE, description: 'Talos secrets bundle' }, ...configArtifacts(result)];
  }
  const r = result.rendered;
  const red = (docs: Doc[]) => docsToYaml(redactDocs(docs, secrets));
  return [
    { path: 'controlplane.yaml', content: red(r.controlplane), description: 'control-plane base config (secrets redacted)' },
    { path: 'worker.yaml', content: red(r.worker), description: 'worker base config (secrets redacted)' },
    ...r.nodes.map((n) => ({ path: `nodes/${n.name}.yaml`, content: red(n.docs), description: `${n.role} ${n.name} (secrets redacted)` })),
  ];
}
