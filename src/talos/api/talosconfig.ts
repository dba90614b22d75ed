/** Reading a talosconfig (clientconfig.Config): the current context's identity and endpoints. */
import { parse } from 'yaml';
import { InputError } from '../../common/errors.js';
import { readInputFile } from '../../common/fs.js';

export interface TalosIdentity {
  ca: string;
  crt: string;
  key: string;
}

export interface Talosconfig {
  context: string;
  endpoints: string[];
  identity: TalosIdentity;
}

/** The current context of the talosconfig at `file` (PEM identity); InputError when it is unusable. */
export function readTalosconfig(file: string): Talosconfig {
  let doc: any;
  try {
    doc = parse(readInputFile(file, 'talosconfig'));
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`talosconfig ${file}: not valid YAML`);
  }
  const ctx = doc?.contexts?.[doc?.context];
  const pem = (v: unknown) => (typeof v === 'string' && v ? Buffer.from(v, 'base64').toString('utf8') : '');
  const identity = { ca: pem(ctx?.ca), crt: pem(ctx?.crt), key: pem(ctx?.key) };
  if (!identity.ca || !identity.crt || !identity.key) throw new InputError(`talosconfig ${file}: the current context has no ca, crt and key`);
  const endpoints = Array.isArray(ctx.endpoints) ? ctx.endpoints.map(String) : [];
  return { context: String(doc.context), endpoints, identity };
}
