/**
 * Machine configs as talosctl writes them (yaml.v3, four-space indent, `---` between
 * documents), through the shared yaml.v3 emulation, and read back with the `yaml` parser.
 */
import { parseAllDocuments } from 'yaml';
import { marshalYamlV3Documents } from '../common/yamlv3.js';
import type { Doc } from './generate.js';

export function docsToYaml(docs: Doc[]): string {
  return marshalYamlV3Documents(docs);
}

/** Parses a (multi-document) config back into documents. */
export function yamlToDocs(text: string): Doc[] {
  return parseAllDocuments(text)
    .map((d) => ('toJS' in d ? (d.toJS() as Doc) : undefined))
    .filter((d): d is Doc => d !== null && d !== undefined);
}
