/**
 * hearth's catalog of system components: one Flux HelmRelease each. Pure data (values that depend
 * on the spec are small functions of the RenderContext). Every entry records in `source` where its
 * chart, version and default settings come from. The dependency graph follows Cozystack's
 * paas-full bundle (github.com/aenix-io/cozystack packages/core/platform/bundles/paas-full.yaml).
 */
import { formatIpv4, parseCidr } from '../../spec/net.js';
import { FLUX_COMPONENTS, FLUX_CONTROLLERS, KUBEPRISM, PRE_CNI_TOLERATIONS, fluxInstancePatches } from '../flux-hostnet.js';
import type { ComponentDef, PostRenderer, RenderContext, Values } from '../types.js';

/** The namespace prefix of every hearth-managed namespace. */
export const NS = 'hearth-';

/** bedag/raw: a chart that renders the objects given in `resources` (for objects no upstream chart ships). */
const RAW = { repository: 'https://bedag.github.io/helm-charts', name: 'raw', version: '2.0.2' } as const;
const RAW_SOURCE = 'chart: bedag/raw 2.0.2 (https://bedag.github.io/helm-charts, charts/raw; values.resources) renders the listed objects';

/**
 * A post-renderer that drops one object from a chart's output (kustomize `$patch: delete`), for
 * charts that render an object another release owns: two Helm releases cannot own one object.
 */
function dropObject(group: string, version: string, kind: string, name: string): PostRenderer {
  return {
    kustomize: {
      patches: [
        {
          target: { group, version, kind, name },
          patch: `$patch: delete\napiVersion: ${group}/${version}\nkind: ${kind}\nmetadata:\n  name: ${name}\n`,
        },
      ],
    },
  };
}

/** The pinned Flux distribution (fluxcd/flux2 v2.9.0; flux-operator v0.53.0 ships Flux 2.9.0). */
export const DEFAULT_FLUX_VERSION = 'v2.9.0';

/** First usable address of an IPv4 CIDR (Kube-OVN's pod gateway convention). */
function gatewayOf(cidr: string | undefined): string | undefined {
  const c = cidr ? parseCidr(cidr) : undefined;
  if (!c || c.ip.family !== 4) return undefined;
  return formatIpv4(c.network + 1n);
}

/** The IngressClass of the platform's ingress controller (ingress-nginx). */
export const INGRESS_CLASS = 'nginx';

/** The label Talos puts on control-plane nodes (Kube-OVN finds its OVN database nodes by it). */
export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';

/** The ConfigMap Cilium reads its chained CNI configuration from (cni.configMap). */
export const CNI_CONFIGMAP = 'cni-configuration';
const KUBE_OVN_SOCKET = '/run/openvswitch/kube-ovn-daemon.sock';
/**
 * Kube-OVN's CNI plugin (interfaces, addresses: the only pod IPAM), portmap, then Cilium's
 * (policy, services), as Kube-OVN's "Integrate Cilium" guide lays it out.
 */
export const CHAINED_CNI_CONFIG = {
  name: 'generic-veth',
  cniVersion: '0.3.1',
  plugins: [
    { type: 'kube-ovn', server_socket: KUBE_OVN_SOCKET, ipam: { type: 'kube-ovn', server_socket: KUBE_OVN_SOCKET } },
    { type: 'portmap', snat: true, capabilities: { portMappings: true } },
    { type: 'cilium-cni' },
  ],
} as const;

/** CRDs by the name the API server gives them. */
export const CRD = {
  serviceMonitors: 'servicemonitors.monitoring.coreos.com',
  podMonitors: 'podmonitors.monitoring.coreos.com',
  prometheusRules: 'prometheusrules.monitoring.coreos.com',
  probes: 'probes.monitoring.coreos.com',
  certificates: 'certificates.cert-manager.io',
  issuers: 'issuers.cert-manager.io',
  clusterIssuers: 'clusterissuers.cert-manager.io',
} as const;

/** The host ports of Flux's unauthenticated endpoints (flux-hostnet.ts numbers). */
const FLUX_NODE_ONLY_PORTS = [
  { port: FLUX_CONTROLLERS['source-controller']!.ports.http!, protocol: 'tcp', what: 'source-controller artifact server' },
  { port: FLUX_CONTROLLERS['notification-controller']!.ports.http!, protocol: 'tcp', what: 'notification-controller event receiver' },
  { port: FLUX_CONTROLLERS['notification-controller']!.ports['http-webhook']!, protocol: 'tcp', what: 'notification-controller webhook receiver' },
] as const;

/** containerd lets a pod's runAsUser/runAsGroup own the devices it gets (KubeVirt and CDI block volumes). */
const DEVICE_OWNERSHIP = { key: 'device_ownership_from_security_context', value: true } as const;

function firstV4(list: string[]): string | undefined {
  return list.find((c) => parseCidr(c)?.ip.family === 4);
}

export const CATALOG: ComponentDef[] = [
  {
    name: 'cilium',
    namespace: `${NS}cilium`,
    privileged: true,
    chart: { repository: 'https://helm.cilium.io', name: 'cilium', version: '1.17.8' },
    dependsOn: ['cilium-chaining'],
    traits: ['cni'],
    source:
      'chart: helm.cilium.io cilium 1.17.8 (confirmed: Cozystack vendors it, packages/system/cilium/charts/cilium/Chart.yaml ' +
      'version 1.17.8 in the themoriarti/cozystack fork, pulled by packages/system/cilium/Makefile from https://helm.cilium.io/); ' +
      'values: chained behind Kube-OVN (generic-veth, the cni-configuration ConfigMap of cilium-chaining, native routing, no ' +
      'masquerading: Cozystack values-kubeovn.yaml and Kube-OVN\'s "Integrate Cilium" guide), and the Talos "Deploying Cilium CNI" ' +
      'guide (no kube-proxy, KubePrism localhost:7445, cgroup v2 mount provided by Talos, SYS_MODULE dropped)',
    values: {
      ipam: { mode: 'kubernetes' },
      kubeProxyReplacement: true,
      k8sServiceHost: KUBEPRISM.host,
      k8sServicePort: KUBEPRISM.port,
      cgroup: { autoMount: { enabled: false }, hostRoot: '/sys/fs/cgroup' },
      securityContext: {
        capabilities: {
          ciliumAgent: ['CHOWN', 'KILL', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'SYS_ADMIN', 'SYS_RESOURCE', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID'],
          cleanCiliumState: ['NET_ADMIN', 'SYS_ADMIN', 'SYS_RESOURCE'],
        },
      },
      // Kube-OVN is the primary CNI (IPAM, routing); Cilium is chained after it for policy and
      // services. Cilium writes the chained list from the ConfigMap, and leaves Kube-OVN's own
      // (lower priority) config file alone.
      cni: { chainingMode: 'generic-veth', chainingTarget: 'kube-ovn', customConf: true, configMap: CNI_CONFIGMAP, exclusive: false },
      routingMode: 'native',
      autoDirectNodeRoutes: false,
      enableIPv4Masquerade: false,
      enableIPv6Masquerade: false,
      enableIdentityMark: false,
      bpf: { masquerade: false },
    },
  },
  {
    name: 'cilium-chaining',
    namespace: `${NS}cilium`,
    privileged: true,
    partOf: 'cilium',
    chart: RAW,
    dependsOn: [],
    traits: ['cni'],
    source: `${RAW_SOURCE}: the cni-configuration ConfigMap Cilium reads with cni.customConf (Kube-OVN docs/IntegrateCiliumIntoKubeOVN.md)`,
    values: {
      resources: [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: CNI_CONFIGMAP, namespace: `${NS}cilium` },
          data: { 'cni-config': JSON.stringify(CHAINED_CNI_CONFIG, null, 2) },
        },
      ],
    },
  },
  {
    name: 'kubeovn',
    namespace: `${NS}kubeovn`,
    privileged: true,
    chart: { repository: 'https://kubeovn.github.io/kube-ovn/', name: 'kube-ovn', version: 'v1.14.10' },
    dependsOn: ['cilium'],
    traits: ['cni'],
    source:
      'chart: kubeovn.github.io/kube-ovn kube-ovn v1.14.10 (charts/kube-ovn); values: the primary CNI with Cilium chained ' +
      '(Kube-OVN "Integrate Cilium": NetworkPolicy and load balancing left to Cilium, CNI_CONFIG_PRIORITY 10 so the chained list ' +
      'Cilium writes wins), control planes found by node-role.kubernetes.io/control-plane (the kubeovn.nodeIPs helper fails when no ' +
      'node carries MASTER_NODES_LABEL), objects in the release namespace (the chart puts them in .Values.namespace), Talos host ' +
      'paths and no module loading as Cozystack packages/system/kubeovn; CIDRs from cluster.podSubnets/serviceSubnets',
    namespaceValue: 'namespace',
    values: (ctx: RenderContext): Values => {
      const pod = firstV4(ctx.podSubnets) ?? '10.244.0.0/16';
      const svc = firstV4(ctx.serviceSubnets) ?? '10.96.0.0/12';
      return {
        MASTER_NODES_LABEL: CONTROL_PLANE_LABEL,
        ipv4: { POD_CIDR: pod, POD_GATEWAY: gatewayOf(pod), SVC_CIDR: svc, JOIN_CIDR: '100.64.0.0/16' },
        func: { ENABLE_LB: false, ENABLE_NP: false },
        cni_conf: { CNI_CONFIG_PRIORITY: '10' },
        OPENVSWITCH_DIR: '/var/lib/openvswitch',
        OVN_DIR: '/var/lib/ovn',
        DISABLE_MODULES_MANAGEMENT: true,
      };
    },
    // The chart's module loading is off (DISABLE_MODULES_MANAGEMENT), so Talos loads Open vSwitch.
    node: { kernelModules: [{ name: 'openvswitch' }] },
  },
  {
    name: 'cert-manager',
    namespace: `${NS}cert-manager`,
    privileged: false,
    chart: { repository: 'https://charts.jetstack.io', name: 'cert-manager', version: 'v1.16.2' },
    dependsOn: ['cilium', 'kubeovn'],
    traits: [],
    source:
      'chart: charts.jetstack.io cert-manager v1.16.2 (confirmed: the v1.16.2 release notes in Renovate\'s "Update Helm release ' +
      'cert-manager to v1.16.2", gitlab.com/sylva-projects/sylva-core MR 3030; repository URL as Cozystack packages/system/cert-manager/Makefile); ' +
      'values: CRDs installed and kept by the chart (crds.enabled/crds.keep, the chart\'s CRD switch since v1.15)',
    crds: { provides: [CRD.certificates, CRD.issuers, CRD.clusterIssuers] },
    values: { crds: { enabled: true, keep: true } },
  },
  {
    name: 'cert-manager-issuers',
    namespace: `${NS}cert-manager`,
    privileged: false,
    chart: RAW,
    dependsOn: ['cilium', 'kubeovn', 'cert-manager', 'ingress-nginx'],
    traits: [],
    source:
      `${RAW_SOURCE}: ClusterIssuers selfsigned-cluster-issuer, letsencrypt-prod, letsencrypt-stage (as Cozystack packages/system/cert-manager-issuers); ` +
      'the letsencrypt issuers solve http01 through the platform\'s ingress controller, so they are left out when the platform has none',
    crds: { uses: [CRD.clusterIssuers] },
    values: (ctx): Values => ({
      resources: [
        { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'selfsigned-cluster-issuer' }, spec: { selfSigned: {} } },
        ...(ctx.ingressClass === undefined ? [] : (['prod', 'stage'] as const)).map((env) => ({
          apiVersion: 'cert-manager.io/v1',
          kind: 'ClusterIssuer',
          metadata: { name: `letsencrypt-${env}` },
          spec: {
            acme: {
              server: env === 'prod' ? 'https://acme-v02.api.letsencrypt.org/directory' : 'https://acme-staging-v02.api.letsencrypt.org/directory',
              privateKeySecretRef: { name: `letsencrypt-${env}` },
              solvers: [{ http01: { ingress: { ingressClassName: ctx.ingressClass } } }],
            },
          },
        })),
      ],
    }),
  },
  {
    name: 'ingress-nginx',
    namespace: `${NS}ingress-nginx`,
    privileged: false,
    chart: { repository: 'https://kubernetes.github.io/ingress-nginx', name: 'ingress-nginx', version: '4.11.2' },
    dependsOn: ['cilium', 'kubeovn', 'cert-manager', 'metallb-pool'],
    traits: [],
    source:
      'chart: kubernetes.github.io/ingress-nginx ingress-nginx 4.11.2 (controller v1.11.2, the version Cozystack packages/system/ingress-nginx ' +
      'runs, from the repository in its Makefile); values: IngressClass nginx (the letsencrypt issuers\' http01 class), admission webhook ' +
      'certificates from cert-manager and externalTrafficPolicy Local, as Cozystack\'s values; a LoadBalancer Service, so on bare metal it ' +
      'needs the MetalLB pool',
    crds: { uses: [CRD.certificates, CRD.issuers] },
    values: {
      controller: {
        ingressClassResource: { name: INGRESS_CLASS, default: false },
        admissionWebhooks: { certManager: { enabled: true } },
        service: { type: 'LoadBalancer', externalTrafficPolicy: 'Local' },
      },
    },
    skip: (ctx) => (ctx.platformLoadBalancer && ctx.loadBalancerAddresses.length === 0 ? 'no platform.loadBalancer.addresses for its LoadBalancer Service (the letsencrypt issuers go with it)' : undefined),
  },
  {
    name: 'prometheus-operator-crds',
    namespace: `${NS}victoria-metrics-operator`,
    privileged: false,
    chart: { repository: 'https://prometheus-community.github.io/helm-charts', name: 'prometheus-operator-crds', version: '14.0.0' },
    dependsOn: [],
    traits: [],
    source:
      'chart: prometheus-community.github.io/helm-charts prometheus-operator-crds 14.0.0 (confirmed: Cozystack vendors it in its ' +
      'victoria-metrics-operator package, charts/prometheus-operator-crds/Chart.yaml version 14.0.0, pulled by that package\'s Makefile); ' +
      'the ServiceMonitor/PodMonitor/PrometheusRule/Probe CRDs that charts render (mariadb-operator) and the VictoriaMetrics operator converts; ' +
      'CRDs only, so it needs no pod network',
    crds: { provides: [CRD.serviceMonitors, CRD.podMonitors, CRD.prometheusRules, CRD.probes] },
    values: {},
  },
  {
    name: 'victoria-metrics-operator',
    namespace: `${NS}victoria-metrics-operator`,
    privileged: false,
    chart: { repository: 'https://victoriametrics.github.io/helm-charts/', name: 'victoria-metrics-operator', version: '0.36.0' },
    dependsOn: ['cilium', 'kubeovn', 'cert-manager'],
    traits: [],
    source:
      'chart: victoriametrics.github.io/helm-charts victoria-metrics-operator 0.36.0 (confirmed: Cozystack vendors it, aenix-io/cozystack ' +
      'packages/system/victoria-metrics-operator/charts/victoria-metrics-operator/Chart.yaml version 0.36.0, appVersion v0.48.4, from the ' +
      'repository in that package\'s Makefile); values: webhook certificates from cert-manager (admissionWebhooks.certManager.enabled, ' +
      'in the vendored values.yaml)',
    crds: { uses: [CRD.certificates, CRD.issuers] },
    values: { admissionWebhooks: { enabled: true, certManager: { enabled: true } } },
  },
  {
    name: 'monitoring',
    namespace: `${NS}monitoring`,
    privileged: true,
    chart: { repository: 'https://victoriametrics.github.io/helm-charts/', name: 'victoria-metrics-k8s-stack', version: '0.27.6' },
    dependsOn: ['cilium', 'kubeovn', 'victoria-metrics-operator'],
    traits: [],
    source:
      'chart: victoriametrics.github.io/helm-charts victoria-metrics-k8s-stack 0.27.6 (confirmed: VictoriaMetrics\' release notes ' +
      '"Release notes for version 0.27.6", 2024-10-21, AppVersion v1.105.0, the same release line as operator chart 0.36.0); ' +
      'values: operator and Grafana come from ' +
      'their own releases; node-exporter needs host PID/network (privileged namespace, as Cozystack monitoring-agents)',
    values: {
      'victoria-metrics-operator': { enabled: false },
      grafana: { enabled: false },
      'prometheus-node-exporter': { enabled: true },
      'kube-state-metrics': { enabled: true },
    },
  },
  {
    name: 'grafana-operator',
    namespace: `${NS}grafana-operator`,
    privileged: false,
    chart: { repository: 'oci://ghcr.io/grafana/helm-charts', name: 'grafana-operator', version: '5.21.4' },
    dependsOn: ['cilium', 'kubeovn'],
    traits: [],
    source:
      'chart: oci://ghcr.io/grafana/helm-charts/grafana-operator 5.21.4 (confirmed: the operator\'s Helm installation docs, ' +
      'grafana.github.io/grafana-operator/docs/installation/helm, install it with `--version 5.21.4` and name repository ' +
      'oci://ghcr.io/grafana/helm-charts, chart grafana-operator; Cozystack builds the same chart from deploy/helm); values: chart defaults',
    values: {},
  },
  {
    name: 'metallb',
    namespace: `${NS}metallb`,
    privileged: true,
    chart: { repository: 'https://metallb.github.io/metallb', name: 'metallb', version: '0.14.9' },
    dependsOn: ['cilium', 'kubeovn'],
    traits: ['load-balancer'],
    source:
      'chart: metallb.github.io/metallb metallb 0.14.9 (confirmed: Renovate\'s "Update Helm release metallb to v0.15.2" upgrades ' +
      'from 0.14.9, gitlab.com/sylva-projects/sylva-core MR 4560; repository URL as Cozystack packages/system/metallb/Makefile); ' +
      'values: L2 mode without FRR (speaker on the host network, privileged namespace per MetalLB docs)',
    values: { speaker: { frr: { enabled: false } } },
  },
  {
    name: 'metallb-pool',
    namespace: `${NS}metallb`,
    privileged: true,
    chart: RAW,
    dependsOn: ['metallb'],
    traits: ['load-balancer'],
    source: `${RAW_SOURCE}: IPAddressPool "default" from platform.loadBalancer.addresses and its L2Advertisement (metallb.io/v1beta1)`,
    skip: (ctx) => (ctx.loadBalancerAddresses.length === 0 ? 'no platform.loadBalancer.addresses: MetalLB runs without an address pool' : undefined),
    values: (ctx) => ({
      resources: [
        {
          apiVersion: 'metallb.io/v1beta1',
          kind: 'IPAddressPool',
          metadata: { name: 'default', namespace: `${NS}metallb` },
          spec: { addresses: ctx.loadBalancerAddresses, autoAssign: true },
        },
        {
          apiVersion: 'metallb.io/v1beta1',
          kind: 'L2Advertisement',
          metadata: { name: 'default', namespace: `${NS}metallb` },
          spec: { ipAddressPools: ['default'] },
        },
      ],
    }),
  },
  {
    name: 'kubevirt-operator',
    namespace: `${NS}kubevirt`,
    privileged: false,
    chart: { repository: 'https://suse-edge.github.io/charts', name: 'kubevirt', version: '0.5.0' },
    dependsOn: ['cilium', 'kubeovn'],
    traits: ['virtualisation'],
    source:
      'chart: suse-edge.github.io/charts kubevirt 0.5.0 (suse-edge/charts charts/kubevirt/0.5.0; KubeVirt has no upstream chart); ' +
      'values: upstream virt-operator image quay.io/kubevirt v1.4.0 instead of the SLES build. The chart also renders the ' +
      'KubeVirt CR "kubevirt" unconditionally (templates/kubevirt.yaml, from .Values.kubevirt); the `kubevirt` release owns that CR, ' +
      'so a post-renderer drops it here (two Helm releases cannot own one object)',
    values: { operator: { image: 'quay.io/kubevirt/virt-operator', version: 'v1.4.0' } },
    postRenderers: [dropObject('kubevirt.io', 'v1', 'KubeVirt', 'kubevirt')],
  },
  {
    name: 'kubevirt',
    namespace: `${NS}kubevirt`,
    privileged: true,
    chart: RAW,
    dependsOn: ['cilium', 'kubeovn', 'kubevirt-operator'],
    traits: ['virtualisation'],
    source:
      `${RAW_SOURCE}: the KubeVirt CR (kubevirt.io/v1) with live migration and the feature gates Cozystack packages/system/kubevirt enables; ` +
      'the nodes give block devices to the VM pod\'s user (containerd device_ownership_from_security_context) and load vfio_pci and ' +
      'vfio_iommu_type1 for PCI passthrough, as Cozystack\'s Talos patch',
    node: { cri: [DEVICE_OWNERSHIP], kernelModules: [{ name: 'vfio_pci' }, { name: 'vfio_iommu_type1' }] },
    values: {
      resources: [
        {
          apiVersion: 'kubevirt.io/v1',
          kind: 'KubeVirt',
          metadata: { name: 'kubevirt', namespace: `${NS}kubevirt` },
          spec: {
            certificateRotateStrategy: {},
            configuration: {
              developerConfiguration: { featureGates: ['HotplugVolumes', 'ExpandDisks', 'LiveMigration', 'AutoResourceLimitsGate'] },
              evictionStrategy: 'LiveMigrate',
            },
            customizeComponents: {},
            imagePullPolicy: 'IfNotPresent',
            workloadUpdateStrategy: { workloadUpdateMethods: ['LiveMigrate'] },
          },
        },
      ],
    },
  },
  {
    name: 'kubevirt-cdi-operator',
    namespace: `${NS}kubevirt-cdi`,
    privileged: false,
    chart: { repository: 'https://suse-edge.github.io/charts', name: 'cdi', version: '0.2.3' },
    dependsOn: ['cilium', 'kubeovn'],
    traits: ['virtualisation'],
    source:
      'chart: suse-edge.github.io/charts cdi 0.2.3 (confirmed: suse-edge/charts charts/cdi/0.2.3/Chart.yaml, name cdi, version ' +
      '0.2.3, CDI 1.58.0; the same Helm repository as the kubevirt chart. SUSE\'s OCI build names the chart cdi too (OBS package ' +
      'cdi-chart, build tag <prefix>cdi), so the former oci://registry.suse.com/edge/cdi-chart path was not confirmable; CDI has ' +
      'no upstream chart); values: chart defaults. The chart also renders the CDI CR "cdi" (templates/cdi-cr.yaml, from .Values.cdi); ' +
      'the `kubevirt-cdi` release owns that CR, so a post-renderer drops it here',
    values: {},
    postRenderers: [dropObject('cdi.kubevirt.io', 'v1beta1', 'CDI', 'cdi')],
  },
  {
    name: 'kubevirt-cdi',
    namespace: `${NS}kubevirt-cdi`,
    privileged: false,
    chart: RAW,
    dependsOn: ['cilium', 'kubeovn', 'kubevirt-cdi-operator'],
    traits: ['virtualisation'],
    source:
      `${RAW_SOURCE}: the CDI CR (cdi.kubevirt.io/v1beta1) with the HonorWaitForFirstConsumer feature gate (as Cozystack packages/system/kubevirt-cdi); ` +
      'CDI\'s importer pods write block volumes as non-root, so containerd must hand them device ownership',
    node: { cri: [DEVICE_OWNERSHIP] },
    values: {
      resources: [
        {
          apiVersion: 'cdi.kubevirt.io/v1beta1',
          kind: 'CDI',
          metadata: { name: 'cdi' },
          spec: { config: { featureGates: ['HonorWaitForFirstConsumer'] }, imagePullPolicy: 'IfNotPresent', workload: {} },
        },
      ],
    },
  },
  {
    name: 'piraeus-operator',
    namespace: `${NS}linstor`,
    privileged: false,
    chart: { repository: 'oci://ghcr.io/piraeusdatastore/piraeus-operator', name: 'piraeus', version: '2.10.6' },
    dependsOn: ['cilium', 'kubeovn', 'cert-manager'],
    traits: ['storage'],
    source:
      'chart: oci://ghcr.io/piraeusdatastore/piraeus-operator/piraeus 2.10.6 (OCI path and installCRDs from piraeus-operator ' +
      'docs/how-to/helm.md; the release workflow pushes charts/piraeus to that path on every tag, which started in December 2025 ' +
      '(piraeus-operator issue 750), so 2.5.1 was never published there; 2.10.6 is installed from that path in public deployments. ' +
      'Cozystack instead vendors charts/piraeus from the v2.7.1 tag); values: installCRDs as that guide says',
    values: { installCRDs: true },
  },
  {
    name: 'linstor',
    namespace: `${NS}linstor`,
    privileged: true,
    chart: RAW,
    dependsOn: ['piraeus-operator', 'cilium', 'kubeovn', 'cert-manager'],
    traits: ['storage'],
    source:
      `${RAW_SOURCE}: LinstorCluster and the LinstorSatelliteConfiguration of piraeus-operator docs/how-to/talos.md ` +
      '(DRBD comes from the Talos drbd system extension, so the module-loader init container is removed; /var/lib/linstor.d on the host); ' +
      'the nodes load drbd (usermode_helper=disabled, as Cozystack\'s Talos patch) and drbd_transport_tcp (that how-to)',
    node: {
      kernelModules: [{ name: 'drbd', parameters: ['usermode_helper=disabled'] }, { name: 'drbd_transport_tcp' }],
      extensions: ['drbd'],
    },
    values: {
      resources: [
        { apiVersion: 'piraeus.io/v1', kind: 'LinstorCluster', metadata: { name: 'linstorcluster' }, spec: {} },
        {
          apiVersion: 'piraeus.io/v1',
          kind: 'LinstorSatelliteConfiguration',
          metadata: { name: 'talos-loader-override' },
          spec: {
            podTemplate: {
              spec: {
                initContainers: [{ name: 'drbd-shutdown-guard', $patch: 'delete' }, { name: 'drbd-module-loader', $patch: 'delete' }],
                volumes: [
                  { name: 'run-systemd-system', $patch: 'delete' },
                  { name: 'run-drbd-shutdown-guard', $patch: 'delete' },
                  { name: 'systemd-bus-socket', $patch: 'delete' },
                  { name: 'lib-modules', $patch: 'delete' },
                  { name: 'usr-src', $patch: 'delete' },
                  { name: 'etc-lvm-backup', hostPath: { path: '/var/etc/lvm/backup', type: 'DirectoryOrCreate' } },
                  { name: 'etc-lvm-archive', hostPath: { path: '/var/etc/lvm/archive', type: 'DirectoryOrCreate' } },
                ],
              },
            },
          },
        },
      ],
    },
  },
  {
    name: 'mariadb-operator',
    namespace: `${NS}mariadb-operator`,
    privileged: false,
    chart: { repository: 'https://helm.mariadb.com/mariadb-operator', name: 'mariadb-operator', version: '0.38.1' },
    dependsOn: ['cilium', 'kubeovn', 'cert-manager', 'victoria-metrics-operator', 'prometheus-operator-crds'],
    traits: [],
    crds: { uses: [CRD.serviceMonitors, CRD.certificates, CRD.issuers] },
    source:
      'chart: helm.mariadb.com/mariadb-operator mariadb-operator 0.38.1 (with metrics on it renders a ServiceMonitor: ' +
      'metrics.serviceMonitor.enabled defaults to true, so it comes after prometheus-operator-crds); values: crds.enabled installs the CRDs through the ' +
      'chart\'s mariadb-operator-crds subchart (its Chart.yaml dependency `condition: crds.enabled`, in 0.37.1 and in Cozystack\'s ' +
      'vendored 25.10.2), webhook certificates from cert-manager, metrics on',
    values: { crds: { enabled: true }, webhook: { cert: { certManager: { enabled: true } } }, metrics: { enabled: true } },
  },
  {
    name: 'postgres-operator',
    namespace: `${NS}postgres-operator`,
    privileged: false,
    chart: { repository: 'https://cloudnative-pg.github.io/charts', name: 'cloudnative-pg', version: '0.23.0' },
    dependsOn: ['cilium', 'kubeovn', 'cert-manager'],
    traits: [],
    source:
      'chart: cloudnative-pg.github.io/charts cloudnative-pg 0.23.0 (confirmed: Renovate\'s "Update Helm release cloudnative-pg to ' +
      'v0.23.2" upgrades from 0.23.0, gitlab.com/sylva-projects/sylva-core MR 4016; repository URL as Cozystack ' +
      'packages/system/postgres-operator/Makefile); values: chart defaults',
    values: {},
  },
  {
    name: 'rabbitmq-operator',
    namespace: `${NS}rabbitmq-operator`,
    privileged: false,
    chart: { repository: 'oci://registry-1.docker.io/bitnamicharts', name: 'rabbitmq-cluster-operator', version: '4.4.0' },
    dependsOn: ['cilium', 'kubeovn'],
    traits: [],
    source:
      'chart: oci://registry-1.docker.io/bitnamicharts/rabbitmq-cluster-operator 4.4.0 (confirmed: bitnami/charts ' +
      'bitnami/rabbitmq-cluster-operator/CHANGELOG.md "4.4.0 (2024-12-10)" and the Docker Hub tag list of bitnamicharts/' +
      'rabbitmq-cluster-operator). Since 28 August 2025 Bitnami\'s versioned images live in docker.io/bitnamilegacy (bitnami/charts ' +
      'issue 35164), so the values point the four images there and allow the non-default repository ' +
      '(global.security.allowInsecureImages, added in 4.4.0)',
    values: {
      global: { security: { allowInsecureImages: true } },
      rabbitmqImage: { repository: 'bitnamilegacy/rabbitmq' },
      credentialUpdaterImage: { repository: 'bitnamilegacy/rmq-default-credential-updater' },
      clusterOperator: { image: { repository: 'bitnamilegacy/rabbitmq-cluster-operator' } },
      msgTopologyOperator: { image: { repository: 'bitnamilegacy/rmq-messaging-topology-operator' } },
    },
  },
  {
    name: 'redis-operator',
    namespace: `${NS}redis-operator`,
    privileged: false,
    chart: { repository: 'https://spotahome.github.io/redis-operator', name: 'redis-operator', version: '3.3.0' },
    dependsOn: ['cilium', 'kubeovn'],
    traits: [],
    source:
      'chart: spotahome.github.io/redis-operator redis-operator 3.3.0 (confirmed: Cozystack vendors it, aenix-io/cozystack ' +
      'packages/system/redis-operator/charts/redis-operator/Chart.yaml version 3.3.0, pulled from the repository in that package\'s ' +
      'Makefile); values: CRDs from the chart',
    values: {},
  },
  {
    name: 'telepresence',
    namespace: `${NS}telepresence`,
    releaseName: 'traffic-manager',
    privileged: false,
    chart: { repository: 'https://app.getambassador.io', name: 'telepresence', version: '2.16.1' },
    dependsOn: ['cilium', 'kubeovn'],
    traits: [],
    source:
      'chart: app.getambassador.io telepresence 2.16.1, release name traffic-manager (confirmed: Cozystack vendors it, ' +
      'aenix-io/cozystack packages/system/telepresence/charts/telepresence/Chart.yaml version 2.16.1, pulled by that package\'s ' +
      'Makefile from https://app.getambassador.io as datawire/telepresence); values: chart defaults',
    values: {},
  },
  {
    name: 'dashboard',
    namespace: `${NS}dashboard`,
    privileged: false,
    chart: { repository: 'https://kubernetes-sigs.github.io/headlamp/', name: 'headlamp', version: '0.33.1' },
    dependsOn: ['cilium', 'kubeovn'],
    traits: ['dashboard'],
    source:
      'chart: kubernetes-sigs.github.io/headlamp headlamp 0.33.1 (confirmed: kubernetes-sigs/headlamp charts/headlamp/Chart.yaml ' +
      'version 0.33.1; the repository URL is the one the project documents for `helm repo add headlamp`. Cozystack used Kubeapps, ' +
      'which is no longer maintained; Headlamp is the Kubernetes SIG UI dashboard); values: chart defaults',
    values: {},
  },
  {
    name: 'kamaji',
    namespace: `${NS}kamaji`,
    privileged: false,
    chart: { repository: 'https://clastix.github.io/charts', name: 'kamaji', version: '1.0.0' },
    dependsOn: ['cilium', 'kubeovn', 'cert-manager'],
    traits: ['tenant-clusters'],
    source:
      'chart: clastix.github.io/charts kamaji 1.0.0 (confirmed: clastix/kamaji PR 805 refers to the published v1.0.0 chart, and ' +
      'public installs use `helm upgrade --install kamaji clastix/kamaji --version 1.0.0`; the repository URL as Cozystack\'s ' +
      'kamaji Makefile. Clastix now publishes only an unpinned 0.0.0+latest chart besides it); values: chart defaults (datastore from the chart)',
    values: {},
  },
  {
    name: 'capi-operator',
    namespace: `${NS}cluster-api`,
    privileged: true,
    chart: { repository: 'https://kubernetes-sigs.github.io/cluster-api-operator', name: 'cluster-api-operator', version: '0.15.0' },
    dependsOn: ['cilium', 'kubeovn', 'cert-manager'],
    traits: ['tenant-clusters'],
    source:
      'chart: kubernetes-sigs.github.io/cluster-api-operator cluster-api-operator 0.15.0 (confirmed: kubernetes-sigs/cluster-api-operator ' +
      'PR 662 "Update helm chart index.yaml to v0.15.0", 2024-12-18, adds it to the repository\'s index; 0.15.1 was tagged but its ' +
      'index entry was not found; repository URL as Cozystack packages/system/capi-operator/Makefile, which vendors the chart too); ' +
      'values: cert-manager comes from its own release (the chart\'s dependency condition cert-manager.enabled)',
    values: { 'cert-manager': { enabled: false } },
  },
  {
    name: 'capi-providers',
    namespace: `${NS}cluster-api`,
    privileged: true,
    chart: RAW,
    dependsOn: ['cilium', 'kubeovn', 'capi-operator'],
    traits: ['tenant-clusters'],
    source:
      `${RAW_SOURCE}: CoreProvider cluster-api, BootstrapProvider kubeadm, ControlPlaneProvider kamaji, InfrastructureProvider kubevirt ` +
      '(operator.cluster.x-k8s.io/v1alpha2, the provider set of Cozystack packages/system/capi-providers)',
    values: {
      resources: [
        ['CoreProvider', 'cluster-api'],
        ['BootstrapProvider', 'kubeadm'],
        ['ControlPlaneProvider', 'kamaji'],
        ['InfrastructureProvider', 'kubevirt'],
      ].map(([kind, name]) => ({
        apiVersion: 'operator.cluster.x-k8s.io/v1alpha2',
        kind,
        metadata: { name, namespace: `${NS}cluster-api` },
        spec: {},
      })),
    },
  },
  {
    name: 'fluxcd-operator',
    namespace: `${NS}fluxcd`,
    privileged: true,
    chart: { repository: 'oci://ghcr.io/controlplaneio-fluxcd/charts', name: 'flux-operator', version: '0.53.0' },
    dependsOn: [],
    traits: ['flux'],
    source:
      'chart: oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator 0.53.0 (ships Flux 2.9.0; Cozystack paas-full runs ' +
      'fluxcd-operator + fluxcd the same way); values (when the platform brings the CNI): host network, the pre-CNI tolerations and ' +
      'the API through KubePrism (extraEnvs KUBERNETES_SERVICE_HOST/PORT), as Cozystack packages/system/fluxcd-operator/values.yaml; ' +
      'its web UI (port 9080 on the host) off',
    values: (ctx): Values =>
      ctx.fluxOnHostNetwork
        ? {
            hostNetwork: true,
            tolerations: PRE_CNI_TOLERATIONS.map((t) => ({ ...t })),
            extraEnvs: [
              { name: 'KUBERNETES_SERVICE_HOST', value: KUBEPRISM.host },
              { name: 'KUBERNETES_SERVICE_PORT', value: String(KUBEPRISM.port) },
            ],
            web: { enabled: false },
          }
        : {},
  },
  {
    name: 'fluxcd',
    namespace: `${NS}fluxcd`,
    privileged: true,
    chart: { repository: 'oci://ghcr.io/controlplaneio-fluxcd/charts', name: 'flux-instance', version: '0.53.0' },
    dependsOn: ['fluxcd-operator', 'cilium', 'kubeovn'],
    traits: ['flux'],
    source:
      'chart: oci://ghcr.io/controlplaneio-fluxcd/charts/flux-instance 0.53.0: a FluxInstance that takes over the controllers ' +
      '`hearth platform install` applied, so Flux upgrades itself; version from platform.flux.version; when the platform brings ' +
      'the CNI, instance.kustomize.patches put the controllers on the host network exactly as the install did (see flux-hostnet.ts), ' +
      'so the takeover changes nothing. On the host network source-controller\'s artifact server and notification-controller\'s ' +
      'event and webhook receivers have no authentication, so the Talos ingress firewall keeps them to the nodes',
    node: (ctx) => (ctx.fluxOnHostNetwork ? { nodeOnlyPorts: FLUX_NODE_ONLY_PORTS } : {}),
    values: (ctx) => ({
      instance: {
        distribution: { version: ctx.fluxVersion.replace(/^v/, '').replace(/\.\d+$/, '.x'), registry: 'ghcr.io/fluxcd' },
        components: [...FLUX_COMPONENTS],
        cluster: { type: 'kubernetes', networkPolicy: true, domain: 'cluster.local' },
        ...(ctx.fluxOnHostNetwork ? { kustomize: { patches: fluxInstancePatches(FLUX_COMPONENTS) } } : {}),
      },
    }),
  },
];

/** Flux's own namespace: `hearth platform install` installs the controllers here. */
export const FLUX_NAMESPACE = `${NS}fluxcd`;
/** Where hearth puts the HelmRepository / OCIRepository sources. */
export const SOURCES_NAMESPACE = `${NS}system`;

export function catalogComponent(name: string): ComponentDef | undefined {
  return CATALOG.find((c) => c.name === name);
}
