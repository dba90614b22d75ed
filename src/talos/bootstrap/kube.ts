/**
 * The Kubernetes side of the health check, with exactly what the admin kubeconfig holds: the
 * cluster CA and the client certificate. GET /readyz and GET /api/v1/nodes over HTTPS.
 */
import https from 'node:https';
import { parse } from 'yaml';
import { OperationError } from '../../common/errors.js';

export interface KubeAccess {
  server: string;
  ca: string;
  crt: string;
  key: string;
}

const pem = (v: unknown): string => (typeof v === 'string' && v ? Buffer.from(v, 'base64').toString('utf8') : '');

/** The server, CA and client identity of a kubeconfig's current context; undefined when incomplete. */
export function kubeAccess(text: string): KubeAccess | undefined {
  let doc: any;
  try {
    doc = parse(text);
  } catch {
    return undefined;
  }
  const ctx = (doc?.contexts ?? []).find((c: any) => c?.name === doc?.['current-context'])?.context;
  const cluster = (doc?.clusters ?? []).find((c: any) => c?.name === ctx?.cluster)?.cluster;
  const user = (doc?.users ?? []).find((u: any) => u?.name === ctx?.user)?.user;
  const access = { server: String(cluster?.server ?? ''), ca: pem(cluster?.['certificate-authority-data']), crt: pem(user?.['client-certificate-data']), key: pem(user?.['client-key-data']) };
  return access.server && access.ca && access.crt && access.key ? access : undefined;
}

function get(a: KubeAccess, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, a.server);
    const req = https.get(url, { ca: a.ca, cert: a.crt, key: a.key, timeout: timeoutMs, headers: { accept: 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(new OperationError(`Kubernetes API ${a.server}: ${err.message}`)));
  });
}

/** Whether the API server answers /readyz with 200. */
export async function readyz(a: KubeAccess, timeoutMs = 5000): Promise<{ ok: boolean; detail: string }> {
  const r = await get(a, '/readyz', timeoutMs);
  return { ok: r.status === 200, detail: r.status === 200 ? 'ok' : `/readyz answered ${r.status}` };
}

/** The Nodes and whether each is Ready. */
export async function nodeReadiness(a: KubeAccess, timeoutMs = 5000): Promise<Map<string, boolean>> {
  const r = await get(a, '/api/v1/nodes', timeoutMs);
  if (r.status !== 200) throw new OperationError(`Kubernetes API ${a.server}: GET /api/v1/nodes answered ${r.status}`);
  const list = JSON.parse(r.body) as { items?: { metadata?: { name?: string }; status?: { conditions?: { type?: string; status?: string }[] } }[] };
  const out = new Map<string, boolean>();
  for (const n of list.items ?? []) {
    const ready = (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    if (n.metadata?.name) out.set(n.metadata.name, ready);
  }
  return out;
}
