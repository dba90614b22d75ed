/**
 * Talos version contract: a Talos release (major.minor) mapped to the config-generation features it
 * gets, the way Talos machinery's config.VersionContract does. Every difference between the configs
 * of two Talos versions is one named flag here; the generator only reads flags, never versions.
 */
import { majorMinor } from '../spec/index.js';

export interface TalosContract {
  /** e.g. "v1.13". */
  readonly name: string;
  readonly major: number;
  readonly minor: number;
  /** cluster.secretboxEncryptionSecret (else aescbcEncryptionSecret). Talos > 1.2. */
  readonly secretboxEncryption: boolean;
  /** machine.features.diskQuotaSupport: true. Talos > 1.4. */
  readonly diskQuotaSupport: boolean;
  /** machine.features.kubePrism enabled on port 7445. Talos > 1.5. */
  readonly kubePrism: boolean;
  /** machine.features.hostDNS.enabled. Talos > 1.6. */
  readonly hostDNS: boolean;
  /** machine.features.hostDNS.forwardKubeDNSToHost. Talos > 1.7. */
  readonly hostDNSForwardKubeDNSToHost: boolean;
  /** The Kubernetes service-account key is RSA-4096 (else ECDSA P-256). Talos > 1.6. */
  readonly rsaServiceAccountKey: boolean;
  /** cluster.clusterName in worker configs too. Talos > 1.7. */
  readonly clusterNameForWorkers: boolean;
  /** Control planes get the node.kubernetes.io/exclude-from-external-load-balancers label. Talos > 1.7. */
  readonly excludeFromExternalLoadBalancer: boolean;
  /**
   * MultidocNetworkConfigSupported: hostname and node networking in their own documents
   * (HostnameConfig with `auto: stable` in the base config; LinkConfig, BondConfig, LinkAliasConfig,
   * Layer2VIPConfig, ResolverConfig, DHCPv4Config per node); no machine.network. Talos > 1.11.
   */
  readonly multiDocNetwork: boolean;
  /** HideDeprecatedMachineFeatures: no rbac/stableHostname/apidCheckExtKeyUsage flags. Talos > 1.11. */
  readonly hideDeprecatedMachineFeatures: boolean;
  /** PopulateEndpointSANsByDefault: the endpoint host goes into cluster.apiServer.certSANs. Talos <= 1.11. */
  readonly populateEndpointSANs: boolean;
  /** GrubUseUKICmdlineDefault: machine.install.grubUseUKICmdline: true. Talos > 1.11. */
  readonly grubUseUKICmdline: boolean;
  /** Registry mirrors as RegistryMirrorConfig documents (else machine.registries.mirrors). Talos > 1.11. */
  readonly registryMirrorDocuments: boolean;
  /**
   * The aggregator (front-proxy) CA carries CN=front-proxy, else an empty subject. talosctl changed
   * this in the v1.12 cycle (siderolabs/talos#12262, "add CA subject to generated certificate");
   * hearth ties it to the contract so a bundle matches the talosctl of that release.
   */
  readonly aggregatorCACommonName: boolean;
  /**
   * The ingress firewall documents NetworkDefaultActionConfig and NetworkRuleConfig. Talos > 1.5
   * (siderolabs/talos PR 7999 "implement ingress firewall rules", merged for v1.6.0).
   */
  readonly ingressFirewall: boolean;
  /**
   * The CRI runs containerd 2, whose runtime settings live in the `io.containerd.cri.v1.runtime`
   * plugin table (containerd 1.x: `io.containerd.grpc.v1.cri`). Talos > 1.8 (v1.9 ships containerd 2.0).
   */
  readonly containerd2: boolean;
  /** JSON Schema file under schemas/ that validates this version's documents. */
  readonly schema: 'v1.6' | 'v1.13';
}

/** The oldest Talos line hearth generates configs for. */
export const MIN_CONTRACT: [number, number] = [1, 6];

export function contractFor(talosVersion: string): TalosContract {
  const [major, minor] = majorMinor(talosVersion);
  const gt = (a: number, b: number) => major > a || (major === a && minor > b);
  const after111 = gt(1, 11);
  return {
    name: `v${major}.${minor}`,
    major,
    minor,
    secretboxEncryption: gt(1, 2),
    diskQuotaSupport: gt(1, 4),
    kubePrism: gt(1, 5),
    hostDNS: gt(1, 6),
    hostDNSForwardKubeDNSToHost: gt(1, 7),
    rsaServiceAccountKey: gt(1, 6),
    clusterNameForWorkers: gt(1, 7),
    excludeFromExternalLoadBalancer: gt(1, 7),
    multiDocNetwork: after111,
    hideDeprecatedMachineFeatures: after111,
    populateEndpointSANs: !after111,
    grubUseUKICmdline: after111,
    registryMirrorDocuments: after111,
    aggregatorCACommonName: after111,
    ingressFirewall: gt(1, 5),
    containerd2: gt(1, 8),
    schema: after111 ? 'v1.13' : 'v1.6',
  };
}

export function contractSupported(talosVersion: string): boolean {
  const [major, minor] = majorMinor(talosVersion);
  return major > MIN_CONTRACT[0] || (major === MIN_CONTRACT[0] && minor >= MIN_CONTRACT[1]);
}
