/**
 * The talosconfig side of a bootstrap: the os:admin identity hearth talks to configured nodes with,
 * kept stable across runs (an existing DIR/talosconfig of the same os CA and endpoints is reused, so
 * a rerun changes nothing), and machine configs compared by content.
 */
import { parse, parseAllDocuments } from 'yaml';

export interface TalosIdentity {
  ca: string;
  crt: string;
  key: string;
}

const pem = (v: unknown): string => (typeof v === 'string' && v ? Buffer.from(v, 'base64').toString('utf8') : '');

/** The current context of a talosconfig: endpoints and identity (PEM); undefined when incomplete. */
export function talosconfigContext(text: string): { endpoints: string[]; identity: TalosIdentity } | undefined {
  let doc: any;
  try {
    doc = parse(text);
  } catch {
    return undefined;
  }
  const ctx = doc?.contexts?.[doc?.context];
  const identity = { ca: pem(ctx?.ca), crt: pem(ctx?.crt), key: pem(ctx?.key) };
  if (!identity.ca || !identity.crt || !identity.key) return undefined;
  const endpoints = Array.isArray(ctx?.endpoints) ? ctx.endpoints.map(String) : [];
  return { endpoints, identity };
}

/** Whether an existing talosconfig can stay: same os CA, same endpoints, a full identity. */
export function talosconfigStillValid(existing: string | undefined, osCa: string, endpoints: string[]): boolean {
  const ctx = existing === undefined ? undefined : talosconfigContext(existing);
  return !!ctx && ctx.identity.ca.trim() === osCa.trim() && ctx.endpoints.join(',') === endpoints.join(',');
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

/** Two machine configs with the same documents (key order and layout aside). */
export function sameConfig(a: string, b: string): boolean {
  const docs = (t: string) => JSON.stringify(parseAllDocuments(t).map((d) => canonical(d.toJS())).filter((d) => d !== null));
  try {
    return docs(a) === docs(b);
  } catch {
    return false;
  }
}
