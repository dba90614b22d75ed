import { z } from 'zod';
import { SPEC_API_GROUP, SPEC_API_VERSION, SPEC_KIND, SPEC_VERSION } from './apiversion.js';
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
    apiVersion: z.literal(SPEC_API_VERSION).describe(`Version of this file's format: ${SPEC_API_VERSION}. Older versions are converted when read.`),
    kind: z.literal(SPEC_KIND).describe(`What this file describes: ${SPEC_KIND}.`),
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

/** Where the JSON Schema of this apiVersion is published: one URL per version of the format. */
export const SCHEMA_ID = `https://${SPEC_API_GROUP}/schema/${SPEC_VERSION}/hearth.schema.json`;

let cachedJsonSchema: Record<string, unknown> | undefined;

/** The JSON Schema (draft 2020-12) of hearth.yaml, as an editor wants it: input shape, defaults shown. */
export function specJsonSchema(): Record<string, unknown> {
  cachedJsonSchema ??= {
    ...(z.toJSONSchema(specSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>),
    $id: SCHEMA_ID,
    title: 'hearth.yaml',
  };
  return cachedJsonSchema;
}
