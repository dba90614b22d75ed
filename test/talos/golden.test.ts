import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { applyPatch, canonicalOrder, contractFor, docsToYaml, generateBase, parsePatchText, parseSecrets, type GenOptions } from '../../src/talos/index.js';
import { GOLDEN, referenceValidate } from './helpers.js';

const secrets = parseSecrets(readFileSync(path.join(GOLDEN, 'secrets.yaml'), 'utf8'));
const OVERRIDES: Partial<GenOptions> = {
  additionalSANs: ['foo', 'bar'],
  allowSchedulingOnControlPlanes: true,
  dnsDomain: 'example.com',
  installDisk: '/dev/vda',
  installExtraKernelArgs: ['foo=bar', 'bar=baz'],
  localAPIServerPort: 5443,
  sysctls: { foo: 'bar' },
  cni: { name: 'custom', urls: ['https://example.com/cni.yaml'] },
  registryMirrors: { 'ghcr.io': ['https://ghcr.io.my-mirror.com'] },
};

for (const version of ['v1.6', 'v1.13'] as const) {
  for (const shape of ['base', 'overrides'] as const) {
    for (const type of ['controlplane', 'worker'] as const) {
      test(`talosctl gen config golden ${version} ${shape}-${type}: same documents, same bytes`, () => {
        const contract = contractFor(`${version}.0`);
        const opts: GenOptions = { clusterName: 'base', endpoint: 'https://base:6443', kubernetesVersion: '1.28.0', ...(shape === 'overrides' ? OVERRIDES : {}) };
        let docs = generateBase(type, contract, secrets, opts);
        if (shape === 'overrides') docs = applyPatch(docs, parsePatchText(readFileSync(path.join(GOLDEN, 'overrides-patch.yaml'), 'utf8')));
        docs = docs.map((d) => canonicalOrder(contract.schema, d));
        const text = docsToYaml(docs);
        const want = readFileSync(path.join(GOLDEN, version, `${shape}-${type}.yaml`), 'utf8');
        // field by field first (a clearer failure), then byte for byte
        assert.deepEqual(parseAllDocuments(text).map((d: any) => d.toJS()), parseAllDocuments(want).map((d: any) => d.toJS()));
        assert.equal(text, want);
        for (const d of docs) assert.deepEqual(referenceValidate(version, d), [], `${String(d.kind ?? 'v1alpha1')} validates`);
      });
    }
  }
}
