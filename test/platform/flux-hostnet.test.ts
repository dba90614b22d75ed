/**
 * Flux on the host network (src/platform/flux-hostnet.ts): the pure transform of Flux's
 * install.yaml, and the FluxInstance patches that must produce the same Deployments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { renderPlatform, type KubeObject } from '../../src/platform/index.js';
import { adaptFluxManifests } from '../../src/platform/flux.js';
import { FLUX_COMPONENTS, FLUX_CONTROLLERS, effectiveFlags, fluxInstancePatches, fluxOnHostNetwork, hostNetworkOps, setFlags, type JsonPatchOp } from '../../src/platform/flux-hostnet.js';
import { fluxUpstreamDeployment as upstreamDeployment, resolveSpec } from './helpers.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

function installYaml(): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flux-system', labels: { 'pod-security.kubernetes.io/warn': 'restricted' } } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'notification-controller', namespace: 'flux-system' }, spec: { ports: [{ port: 80, targetPort: 'http' }] } },
    ...FLUX_COMPONENTS.map(upstreamDeployment),
  ];
}

const NS = 'hearth-fluxcd';
const pod = (d: KubeObject): Any => (d as Any).spec.template.spec;
const manager = (d: KubeObject): Any => pod(d).containers[0];
const byName = (objs: KubeObject[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name)!;

test('each controller Deployment runs on the host network, before any CNI, with the API through KubePrism', () => {
  const out = fluxOnHostNetwork(adaptFluxManifests(installYaml(), NS), NS);
  for (const name of FLUX_COMPONENTS) {
    const d = byName(out, 'Deployment', name);
    assert.equal(pod(d).hostNetwork, true, name);
    assert.equal(pod(d).dnsPolicy, 'Default', `${name}: cluster DNS needs the CNI, so the node's resolver is used`);
    assert.deepEqual((d as Any).spec.strategy, { type: 'Recreate' }, `${name}: host ports leave no room for a surge pod`);
    const keys = pod(d).tolerations.map((t: { key: string }) => t.key);
    for (const k of ['node.kubernetes.io/not-ready', 'node-role.kubernetes.io/control-plane', 'node.cloudprovider.kubernetes.io/uninitialized']) {
      assert.ok(keys.includes(k), `${name} tolerates ${k}`);
    }
    // not-ready is tolerated for every effect (the NoExecute taint of a never-ready node would evict it otherwise).
    assert.equal(pod(d).tolerations.find((t: { key: string }) => t.key === 'node.kubernetes.io/not-ready').effect, undefined);
    const env = manager(d).env;
    assert.deepEqual(env.find((e: { name: string }) => e.name === 'KUBERNETES_SERVICE_HOST'), { name: 'KUBERNETES_SERVICE_HOST', value: 'localhost' });
    assert.deepEqual(env.find((e: { name: string }) => e.name === 'KUBERNETES_SERVICE_PORT'), { name: 'KUBERNETES_SERVICE_PORT', value: '7445' });
    assert.ok(env.some((e: { name: string }) => e.name === 'RUNTIME_NAMESPACE'), `${name} keeps its upstream env`);
    // Everything else of the pod is upstream's.
    assert.equal(pod(d).serviceAccountName, name);
    assert.equal(pod(d).priorityClassName, 'system-cluster-critical');
  }
  // source-controller serves artifacts at its node's address, the others send events to the Service IP (no DNS).
  const src = manager(byName(out, 'Deployment', 'source-controller'));
  assert.equal(effectiveFlags(src.args)['storage-adv-addr'], '$(HOST_IP):9790');
  assert.deepEqual(src.env.find((e: { name: string }) => e.name === 'HOST_IP').valueFrom, { fieldRef: { apiVersion: 'v1', fieldPath: 'status.hostIP' } });
  const helm = manager(byName(out, 'Deployment', 'helm-controller'));
  assert.equal(effectiveFlags(helm.args)['events-addr'], 'http://$(NOTIFICATION_CONTROLLER_SERVICE_HOST):$(NOTIFICATION_CONTROLLER_SERVICE_PORT)/');
  assert.ok(!helm.env.some((e: { name: string }) => e.name === 'HOST_IP'));
});

test('on one node the controllers never share a port, and each listens where its probes and Services look', () => {
  const out = fluxOnHostNetwork(adaptFluxManifests(installYaml(), NS), NS);
  const used = new Map<number, string>();
  // Taken on a Talos node with hearth's platform: flux-operator (8080, 8081, 9080), upstream Flux defaults, KubePrism, kubelet.
  const reserved = new Set([8080, 8081, 9080, 9440, 9090, 9292, 7445, 10250, 6443]);
  for (const name of FLUX_COMPONENTS) {
    const c = manager(byName(out, 'Deployment', name));
    const flags = effectiveFlags(c.args);
    // Each flag appears once (replaced in place, not appended twice).
    const names = c.args.map((a: string) => a.split('=')[0]);
    assert.equal(new Set(names).size, names.length, `${name}: ${c.args.join(' ')}`);
    const listening = Object.entries(flags)
      .filter(([k, v]) => ['metrics-addr', 'health-addr', 'storage-addr', 'receiverAddr'].includes(k) || (k === 'events-addr' && v.startsWith(':')))
      .map(([, v]) => Number(v.slice(1)))
      .sort();
    const declared = c.ports.map((p: { containerPort: number }) => p.containerPort).sort();
    assert.deepEqual(listening, declared, `${name}: the declared container ports are the ones it listens on`);
    for (const p of declared) {
      assert.ok(!reserved.has(p), `${name} avoids port ${p}`);
      assert.equal(used.get(p), undefined, `${name} and ${used.get(p)} both want port ${p}`);
      used.set(p, name);
    }
    // The probes and the Services refer to ports by name: every name they use still exists.
    const portNames = new Set(c.ports.map((p: { name: string }) => p.name));
    assert.ok(portNames.has(c.livenessProbe.httpGet.port) && portNames.has(c.readinessProbe.httpGet.port), name);
  }
  assert.equal(manager(byName(out, 'Deployment', 'source-controller')).ports.find((p: { name: string }) => p.name === 'http').containerPort, 9790);
  assert.equal(manager(byName(out, 'Deployment', 'notification-controller')).ports.find((p: { name: string }) => p.name === 'http').containerPort, 9690);
});

test('the Flux namespace allows host-network pods; other objects pass through; the input is untouched; it is idempotent', () => {
  const input = adaptFluxManifests(installYaml(), NS);
  const before = structuredClone(input);
  const out = fluxOnHostNetwork(input, NS);
  assert.deepEqual(input, before, 'pure: the input objects are not modified');
  const ns = byName(out, 'Namespace', NS);
  assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'privileged');
  assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/warn'], 'restricted', 'upstream labels stay');
  assert.deepEqual(byName(out, 'Service', 'notification-controller'), byName(input, 'Service', 'notification-controller'));
  assert.deepEqual(fluxOnHostNetwork(out, NS), out, 'applying it twice changes nothing');
  // A Deployment elsewhere (not Flux's) is left alone.
  const other: KubeObject = { ...upstreamDeployment('helm-controller'), metadata: { name: 'helm-controller', namespace: 'elsewhere' } };
  assert.deepEqual(fluxOnHostNetwork([other], NS), [other]);
});

test('a controller hearth does not know gets its own free metrics and health ports', () => {
  const extra = { ...upstreamDeployment('source-watcher'), metadata: { name: 'source-watcher', namespace: NS } };
  const out = fluxOnHostNetwork([...adaptFluxManifests(installYaml(), NS), extra], NS);
  const c = manager(byName(out, 'Deployment', 'source-watcher'));
  const mine = c.ports.map((p: { containerPort: number }) => p.containerPort);
  const others = Object.values(FLUX_CONTROLLERS).flatMap((n) => Object.values(n.ports));
  for (const p of mine) assert.ok(!others.includes(p), `port ${p} is free`);
  assert.equal(pod(byName(out, 'Deployment', 'source-watcher')).hostNetwork, true);
});

test('setFlags replaces a flag in place, drops its duplicates, appends missing ones; effectiveFlags takes the last', () => {
  assert.deepEqual(setFlags(['--a=1', '--b', '--a=2', '--c=3'], { a: 'x', d: 'y' }), ['--b', '--a=x', '--c=3', '--d=y']);
  assert.deepEqual(effectiveFlags(['--a=1', '--b', '--a=2']), { a: '2', b: 'true' });
});

/** RFC 6902 `add` and `replace` (what the FluxInstance patches use), as kustomize applies them. */
function applyOps(doc: KubeObject, ops: JsonPatchOp[]): KubeObject {
  const out = structuredClone(doc) as Any;
  for (const op of ops) {
    const parts = op.path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    let parent = out;
    for (const p of parts) {
      parent = Array.isArray(parent) ? parent[Number(p)] : parent[p];
      if (parent === undefined) throw new Error(`${op.path}: no such parent`);
    }
    if (Array.isArray(parent)) {
      if (last === '-' && op.op === 'add') parent.push(structuredClone(op.value));
      else if (op.op === 'add') parent.splice(Number(last), 0, structuredClone(op.value));
      else parent[Number(last)] = structuredClone(op.value);
    } else {
      if (op.op === 'replace' && !(last in parent)) throw new Error(`${op.path}: replace of a missing member`);
      parent[last] = structuredClone(op.value);
    }
  }
  return out;
}

test('the FluxInstance patches make the operator-rendered Deployments the same as the install transform', () => {
  const installed = fluxOnHostNetwork(adaptFluxManifests(installYaml(), NS), NS);
  const patches = fluxInstancePatches();
  assert.deepEqual(
    patches.map((p) => p.target),
    FLUX_COMPONENTS.map((name) => ({ kind: 'Deployment', name })),
  );
  for (const p of patches) {
    // The patch is a JSON 6902 document (YAML), as kustomize's `patches` accept it.
    const ops = parse(p.patch) as JsonPatchOp[];
    assert.deepEqual(ops, hostNetworkOps(p.target.name));
    const viaOperator = applyOps(adaptFluxManifests([upstreamDeployment(p.target.name)], NS)[0]!, ops);
    const viaInstall = byName(installed, 'Deployment', p.target.name);
    for (const field of ['hostNetwork', 'dnsPolicy', 'tolerations'] as const) {
      assert.deepEqual(pod(viaOperator)[field], pod(viaInstall)[field], `${p.target.name} ${field}`);
    }
    assert.deepEqual((viaOperator as Any).spec.strategy, (viaInstall as Any).spec.strategy);
    const a = manager(viaOperator);
    const b = manager(viaInstall);
    assert.deepEqual(effectiveFlags(a.args), effectiveFlags(b.args), `${p.target.name}: the same effective flags`);
    assert.deepEqual(a.ports, b.ports, `${p.target.name}: the same ports (the install keeps upstream's, the patch replaces them)`);
    const envOf = (c: Any) => [...c.env].sort((x: { name: string }, y: { name: string }) => x.name.localeCompare(y.name));
    assert.deepEqual(envOf(a), envOf(b), `${p.target.name}: the same environment`);
  }
});


test('a platform that brings its CNI runs Flux (install and self-managed release) on the host network; a hosted one does not', () => {
  const full = resolveSpec({});
  assert.equal(full.ctx.fluxOnHostNetwork, true);
  const rendered = renderPlatform(full.components);
  assert.equal(rendered.fluxOnHostNetwork, true);
  const values = (name: string) => (rendered.releases.find((r) => r.metadata.name === name)!.spec as Any).values;
  assert.deepEqual(values('fluxcd').instance.kustomize.patches, fluxInstancePatches());
  assert.deepEqual(values('fluxcd').instance.components, [...FLUX_COMPONENTS]);
  const op = values('fluxcd-operator');
  assert.equal(op.hostNetwork, true);
  assert.deepEqual(op.extraEnvs, [
    { name: 'KUBERNETES_SERVICE_HOST', value: 'localhost' },
    { name: 'KUBERNETES_SERVICE_PORT', value: '7445' },
  ]);
  assert.ok(op.tolerations.some((t: { key: string }) => t.key === 'node.kubernetes.io/not-ready'));

  const hosted = resolveSpec({ bundle: 'paas-hosted' });
  assert.equal(hosted.ctx.fluxOnHostNetwork, false);
  const h = renderPlatform(hosted.components);
  assert.equal(h.fluxOnHostNetwork, false);
  const hv = (name: string) => (h.releases.find((r) => r.metadata.name === name)!.spec as Any).values ?? {};
  assert.equal(hv('fluxcd').instance.kustomize, undefined);
  assert.equal(hv('fluxcd-operator').hostNetwork, undefined);

  // Disabling both CNI components (the cluster brings its own) means Flux does not need the host network either.
  const own = resolveSpec({ disable: ['cilium', 'kubeovn'] });
  assert.equal(own.ctx.fluxOnHostNetwork, false);
  assert.equal(renderPlatform(own.components).fluxOnHostNetwork, false);
});
