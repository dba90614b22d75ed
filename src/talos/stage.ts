/**
 * The talos stage's edge: reads and writes secrets bundles, makes the admin client certificate,
 * renders every machine's config through render.ts and turns the results into artifacts (files).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { writeArtifacts, type Artifact } from '../common/artifacts.js';
import { InputError } from '../common/errors.js';
import { exists, readInputFile, writeFileAtomic } from '../common/fs.js';
import * as imageStage from '../image/index.js';
import { assertNoIssues, type LoadedSpec, type Spec } from '../spec/index.js';
import { checkTalos, loadPatches, type LoadedPatches } from './check.js';
import { contractFor, type TalosContract } from './contract.js';
import type { Doc } from './generate.js';
import type { CertAndKey } from './pki.js';
import type { NodeRequirements } from '../platform/node-needs.js';
import { renderTalos, TalosConfigError, type ClusterNetworking, type PatchSet, type RenderedTalos } from './render.js';
import { generateSecrets, parseSecrets, placeholderSecrets, SecretsError, serializeSecrets, talosClientCert, type SecretsBundle } from './secrets.js';
import { docsToYaml } from './yaml.js';

/** The marker Talos uses in redacted configs (config.RedactSecrets). */
export const REDACTED = '******';

/** What the stage takes besides the spec, from the pipeline that already has it (src/pipeline). */
export interface TalosInputs {
  /** The spec's patches as already read; read from the files when absent. */
  patches?: LoadedPatches;
  /** The platform's networking choice; absent: Talos's defaults (flannel, kube-proxy). */
  networking?: ClusterNetworking;
  /** What the platform's enabled components need from the nodes (kernel modules, CRI, sysctls, firewall). */
  node?: NodeRequirements;
}

/**
 * The installer image nodes install from: the image stage's ref (imager or Image Factory installer)
 * when that stage provides one, else the stock installer of the Talos release.
 */
export function installImageFor(spec: Spec): string {
  return imageStage.installerImage(spec) || `ghcr.io/siderolabs/installer:${spec.talos.version}`;
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
 * The stage's checks, every issue at once (InputError with one line per issue, as the spec loader
 * reports them); the contract and patches to render with when there are none.
 */
function checked(loaded: LoadedSpec, patches?: LoadedPatches): { contract: TalosContract; patches: PatchSet } {
  const read = patches ?? loadPatches(loaded);
  assertNoIssues(loaded, checkTalos(loaded, read));
  return { contract: contractFor(loaded.spec.talos.version), patches: read.patches };
}

type Checked = ReturnType<typeof checked>;

function render(loaded: LoadedSpec, { contract, patches }: Checked, secrets: SecretsBundle, client: CertAndKey, asks: TalosInputs): TalosOutput {
  const installImage = installImageFor(loaded.spec);
  try {
    const rendered = renderTalos({ spec: loaded.spec, contract, secrets, patches, installImage, client, networking: asks.networking, node: asks.node });
    return { secrets, rendered, contract, installImage };
  } catch (err) {
    if (err instanceof TalosConfigError) throw new InputError(`patch ${err.message}`);
    throw err;
  }
}

/**
 * Renders every config for a loaded spec with the given secrets. Throws InputError (nothing written
 * yet) when the spec, a patch or a rendered config has problems: every spec issue at its
 * FILE:LINE:COL, or the patch and field that broke a config.
 */
export async function generateTalos(loaded: LoadedSpec, secrets: SecretsBundle, opts: TalosInputs & { now?: Date } = {}): Promise<TalosOutput> {
  const ok = checked(loaded, opts.patches); // before making a client certificate for a spec that cannot render
  const client = await talosClientCert(secrets, ['os:admin'], opts.now ?? new Date());
  return render(loaded, ok, secrets, client, opts);
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
  opts: TalosInputs & { out: string; secretsFile?: string; force?: boolean },
): Promise<{ files: WrittenFile[]; result: TalosOutput; warnings: string[] }> {
  const warnings: string[] = [];
  const secretsFile = opts.secretsFile ?? path.join(opts.out, 'secrets.yaml');
  const creating = !opts.secretsFile && !(await exists(secretsFile));
  const bundle = creating ? await newSecrets(loaded.spec) : readSecretsFile(secretsFile);
  if (!creating) {
    const mode = statSync(secretsFile).mode & 0o777;
    if (mode & 0o077) warnings.push(`${secretsFile} is readable by others (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it`);
  }
  const result = await generateTalos(loaded, bundle, opts);
  warnings.push(...result.rendered.warnings);
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
 * not appliable; no secrets.yaml and no talosconfig. They are rendered and validated like the real
 * ones, with the --secrets bundle or else placeholders (placeholderSecrets: no keys are generated
 * for values nobody sees), so they show exactly what the real files hold.
 * With --with-secrets: the real configs, talosconfig and secrets.yaml, all mode 0600.
 */
export async function planTalos(loaded: LoadedSpec, opts: TalosInputs & { withSecrets: boolean; secretsFile?: string }): Promise<Artifact[]> {
  if (opts.withSecrets) {
    const secrets = opts.secretsFile ? readSecretsFile(opts.secretsFile) : await newSecrets(loaded.spec);
    const result = await generateTalos(loaded, secrets, opts);
    return [{ path: 'secrets.yaml', content: serializeSecrets(secrets), mode: SECRET_MODE, description: 'Talos secrets bundle' }, ...configArtifacts(result)];
  }
  const given = opts.secretsFile ? readSecretsFile(opts.secretsFile) : undefined;
  const ok = checked(loaded, opts.patches);
  const secrets = given ?? placeholderSecrets(ok.contract);
  // No talosconfig is written here, so it needs no client certificate.
  const r = render(loaded, ok, secrets, NO_CLIENT, opts).rendered;
  const red = (docs: Doc[]) => docsToYaml(redactDocs(docs, secrets));
  return [
    { path: 'controlplane.yaml', content: red(r.controlplane), description: 'control-plane base config (secrets redacted)' },
    { path: 'worker.yaml', content: red(r.worker), description: 'worker base config (secrets redacted)' },
    ...r.nodes.map((n) => ({ path: `nodes/${n.name}.yaml`, content: red(n.docs), description: `${n.role} ${n.name} (secrets redacted)` })),
  ];
}

const NO_CLIENT: CertAndKey = { crt: '', key: '' };
