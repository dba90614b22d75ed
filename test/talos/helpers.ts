import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse, stringify } from 'yaml';
import { REFERENCE, ROOT, tmpDir } from '../helpers/cli.js';

export const TALOS_REF = path.join(REFERENCE, 'talos');
export const GOLDEN = path.join(TALOS_REF, 'talosctl-gen-config');

export { tmpDir };

/** The bundled example spec, changed by `edit`, written into a fresh directory. */
export function writeSpec(edit: (spec: any, dir: string) => void = () => {}, dir = tmpDir("spec")): { dir: string; file: string } {
  const spec = parse(readFileSync(path.join(ROOT, 'examples/hearth.yaml'), 'utf8'));
  edit(spec, dir);
  const file = path.join(dir, 'hearth.yaml');
  writeFileSync(file, stringify(spec));
  return { dir, file };
}

/**
 * Validates documents against the UNMODIFIED upstream schemas in test/fixtures/upstream (not the
 * annotation-free copies hearth ships), tolerating exactly what the reference README lists.
 */
const validators = new Map<string, any>();
export function referenceValidate(version: 'v1.6' | 'v1.13', doc: any): string[] {
  const schema = JSON.parse(readFileSync(path.join(TALOS_REF, `${version}-config.schema.json`), 'utf8'));
  let v = validators.get(version);
  if (!v) {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    v = ajv.compile(schema);
    validators.set(version, v);
  }
  const copy = structuredClone(doc);
  if (copy.kind === undefined) {
    delete copy.persist;
    if (version === 'v1.13') delete copy.machine?.install?.extraKernelArgs;
  }
  if (v(copy)) return [];
  return (v.errors ?? []).map((e: any) => `${e.instancePath} ${e.message}`);
}
