import { z } from 'zod';
import { url } from './common.js';

export const chartSchema = z
  .strictObject({
    repository: url(['https', 'http', 'oci']).describe('HelmRepository URL, or oci://registry/path for an OCI chart.'),
    name: z.string().min(1),
    version: z.string().min(1).describe('Chart version (a pinned version or a semver range).'),
  })
  .describe('Where the chart comes from.');

export const componentSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,51}[a-z0-9])?$/, { message: 'must be a DNS label of at most 53 characters' }),
    namespace: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, { message: 'must be a namespace name (a DNS label)' }).optional(),
    privileged: z.boolean().optional(),
    chart: chartSchema.optional(),
    dependsOn: z.array(z.string().min(1)).optional(),
    values: z.record(z.string(), z.unknown()).optional(),
  })
  .describe('An extra component, or an override of a bundle component with the same name.');

export const platformSchema = z
  .strictObject({
    bundle: z.enum(['paas-full', 'distro-full', 'paas-hosted', 'distro-hosted']).default('paas-full'),
    disable: z.array(z.string().min(1)).default([]).describe('Bundle components to leave out.'),
    values: z
      .record(z.string(), z.record(z.string(), z.unknown()))
      .default({})
      .describe('Per-component values, deep-merged over the bundle defaults.'),
    components: z.array(componentSchema).default([]),
    loadBalancer: z
      .strictObject({
        addresses: z.array(z.string().min(1)).default([]).describe('MetalLB pool: CIDRs or FIRST-LAST ranges.'),
      })
      .optional(),
    flux: z
      .strictObject({ version: z.string().regex(/^v\d+\.\d+\.\d+$/, { message: 'must be a Flux version like v2.4.0' }).optional() })
      .default({}),
  })
  .describe('System components installed by Flux as HelmReleases.');
