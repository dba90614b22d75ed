/**
 * Who is calling and what they may do, as kube-apiserver decides it: a client certificate signed by
 * the cluster CA names the user (Subject CN) and groups (Subject O); a bearer token maps to a user;
 * nobody else is authenticated (401). Authorization follows a small RBAC-shaped rules table
 * (system:masters may do anything); a refusal is the real 403 Forbidden message.
 */
import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import { groupResource, status, ApiError } from './types.js';

export interface UserInfo {
  name: string;
  groups: string[];
}

/** One RBAC-shaped grant: these users/groups may do these verbs on these resources. */
export interface RbacRule {
  users?: string[];
  groups?: string[];
  verbs: string[];
  /** Plural resource names ("configmaps", "deployments/status"), or "*". */
  resources: string[];
  /** API groups ("" for core), or "*"; any when omitted. */
  apiGroups?: string[];
  /** Namespaces the grant covers (a RoleBinding's); every namespace and cluster scope when omitted. */
  namespaces?: string[];
}

export interface Attributes {
  verb: string;
  group: string;
  plural: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The caller, or undefined when unauthenticated. */
export function authenticate(req: http.IncomingMessage, tokens: Map<string, UserInfo>): UserInfo | undefined {
  const sock = req.socket as Partial<TLSSocket>;
  if (sock.encrypted && sock.authorized && sock.getPeerCertificate) {
    const subject = sock.getPeerCertificate().subject as unknown as Record<string, string | string[]> | undefined;
    const cn = asList(subject?.CN)[0];
    if (cn) return { name: cn, groups: [...asList(subject?.O), 'system:authenticated'] };
  }
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  const u = m ? tokens.get(m[1]!) : undefined;
  return u ? { name: u.name, groups: [...u.groups, 'system:authenticated'] } : undefined;
}

const covers = (list: string[] | undefined, v: string): boolean => list === undefined || list.includes('*') || list.includes(v);

export function allowed(rules: RbacRule[] | undefined, u: UserInfo, a: Attributes): boolean {
  if (!rules || u.groups.includes('system:masters')) return true;
  const resource = a.subresource ? `${a.plural}/${a.subresource}` : a.plural;
  return rules.some(
    (r) =>
      ((r.users ?? []).includes(u.name) || (r.groups ?? []).some((g) => u.groups.includes(g))) &&
      covers(r.verbs, a.verb) &&
      covers(r.resources, resource) &&
      covers(r.apiGroups, a.group) &&
      (r.namespaces === undefined || (a.namespace !== undefined && r.namespaces.includes(a.namespace))),
  );
}

/** kube-apiserver's 403 for a request RBAC does not allow. */
export function forbidden(u: UserInfo, a: Attributes): ApiError {
  const resource = a.subresource ? `${a.plural}/${a.subresource}` : a.plural;
  const what = `${groupResource({ group: a.group, plural: a.plural })}${a.name ? ` "${a.name}"` : ''}`;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  const message = `${what} is forbidden: User "${u.name}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" ${scope}`;
  return new ApiError(status(403, 'Forbidden', message, { ...(a.name ? { name: a.name } : {}), ...(a.group ? { group: a.group } : {}), kind: a.plural }));
}

export const unauthorized = (): ApiError => new ApiError(status(401, 'Unauthorized', 'Unauthorized'));
