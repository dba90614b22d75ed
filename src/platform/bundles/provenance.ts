/**
 * Where each catalog component's chart version and value keys were checked: the upstream file,
 * its repository and the ref it was read at (read through the public code index). A pin that no
 * upstream file states exactly carries `weak` with what was and was not found. Pure data;
 * `hearth platform plan` shows it and a test keeps it complete.
 */
import type { Provenance } from '../types.js';

const COZY = 'aenix-io/cozystack';
const COZY_NEW = 'cozystack/cozystack';
/** A Renovate merge request in sylva-core that upgrades from (or to) a pin: the pin existed in the chart repository. */
const sylva = (mr: number, version: string, title: string): Provenance => ({
  checks: `chart version ${version}`,
  repo: 'gitlab.com/sylva-projects/sylva-core',
  path: `merge request ${mr} (Renovate: ${title})`,
  ref: `MR ${mr}`,
});
const RAW: Provenance = { checks: 'chart version 2.0.2, values.resources', repo: 'bedag/helm-charts', path: 'charts/raw/Chart.yaml, charts/raw/values.yaml', ref: 'raw-2.0.2' };
/** The dependency graph, namespaces and privileged flags of the components Cozystack's paas-full has. */
export const PAAS_FULL: Provenance = { checks: 'dependsOn graph, namespace, privileged', repo: COZY, path: 'packages/core/platform/bundles/paas-full.yaml', ref: '0431974f02d2062e130d1a31ad0e4c3a6c1fd894' };
const NOT_IN_PAAS_FULL = new Set(['cilium-chaining', 'ingress-nginx', 'prometheus-operator-crds', 'metallb-pool']);

export const PROVENANCE: Record<string, readonly Provenance[]> = {
  cilium: [
    { checks: 'chart version 1.17.8', repo: 'themoriarti/cozystack', path: 'packages/system/cilium/charts/cilium/Chart.yaml', ref: '857416d1d2970d29519a40ee99bf498724e3dcb6' },
    { checks: 'values cni.chainingMode/chainingTarget/customConf/configMap, routingMode, enableIPv4Masquerade, enableIdentityMark, autoDirectNodeRoutes, bpf.masquerade', repo: COZY, path: 'packages/system/cilium/values-kubeovn.yaml', ref: '005821476caaadc5b82f294a73c4d2fdfa81e0cb' },
    { checks: 'values cgroup.autoMount, cgroup.hostRoot, k8sServiceHost/Port (KubePrism)', repo: COZY, path: 'packages/system/cilium/values-talos.yaml', ref: '005821476caaadc5b82f294a73c4d2fdfa81e0cb' },
    { checks: 'values kubeProxyReplacement, ipam.mode', repo: COZY_NEW, path: 'packages/system/cilium/values.yaml', ref: '06dce029c9dc8e07e44cd8fb0329d6544ab42e4d' },
  ],
  'cilium-chaining': [
    RAW,
    { checks: 'the cni-configuration ConfigMap (generic-veth: kube-ovn, portmap, cilium-cni)', repo: 'kubeovn/kube-ovn', path: 'docs/IntegrateCiliumIntoKubeOVN.md', ref: 'afa9813529ed01350c90f4c48d9c254a12e070d8' },
  ],
  kubeovn: [
    { checks: 'chart version v1.14.10 (Cozystack runs the v1.14 line: image tag v1.14.11)', repo: COZY_NEW, path: 'packages/system/kubeovn/values.yaml', ref: '03328dc4e4389e84e4c8a1db4c576b57c040da1d' },
    { checks: 'values namespace, MASTER_NODES_LABEL, CNI_CONFIG_PRIORITY "10", ENABLE_NP/ENABLE_LB false, OPENVSWITCH_DIR, OVN_DIR, DISABLE_MODULES_MANAGEMENT', repo: COZY_NEW, path: 'packages/system/kubeovn/values.yaml', ref: '03328dc4e4389e84e4c8a1db4c576b57c040da1d' },
    { checks: 'kubeovn.nodeIPs fails without a node carrying MASTER_NODES_LABEL when MASTER_NODES is empty', repo: 'kubeovn/kube-ovn', path: 'charts/kube-ovn/templates/_helpers.tpl', ref: 'v1.14 line (index file id 55208438092)' },
    { checks: 'default values namespace: kube-system, MASTER_NODES: "", MASTER_NODES_LABEL: kube-ovn/role=master', repo: 'kubeovn/kube-ovn', path: 'charts/kube-ovn/values.yaml', ref: '8d19e71fe5e8f893ade904f89c1f556651dcfcf0' },
  ],
  'cert-manager': [
    sylva(3030, 'v1.16.2', 'Update Helm release cert-manager to v1.16.2'),
    { checks: 'repository URL', repo: COZY, path: 'packages/system/cert-manager/Makefile', ref: 'main' },
  ],
  'cert-manager-issuers': [RAW, { checks: 'the three ClusterIssuers', repo: COZY, path: 'packages/system/cert-manager-issuers/templates', ref: 'main' }],
  'ingress-nginx': [
    { checks: 'repository URL and chart name', repo: COZY, path: 'packages/system/ingress-nginx/Makefile', ref: '18579abdcdd7eecad71e9c84c3f4234932dd362d' },
    { checks: 'values controller.admissionWebhooks.certManager.enabled, controller.service.externalTrafficPolicy Local; controller image v1.11.2', repo: COZY, path: 'packages/system/ingress-nginx/values.yaml', ref: '18d91e223c71999b599312cbb07714bb1a7092ea' },
    { checks: 'chart version 4.11.2', repo: 'kubernetes/ingress-nginx', path: 'charts/ingress-nginx/Chart.yaml', ref: 'helm-chart-4.11.2', weak: 'the chart file at that tag is not in the index; 4.11.2 is the chart of controller v1.11.2 (Cozystack\'s image tag), as public Terraform pins note ("4.11.2 # appVersion: 1.11.2")' },
  ],
  'prometheus-operator-crds': [
    { checks: 'chart version 14.0.0 (appVersion v0.76.0)', repo: COZY, path: 'packages/system/victoria-metrics-operator/charts/prometheus-operator-crds/Chart.yaml', ref: '4939b9bbc56d5510437e5b3fde87802837e7dd21' },
    { checks: 'repository URL (prometheus-community)', repo: COZY, path: 'packages/system/victoria-metrics-operator/Makefile', ref: '05813c06dd5c2465bcac168f9cfc35263ded6434' },
  ],
  'victoria-metrics-operator': [
    { checks: 'chart version 0.36.0, admissionWebhooks.certManager.enabled', repo: COZY, path: 'packages/system/victoria-metrics-operator/charts/victoria-metrics-operator/Chart.yaml', ref: 'main' },
  ],
  monitoring: [
    { checks: 'chart version 0.27.6', repo: 'VictoriaMetrics/helm-charts', path: 'charts/victoria-metrics-k8s-stack/CHANGELOG.md (Release notes for version 0.27.6, 2024-10-21)', ref: 'master' },
  ],
  'grafana-operator': [
    {
      checks: 'chart version 5.21.4, oci://ghcr.io/grafana/helm-charts',
      repo: 'grafana/grafana-operator',
      path: 'docs/docs/installation/helm.md',
      ref: 'master',
      weak: 'the installation docs name --version 5.21.4; the indexed deploy/helm/grafana-operator/Chart.yaml (03da115c) is an old 0.1.4 and no tagged Chart.yaml for 5.21.4 was found',
    },
  ],
  metallb: [
    sylva(4560, '0.14.9', 'metallb 0.14.9 -> 0.15.2'),
    { checks: 'repository URL', repo: COZY, path: 'packages/system/metallb/Makefile', ref: 'main' },
  ],
  'metallb-pool': [RAW, { checks: 'IPAddressPool and L2Advertisement (metallb.io/v1beta1)', repo: 'metallb/metallb', path: 'config/crd/bases', ref: 'v0.14.9' }],
  'kubevirt-operator': [{ checks: 'chart version 0.5.0', repo: 'suse-edge/charts', path: 'charts/kubevirt/0.5.0/Chart.yaml', ref: 'main' }],
  kubevirt: [RAW, { checks: 'KubeVirt CR feature gates', repo: COZY, path: 'packages/system/kubevirt/templates/kubevirt-cr.yaml', ref: 'main' }],
  'kubevirt-cdi-operator': [{ checks: 'chart version 0.2.3, name cdi', repo: 'suse-edge/charts', path: 'charts/cdi/0.2.3/Chart.yaml', ref: 'main' }],
  'kubevirt-cdi': [RAW, { checks: 'CDI CR feature gates', repo: COZY, path: 'packages/system/kubevirt-cdi/templates/cdi-cr.yaml', ref: 'main' }],
  'piraeus-operator': [
    { checks: 'OCI path and installCRDs', repo: 'piraeusdatastore/piraeus-operator', path: 'docs/how-to/helm.md', ref: 'v2' },
    {
      checks: 'chart version 2.10.6',
      repo: 'piraeusdatastore/piraeus-operator',
      path: 'charts/piraeus/Chart.yaml',
      ref: '04d6b791971821db9bdaf0e566d82198498bf6ed',
      weak: 'the indexed Chart.yaml says 2.2.0-dev (the branch version, not a release); the release workflow pushes each tag to the OCI path since December 2025 (issue 750), and Cozystack vendors the v2.7.1 chart; no upstream file states 2.10.6',
    },
  ],
  linstor: [RAW, { checks: 'LinstorSatelliteConfiguration for Talos; kernel modules drbd, drbd_transport_tcp', repo: 'piraeusdatastore/piraeus-operator', path: 'docs/how-to/talos.md', ref: '431f26bdd43599913c57b8ec1379a50a85c8619e' }],
  'mariadb-operator': [
    {
      checks: 'values metrics.enabled, metrics.serviceMonitor.enabled (defaults to true: with metrics on, the chart renders a ServiceMonitor)',
      repo: 'mariadb-operator/mariadb-operator',
      path: 'deploy/charts/mariadb-operator/values.yaml',
      ref: '019b13787070fd0488211a448c1749827bb95dd1',
    },
    {
      checks: 'chart version 0.38.1, crds.enabled (condition of the mariadb-operator-crds subchart)',
      repo: 'mariadb-operator/mariadb-operator',
      path: 'deploy/charts/mariadb-operator/Chart.yaml',
      ref: 'main',
      weak: 'the values file read is an early chart version; 0.38.1 and its serviceMonitor default come from issue 12 and the earlier catalog notes, not from a file read at that tag',
    },
  ],
  'postgres-operator': [
    sylva(4016, '0.23.0', 'cloudnative-pg 0.23.0 -> 0.23.2'),
  ],
  'rabbitmq-operator': [
    { checks: 'chart version 4.4.0, global.security.allowInsecureImages', repo: 'bitnami/charts', path: 'bitnami/rabbitmq-cluster-operator/CHANGELOG.md', ref: 'main' },
    { checks: 'images moved to docker.io/bitnamilegacy', repo: 'bitnami/charts', path: 'issue 35164', ref: 'issue 35164' },
  ],
  'redis-operator': [{ checks: 'chart version 3.3.0', repo: COZY, path: 'packages/system/redis-operator/charts/redis-operator/Chart.yaml', ref: 'main' }],
  telepresence: [{ checks: 'chart version 2.16.1, release name traffic-manager', repo: COZY, path: 'packages/system/telepresence/charts/telepresence/Chart.yaml', ref: 'main' }],
  dashboard: [{ checks: 'chart version 0.33.1', repo: 'kubernetes-sigs/headlamp', path: 'charts/headlamp/Chart.yaml', ref: 'main' }],
  kamaji: [{ checks: 'chart version 1.0.0', repo: 'clastix/kamaji', path: 'pull request 805', ref: 'PR 805', weak: 'no Chart.yaml with version 1.0.0 was read; the PR refers to the published v1.0.0 chart' }],
  'capi-operator': [
    { checks: 'chart version 0.15.0 in the repository index', repo: 'kubernetes-sigs/cluster-api-operator', path: 'pull request 662 (Update helm chart index.yaml to v0.15.0)', ref: 'PR 662' },
    { checks: 'values cert-manager.enabled (dependency condition)', repo: COZY, path: 'packages/system/capi-operator/charts/cluster-api-operator/Chart.yaml', ref: 'main' },
  ],
  'capi-providers': [RAW, { checks: 'the provider set', repo: COZY, path: 'packages/system/capi-providers/templates', ref: 'main' }],
  'fluxcd-operator': [
    { checks: 'values hostNetwork, tolerations, KUBERNETES_SERVICE_HOST/PORT', repo: COZY_NEW, path: 'packages/system/fluxcd-operator/values.yaml', ref: 'efc89f6210d5162924dfb069d6b3bf210786eb7d' },
    {
      checks: 'chart version 0.53.0',
      repo: 'controlplaneio-fluxcd/charts',
      path: 'charts/flux-operator/Chart.yaml',
      ref: '01cc491fa25a51135e3202cb387a244659cd92b3',
      weak: 'the indexed Chart.yaml is 0.18.0 and Cozystack vendors 0.26.0 (cozystack/cozystack 7ef4dc79); no upstream file read states 0.53.0',
    },
  ],
  fluxcd: [
    { checks: 'FluxInstance values instance.distribution, components, cluster, kustomize.patches', repo: 'controlplaneio-fluxcd/charts', path: 'charts/flux-instance/values.yaml', ref: 'main' },
    { checks: 'chart version 0.53.0', repo: 'controlplaneio-fluxcd/charts', path: 'charts/flux-instance/Chart.yaml', ref: 'main', weak: 'paired with flux-operator 0.53.0, whose pin is weak' },
  ],
};

/** A catalog component's provenance; the graph entry for the components Cozystack's paas-full has. */
export function provenanceOf(name: string): readonly Provenance[] {
  const own = PROVENANCE[name] ?? [];
  return own.length > 0 && !NOT_IN_PAAS_FULL.has(name) ? [...own, PAAS_FULL] : own;
}
