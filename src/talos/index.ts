/**
 * The talos stage: the Talos secrets bundle, machine configs and talosconfig from hearth.yaml,
 * interchangeable with what talosctl makes (`talosctl gen secrets`, `talosctl gen config`).
 *
 * Layout: contract.ts (version -> features), check.ts (spec checks, patch files), pki.ts +
 * secrets.ts (bundle), generate.ts (base configs), patch.ts (strategic merge + RFC 6902), node.ts
 * (per-machine patch), schema.ts (ajv + key order), render.ts (the pure pipeline), yaml.ts
 * (talosctl's YAML layout), stage.ts (the edge: secrets files, artifacts, plan). This file is the API.
 */
export { checkTalos, loadPatches, type LoadedPatches } from './check.js';
export { contractFor, type TalosContract } from './contract.js';
export { generateBase, type Doc, type GenOptions } from './generate.js';
export { applyPatch, applyJsonPatch, parsePatchText, toPatch, PatchError, type Patch } from './patch.js';
export {
  renderTalos,
  TalosConfigError,
  semanticProblems,
  platformPatches,
  firewallDocs,
  criPart,
  nodeSubnets,
  CRI_CUSTOMIZATION_PATH,
  type ClusterNetworking,
  type PlatformAsks,
  type RenderedTalos,
} from './render.js';
export { generateSecrets, parseSecrets, placeholderSecrets, serializeSecrets, talosClientCert, SecretsError, type SecretsBundle } from './secrets.js';
export { validateDocument, canonicalOrder } from './schema.js';
export { docsToYaml, yamlToDocs } from './yaml.js';
export {
  REDACTED,
  installImageFor,
  readSecretsFile,
  newSecrets,
  generateTalos,
  configArtifacts,
  writeSecrets,
  writeConfigs,
  redactDocs,
  planTalos,
  type TalosInputs,
  type TalosOutput,
  type WrittenFile,
} from './stage.js';
