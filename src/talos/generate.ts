/**
 * The base machine configs, as `talosctl gen config` builds them (Talos machinery
 * pkg/machinery/config/generate: init.go/controlplane.go/worker.go), for one version contract.
 * Pure: secrets and options in, config documents (plain objects) out.
 */
import type { TalosContract } from './contract.js';
import { b64, type SecretsBundle } from './secrets.js';

export type MachineType = 'controlplane' | 'worker';

/** A config document: a plain YAML mapping. */
export type Doc = Record<string, unknown>;

/** The options `talosctl gen config` takes that hearth uses (generate.Option). */
export interface GenOptions {
  clusterName: string;
  /** https://host:port */
  endpoint: string;
  /** Kubernetes version without the leading v (1.28.0). */
  kubernetesVersion: string;
  additionalSANs?: string[];
  allowSchedulingOnControlPlanes?: boolean;
  dnsDomain?: string;
  installDisk?: string;
  installImage?: string;
  installExtraKernelArgs?: string[];
  localAPIServerPort?: number;
  sysctls?: Record<string, string>;
  cni?: { name: string; urls?: string[] };
  /** host -> mirror endpoints */
  registryMirrors?: Record<string, string[]>;
  podSubnets?: string[];
  serviceSubnets?: string[];
}

const PSA_ADMISSION = () => [
  {
    name: 'PodSecurity',
    configuration: {
      apiVersion: 'pod-security.admission.config.k8s.io/v1alpha1',
      defaults: {
        audit: 'restricted',
        'audit-version': 'latest',
        enforce: 'baseline',
        'enforce-version': 'latest',
        warn: 'restricted',
        'warn-version': 'latest',
      },
      exemptions: { namespaces: ['kube-system'], runtimeClasses: [], usernames: [] },
      kind: 'PodSecurityConfiguration',
    },
  },
];

const AUDIT_POLICY = () => ({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: [{ level: 'Metadata' }] });

/** The documents of one machine type's base config, in talosctl's order. */
export function generateBase(type: MachineType, contract: TalosContract, secrets: SecretsBundle, opts: GenOptions): Doc[] {
  const cp = type === 'controlplane';
  const k8s = `v${opts.kubernetesVersion.replace(/^v/, '')}`;
  const endpointHost = new URL(opts.endpoint).hostname.replace(/^\[(.*)\]$/, '$1');
  const sans = opts.additionalSANs ?? [];

  const install: Doc = {};
  if (opts.installDisk) install.disk = opts.installDisk;
  if (opts.installExtraKernelArgs?.length) install.extraKernelArgs = [...opts.installExtraKernelArgs];
  if (opts.installImage) install.image = opts.installImage;
  install.wipe = false;
  if (contract.grubUseUKICmdline) install.grubUseUKICmdline = true;

  const features: Doc = {};
  if (!contract.hideDeprecatedMachineFeatures) {
    features.rbac = true;
    features.stableHostname = true;
    features.apidCheckExtKeyUsage = true;
  }
  if (contract.diskQuotaSupport) features.diskQuotaSupport = true;
  if (contract.kubePrism) features.kubePrism = { enabled: true, port: 7445 };
  if (contract.hostDNS) {
    features.hostDNS = contract.hostDNSForwardKubeDNSToHost ? { enabled: true, forwardKubeDNSToHost: true } : { enabled: true };
  }

  const machine: Doc = {
    type,
    token: secrets.trustdinfo.token,
    ca: { crt: b64(secrets.certs.os.crt), key: cp ? b64(secrets.certs.os.key ?? '') : '' },
    certSANs: [...sans],
    kubelet: {
      image: `ghcr.io/siderolabs/kubelet:${k8s}`,
      defaultRuntimeSeccompProfileEnabled: true,
      disableManifestsDirectory: true,
    },
  };
  if (!contract.multiDocNetwork) machine.network = {};
  machine.install = install;
  if (opts.sysctls && Object.keys(opts.sysctls).length > 0) machine.sysctls = { ...opts.sysctls };
  const mirrors = opts.registryMirrors ?? {};
  if (!contract.registryMirrorDocuments && Object.keys(mirrors).length > 0) {
    machine.registries = {
      mirrors: Object.fromEntries(Object.entries(mirrors).map(([host, eps]) => [host, { endpoints: [...eps] }])),
    };
  }
  machine.features = features;
  if (cp && contract.excludeFromExternalLoadBalancer) {
    machine.nodeLabels = { 'node.kubernetes.io/exclude-from-external-load-balancers': '' };
  }

  const network: Doc = {};
  if (opts.cni) network.cni = { name: opts.cni.name, ...(opts.cni.urls?.length ? { urls: [...opts.cni.urls] } : {}) };
  network.dnsDomain = opts.dnsDomain ?? 'cluster.local';
  network.podSubnets = [...(opts.podSubnets ?? ['10.244.0.0/16'])];
  network.serviceSubnets = [...(opts.serviceSubnets ?? ['10.96.0.0/12'])];

  const controlPlane: Doc = { endpoint: opts.endpoint };
  if (cp && opts.localAPIServerPort) controlPlane.localAPIServerPort = opts.localAPIServerPort;

  const cluster: Doc = { id: secrets.cluster.id, secret: secrets.cluster.secret, controlPlane };
  if (cp || contract.clusterNameForWorkers) cluster.clusterName = opts.clusterName;
  cluster.network = network;
  cluster.token = secrets.secrets.bootstraptoken;
  if (cp) {
    if (secrets.secrets.secretboxencryptionsecret) cluster.secretboxEncryptionSecret = secrets.secrets.secretboxencryptionsecret;
    else if (secrets.secrets.aescbcencryptionsecret) cluster.aescbcEncryptionSecret = secrets.secrets.aescbcencryptionsecret;
  }
  cluster.ca = { crt: b64(secrets.certs.k8s.crt), key: cp ? b64(secrets.certs.k8s.key ?? '') : '' };
  if (cp) {
    cluster.aggregatorCA = { crt: b64(secrets.certs.k8saggregator.crt), key: b64(secrets.certs.k8saggregator.key ?? '') };
    cluster.serviceAccount = { key: b64(secrets.certs.k8sserviceaccount.key) };
    const apiServer: Doc = { image: `registry.k8s.io/kube-apiserver:${k8s}` };
    const apiSANs = contract.populateEndpointSANs ? [endpointHost, ...sans.filter((s) => s !== endpointHost)] : [...sans];
    if (apiSANs.length > 0) apiServer.certSANs = apiSANs;
    // gone with the deprecated machine features in the same release
    if (!contract.hideDeprecatedMachineFeatures) apiServer.disablePodSecurityPolicy = true;
    apiServer.admissionControl = PSA_ADMISSION();
    apiServer.auditPolicy = AUDIT_POLICY();
    cluster.apiServer = apiServer;
    cluster.controllerManager = { image: `registry.k8s.io/kube-controller-manager:${k8s}` };
    cluster.proxy = { image: `registry.k8s.io/kube-proxy:${k8s}` };
    cluster.scheduler = { image: `registry.k8s.io/kube-scheduler:${k8s}` };
  }
  cluster.discovery = { enabled: true, registries: { kubernetes: { disabled: true }, service: {} } };
  if (cp) {
    cluster.etcd = { ca: { crt: b64(secrets.certs.etcd.crt), key: b64(secrets.certs.etcd.key ?? '') } };
    if (opts.allowSchedulingOnControlPlanes) cluster.allowSchedulingOnControlPlanes = true;
  }

  const docs: Doc[] = [{ version: 'v1alpha1', debug: false, persist: true, machine, cluster }];
  if (contract.registryMirrorDocuments) {
    for (const [host, eps] of Object.entries(mirrors)) {
      docs.push({ apiVersion: 'v1alpha1', kind: 'RegistryMirrorConfig', name: host, endpoints: eps.map((url) => ({ url })) });
    }
  }
  if (contract.multiDocNetwork) docs.push({ apiVersion: 'v1alpha1', kind: 'HostnameConfig', auto: 'stable' });
  return docs;
}
