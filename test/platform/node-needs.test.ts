/** What the platform's components need from the nodes, summed over the enabled ones. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUNDLES, nodeRequirements, type BundleName } from '../../src/platform/index.js';
import { resolveSpec } from './helpers.js';

test('needs are summed: modules once with the union of their parameters, who asked is kept, clashing values are conflicts', () => {
  const { requirements, conflicts } = nodeRequirements([
    { name: 'a', node: { kernelModules: [{ name: 'drbd', parameters: ['usermode_helper=disabled'] }], cri: [{ key: 'k', value: true }], sysctls: { 'vm.x': '1' }, extensions: ['drbd'] } },
    { name: 'b', node: { kernelModules: [{ name: 'drbd', parameters: ['minor_count=255'] }, { name: 'openvswitch' }], cri: [{ key: 'k', value: true }], sysctls: { 'vm.x': '2' } } },
    { name: 'c' },
    { name: 'd', node: { cri: [{ key: 'k', value: false }], nodeOnlyPorts: [{ port: 9790, protocol: 'tcp', what: 'artifacts' }], extensions: ['drbd'] } },
  ]);
  assert.deepEqual(requirements.kernelModules, [
    { name: 'drbd', parameters: ['usermode_helper=disabled', 'minor_count=255'], for: ['a', 'b'] },
    { name: 'openvswitch', parameters: [], for: ['b'] },
  ]);
  assert.deepEqual(requirements.cri, [{ key: 'k', value: true, for: ['a', 'b'] }]);
  assert.deepEqual(requirements.sysctls, [{ key: 'vm.x', value: '1', for: ['a'] }]);
  assert.deepEqual(requirements.extensions, [{ name: 'drbd', for: ['a', 'd'] }]);
  assert.deepEqual(requirements.nodeOnlyPorts, [{ port: 9790, protocol: 'tcp', what: 'artifacts', for: ['d'] }]);
  assert.deepEqual(
    conflicts.map((c) => c.message),
    ['sysctl vm.x: a needs 1, b needs 2', 'CRI setting k: a, b needs true, d needs false'],
  );
});

test('the catalog asks each node for what its components document, without conflicts, in every bundle', () => {
  const full = resolveSpec({ loadBalancer: { addresses: ['192.0.2.200/29'] } });
  const n = full.node;
  const mods = Object.fromEntries(n.kernelModules.map((m) => [m.name, m]));
  // Kube-OVN's Talos notes (openvswitch; the chart's own module loading is off), piraeus' Talos how-to
  // (drbd, drbd_transport_tcp) with Cozystack's usermode_helper=disabled, and KubeVirt's vfio for passthrough.
  assert.deepEqual(mods.openvswitch, { name: 'openvswitch', parameters: [], for: ['kubeovn'] });
  assert.deepEqual(mods.drbd, { name: 'drbd', parameters: ['usermode_helper=disabled'], for: ['linstor'] });
  assert.ok(mods.drbd_transport_tcp);
  assert.ok(mods.vfio_pci && mods.vfio_iommu_type1);
  assert.deepEqual(n.cri, [{ key: 'device_ownership_from_security_context', value: true, for: ['kubevirt', 'kubevirt-cdi'] }]);
  assert.deepEqual(n.extensions, [{ name: 'drbd', for: ['linstor'] }]);
  assert.deepEqual(n.nodeOnlyPorts.map((p) => `${p.protocol}/${p.port}`), ['tcp/9790', 'tcp/9690', 'tcp/9797']);
  assert.ok(full.components.find((c) => c.name === 'kubeovn')!.values.DISABLE_MODULES_MANAGEMENT);

  for (const bundle of Object.keys(BUNDLES) as BundleName[]) {
    const r = resolveSpec({ bundle, loadBalancer: { addresses: ['192.0.2.200/29'] } });
    assert.deepEqual(nodeRequirements(r.components).conflicts, [], bundle);
  }
  // A hosted cluster brings its own CNI and storage: Flux is not on the host network, LINSTOR is absent.
  const hosted = resolveSpec({ bundle: 'distro-hosted' }).node;
  assert.deepEqual([hosted.kernelModules, hosted.extensions, hosted.nodeOnlyPorts, hosted.cri], [[], [], [], []]);
  // Disabling a component takes its needs away.
  const noStorage = resolveSpec({ disable: ['linstor'] }).node;
  assert.ok(!noStorage.kernelModules.some((m) => m.name.startsWith('drbd')));
  assert.deepEqual(noStorage.extensions, []);
});
