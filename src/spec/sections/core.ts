import { z } from 'zod';
import { DEFAULT_TALOS_VERSION, KUBERNETES_VERSION_RE, TALOS_VERSION_RE } from '../versions.js';
import { cidr, dnsLabel, imageRef, ip, patch, url } from './common.js';

export const metadataSchema = z
  .strictObject({
    name: dnsLabel.describe('Cluster name, a DNS label. Used as the Talos cluster name and in file names.'),
  })
  .describe('What this cloud is called.');

export const talosSchema = z
  .strictObject({
    version: z
      .string()
      .regex(TALOS_VERSION_RE, { message: 'must be a Talos version like v1.13.9' })
      .default(DEFAULT_TALOS_VERSION)
      .describe('Talos Linux release for the image and the machine configs.'),
    kubernetesVersion: z
      .string()
      .regex(KUBERNETES_VERSION_RE, { message: 'must be a Kubernetes version like 1.29.1' })
      .optional()
      .describe('Kubernetes version; default: the one the Talos release ships with.'),
  })
  .describe('Talos and Kubernetes versions.');

const extensionName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/, { message: 'must be a Talos system extension name like zfs or intel-ucode' });

export const imageSchema = z
  .strictObject({
    arch: z.enum(['amd64', 'arm64']).default('amd64').describe('CPU architecture of the servers.'),
    platform: z
      .string()
      .regex(/^[a-z0-9-]+$/, { message: 'must be a Talos platform name like metal' })
      .default('metal')
      .describe('Talos platform; metal for bare metal.'),
    secureboot: z.boolean().default(false).describe('Build a SecureBoot (UKI) image.'),
    firmware: z.array(extensionName).default([]).describe('Firmware system extensions, for example amd-ucode, intel-ucode, bnx2-bnx2x.'),
    extensions: z.array(extensionName).default([]).describe('System extensions, for example drbd, zfs.'),
    source: z
      .enum(['imager', 'factory'])
      .default('imager')
      .describe('imager: build locally with the Talos imager (as the seed does); factory: use the Talos Image Factory.'),
    refs: z
      .record(extensionName, imageRef)
      .default({})
      .describe('Explicit image references per extension name; they override the catalog.'),
    extraKernelArgs: z.array(z.string().min(1)).default([]).describe('Extra kernel arguments baked into the image.'),
    factory: url(['https', 'http'])
      .default('https://factory.talos.dev')
      .describe('Talos Image Factory base URL (a self-hosted factory works too).'),
    installer: imageRef
      .optional()
      .describe(
        'Installer image the machine configs install from. Default: the Image Factory installer for the same version and extensions; with source imager and custom refs, the registry/repo:tag you push the built installer-ARCH.tar to.',
      ),
  })
  .describe('The Talos system image: firmware and kernel modules the servers need.');

export const patchesSchema = z
  .strictObject({
    common: z.array(patch).default([]).describe('Patches for every machine.'),
    controlplane: z.array(patch).default([]).describe('Patches for control-plane machines.'),
    worker: z.array(patch).default([]).describe('Patches for worker machines.'),
  })
  .describe('Talos config patches: file paths, inline YAML, strategic-merge objects or RFC 6902 operation lists.');

/** Talos's default pod and service networks. */
export const CLUSTER_NETWORK_DEFAULTS = { podSubnets: ['10.244.0.0/16'], serviceSubnets: ['10.96.0.0/12'] };

export const clusterSchema = z
  .strictObject({
    endpoint: url(['https']).describe('Kubernetes API endpoint, for example https://192.0.2.10:6443.'),
    vip: ip.optional().describe('Shared virtual IP announced by the control planes.'),
    podSubnets: z.array(cidr).min(1).default(CLUSTER_NETWORK_DEFAULTS.podSubnets).describe('Pod networks.'),
    serviceSubnets: z.array(cidr).min(1).default(CLUSTER_NETWORK_DEFAULTS.serviceSubnets).describe('Service networks.'),
    patches: patchesSchema.default({ common: [], controlplane: [], worker: [] }),
  })
  .describe('Cluster-wide settings.');
