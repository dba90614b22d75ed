/**
 * The small Kubernetes client the platform stage needs, behind an interface so the install and
 * status logic stay testable: get, list, server-side apply, watch. The implementation uses
 * @kubernetes/client-node (kubeconfig handling, auth, TLS, discovery).
 */
import { existsSync } from 'node:fs';
import { ApiException, KubeConfig, KubernetesObjectApi, PatchStrategy, Watch, type KubernetesObject } from '@kubernetes/client-node';
import { InputError, OperationError } from '../../common/errors.js';
import type { KubeObject } from '../types.js';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface ApplyOptions {
  fieldManager: string;
  /** Take over fields another manager owns (server-side apply `force=true`). */
  force: boolean;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** How a watch ended: cleanly (the server's timeout, stop()) or with an error. */
export interface WatchEnd {
  /**
   * Why it failed: an HTTP error answering the watch (403, 5xx), an ERROR event in the stream
   * (410 Gone when the resourceVersion is too old), or a lost connection (code 0).
   */
  error?: KubeApiError;
}

export interface WatchHandle {
  stop(): void;
  /** Settles when the stream ends (server closed it, error, or stop()); never rejects. */
  done: Promise<WatchEnd>;
}

export interface KubeClient {
  /** The object, or undefined when it does not exist. */
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
  list(apiVersion: string, kind: string, opts?: { namespace?: string; labelSelector?: string }): Promise<{ items: KubeObject[]; resourceVersion: string }>;
  /** Server-side apply (PATCH application/apply-patch+yaml). */
  apply(obj: KubeObject, opts: ApplyOptions): Promise<KubeObject>;
  watch(
    apiVersion: string,
    kind: string,
    opts: { resourceVersion: string; labelSelector?: string },
    onEvent: (type: WatchEventType, obj: KubeObject) => void,
  ): Promise<WatchHandle>;
  /** Where the client talks to, for messages. */
  readonly server: string;
}

/** An error the API server answered with (a Status object), or an unreachable server. */
export class KubeApiError extends Error {
  override name = 'KubeApiError';
  constructor(
    message: string,
    /** HTTP status; 0 when the server could not be reached. */
    readonly code: number,
    /** Status.reason: Forbidden, Conflict, Invalid, NotFound, AlreadyExists … */
    readonly reason: string,
  ) {
    super(message);
  }
}

/** Resource (plural) names of the kinds hearth touches; others follow the lower-case + s rule. */
const PLURALS: Record<string, string> = {
  CustomResourceDefinition: 'customresourcedefinitions',
  HelmRelease: 'helmreleases',
  HelmRepository: 'helmrepositories',
  OCIRepository: 'ocirepositories',
  Namespace: 'namespaces',
  NetworkPolicy: 'networkpolicies',
  ResourceQuota: 'resourcequotas',
};

export function pluralOf(kind: string): string {
  return PLURALS[kind] ?? `${kind.toLowerCase()}s`;
}

export function collectionPath(apiVersion: string, kind: string, namespace?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${base}${namespace ? `/namespaces/${namespace}` : ''}/${pluralOf(kind)}`;
}

/** Loads a kubeconfig (the file given, else $KUBECONFIG / ~/.kube/config) and makes a client. */
export function clientFromKubeconfig(file?: string): KubeClient {
  const kc = new KubeConfig();
  try {
    if (file) {
      if (!existsSync(file)) throw new InputError(`cannot read kubeconfig ${file}: no such file`);
      kc.loadFromFile(file);
    } else kc.loadFromDefault();
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`cannot load kubeconfig${file ? ` ${file}` : ''}: ${(err as Error).message.split('\n')[0]}`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new InputError(`kubeconfig${file ? ` ${file}` : ''} has no current cluster (set current-context or pass --kubeconfig)`);
  return new ClientNodeKube(kc, cluster.server);
}

class ClientNodeKube implements KubeClient {
  private readonly objects: KubernetesObjectApi;
  constructor(
    private readonly kc: KubeConfig,
    readonly server: string,
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    try {
      const header = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } };
      return plain(await this.objects.read(header as KubernetesObject & { metadata: { name: string } }));
    } catch (err) {
      const e = this.translate(err);
      if (e.code === 404) return undefined;
      throw e;
    }
  }

  async list(apiVersion: string, kind: string, opts: { namespace?: string; labelSelector?: string } = {}) {
    try {
      const res = await this.objects.list(apiVersion, kind, opts.namespace, undefined, undefined, undefined, undefined, opts.labelSelector);
      const items = (res.items ?? []).map((i) => ({ ...plain(i), apiVersion, kind }) as KubeObject);
      return { items, resourceVersion: res.metadata?.resourceVersion ?? '' };
    } catch (err) {
      throw this.translate(err);
    }
  }

  async apply(obj: KubeObject, opts: ApplyOptions): Promise<KubeObject> {
    try {
      const res = await this.objects.patch(obj as KubernetesObject, undefined, undefined, opts.fieldManager, opts.force, PatchStrategy.ServerSideApply);
      return plain(res);
    } catch (err) {
      throw this.translate(err);
    }
  }

  async watch(
    apiVersion: string,
    kind: string,
    opts: { resourceVersion: string; labelSelector?: string },
    onEvent: (type: WatchEventType, obj: KubeObject) => void,
  ): Promise<WatchHandle> {
    let settle!: (end: WatchEnd) => void;
    const done = new Promise<WatchEnd>((r) => (settle = r));
    let stopped = false;
    let failed: KubeApiError | undefined;
    const w = new Watch(this.kc);
    let controller: AbortController | undefined;
    try {
      controller = await w.watch(
        collectionPath(apiVersion, kind),
        { resourceVersion: opts.resourceVersion, allowWatchBookmarks: true, labelSelector: opts.labelSelector },
        (type: string, obj: unknown) => {
          if (failed || stopped) return;
          if (type === 'ERROR') {
            // A Status in the stream (410 Gone for a resourceVersion too old): the watch is over.
            const st = (obj ?? {}) as { code?: number; reason?: string; message?: string };
            failed = new KubeApiError(st.message ?? `watch error ${st.code ?? ''}`.trim(), st.code ?? 0, st.reason ?? '');
            controller?.abort();
            return;
          }
          onEvent(type as WatchEventType, obj as KubeObject);
        },
        (err: unknown) => settle(stopped ? {} : failed ? { error: failed } : err ? { error: this.watchError(err, apiVersion, kind) } : {}),
      );
    } catch (err) {
      settle({ error: this.watchError(err, apiVersion, kind) });
    }
    return {
      stop: () => {
        stopped = true;
        controller?.abort();
      },
      done,
    };
  }

  /** A watch's failure as a KubeApiError: client-node gives only the HTTP status, not the Status body. */
  private watchError(err: unknown, apiVersion: string, kind: string): KubeApiError {
    const status = (err as { statusCode?: number }).statusCode;
    if (typeof status !== 'number') return this.translate(err);
    const what = `${pluralOf(kind)}${apiVersion.includes('/') ? `.${apiVersion.split('/')[0]}` : ''}`;
    const reason = WATCH_REASONS[status] ?? (status >= 500 ? 'InternalError' : 'Unknown');
    const message = status === 401 || status === 403 ? `${reason.toLowerCase()}: cannot watch ${what} (HTTP ${status})` : `watching ${what} failed: HTTP ${status} ${(err as Error).message}`;
    return new KubeApiError(message, status, reason);
  }

  private translate(err: unknown): KubeApiError {
    if (err instanceof KubeApiError) return err;
    if (err instanceof ApiException) {
      const status = parseStatus(err.body);
      const code = (err as ApiException<unknown>).code;
      const message = status?.message ?? `HTTP ${code}`;
      return new KubeApiError(message, code, status?.reason ?? '');
    }
    const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    const code = e.code ?? e.cause?.code;
    if (code !== undefined && UNREACHABLE.has(code)) {
      return new KubeApiError(`cannot reach the Kubernetes API at ${this.server} (${code})`, 0, 'Unreachable');
    }
    if (e instanceof Error && /No matching resource|Unrecognized API version and kind/i.test(e.message)) {
      return new KubeApiError(e.message.replace(/^.*?(no matching resource)/i, '$1'), 404, 'NotFound');
    }
    return new KubeApiError(e instanceof Error ? e.message.split('\n')[0]! : String(e), 0, 'Unknown');
  }
}

/** Socket-level failures: the server is down, restarting or moving (a VIP failover). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE']);

/** Status.reason for the HTTP codes a watch can be refused with. */
const WATCH_REASONS: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 410: 'Expired', 429: 'TooManyRequests', 503: 'ServiceUnavailable' };

function parseStatus(body: unknown): { message?: string; reason?: string } | undefined {
  let b = body;
  if (typeof b === 'string') {
    try {
      b = JSON.parse(b);
    } catch {
      return { message: b as string };
    }
  }
  if (b && typeof b === 'object') return b as { message?: string; reason?: string };
  return undefined;
}

/** client-node returns class instances with Date fields; hearth works with plain JSON. */
function plain(o: unknown): KubeObject {
  return JSON.parse(JSON.stringify(o)) as KubeObject;
}

export { OperationError };
