/**
 * The platform step publishes releases seen in one poll dependency first: a release that depends
 * on another (by name in its namespace, or namespace/name) comes after it, whatever kubectl's
 * sort order says; unrelated releases keep that order; a cycle does not loop.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReleaseStatus } from '../../src/platform/status.js';
import { dependenciesFirst } from '../../src/pipeline/up/platform.js';

const row = (namespace: string, name: string, dependsOn: string[] = []): ReleaseStatus => ({ namespace, name, age: '1s', ready: 'True', status: '', state: 'ready', dependsOn });
const order = (rows: ReleaseStatus[]) => dependenciesFirst(rows).map((r) => `${r.namespace}/${r.name}`);

describe('platform step: dependency order of a poll', () => {
  it('puts a release after what it depends on, across namespaces and within one', () => {
    const rows = [
      row('cozy-cert-manager', 'cert-manager', ['hearth-cilium/cilium']),
      row('cozy-cert-manager', 'issuers', ['cert-manager']),
      row('hearth-cilium', 'cilium'),
      row('kube-ovn', 'kube-ovn', ['hearth-cilium/cilium']),
    ];
    assert.deepEqual(order(rows), ['hearth-cilium/cilium', 'cozy-cert-manager/cert-manager', 'cozy-cert-manager/issuers', 'kube-ovn/kube-ovn']);
  });

  it('keeps the given order where nothing depends on anything, ignores dependencies not in the poll, and ends on a cycle', () => {
    assert.deepEqual(order([row('a', 'x', ['gone']), row('b', 'y')]), ['a/x', 'b/y']);
    assert.deepEqual(order([row('a', 'x', ['y']), row('a', 'y', ['x'])]), ['a/y', 'a/x']);
  });
});
