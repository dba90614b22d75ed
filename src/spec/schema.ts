import { z } from 'zod';
import { clusterSchema, imageSchema, metadataSchema, talosSchema } from './sections/core.js';
import { machineSchema } from './sections/machines.js';
import { netbootSchema } from './sections/netboot.js';
import { platformSchema } from './sections/platform.js';

/**
 * The whole of hearth.yaml. The validator and the published JSON Schema both come from this one
 * definition, so an editor and `hearth validate` never disagree on the shape.
 */
export const specSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of this JSON Schema, for editors.'),
    metadata: metadataSchema,
    talos: talosSchema.prefault({}),
    image: imageSchema.prefault({}),
    cluster: clusterSchema,
    netboot: netbootSchema.prefault({}),
    machines: z.array(machineSchema).default([]).describe('The servers.'),
    platform: platformSchema.prefault({}),
  })
  .describe('hearth.yaml: one file for the whole cloud, from image to platform.');

export type Spec = z.output<typeof specSchema>;
export type SpecInput = z.input<typeof specSchema>;
export type Machine = Spec['machines'][number];
export type ImageSpec = Spec['image'];
export type ClusterSpec = Spec['cluster'];
export type NetbootSpec = Spec['netboot'];
export type PlatformSpec = Spec['platform'];
export type Patch = Spec['cluster']['patches']['common'][number];

let cachedJsonSchema: Record<string, unknown> | undefined;

/** The JSON Schema (draft 2020-12) of hearth.yaml, as an editor wants it: input shape, defaults shown. */
export function specJsonSchema(): Record<string, unknown> {
  cachedJsonSchema ??= {
    ...(z.toJSONSchema(specSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>),
    $id: 'https://hearth.invalid/schema/hearth.schema.json',
    title: 'hearth.yaml',
  };
  return cachedJsonSchema;
}
