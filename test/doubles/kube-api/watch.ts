/**
 * Watches as kube-apiserver serves them (a JSON stream of {type, object}):
 *  - resourceVersion unset or "0": the current state as ADDED events, then changes (never 410,
 *    never the compacted history);
 *  - resourceVersion N: the events after N, or one ERROR event 410 Expired when N is compacted;
 *  - BOOKMARK events with the current resourceVersion when allowWatchBookmarks is set;
 *  - label and field selectors; timeoutSeconds ends the stream.
 */
import type http from 'node:http';
import type { Store } from './store.js';
import type { Selector } from './selectors.js';
import { apiVersionOf, clone, status, type Obj, type ResourceInfo, type WatchEvent } from './types.js';

interface Watcher {
  res: ResourceInfo;
  ns?: string;
  selects: Selector;
  out: http.ServerResponse;
  asTable?: (o: Obj) => unknown;
}

export interface WatchRequest {
  res: ResourceInfo;
  ns?: string;
  selects: Selector;
  resourceVersion?: string;
  bookmarks: boolean;
  timeoutSeconds?: number;
  /** Events carry Tables (kubectl get -w) instead of objects. */
  asTable?: (o: Obj) => unknown;
}

export class Watches {
  private readonly active = new Set<Watcher>();
  bookmarkMs = 100;
  constructor(private readonly store: Store) {
    store.onEvent((e) => {
      for (const w of this.active) this.send(w, e);
    });
  }

  /** Writes an event the watcher selects; a change into or out of its selector is ADDED or DELETED. */
  private send(w: Watcher, e: Pick<WatchEvent, 'type' | 'res' | 'obj' | 'prev'>): void {
    if (e.res.plural !== w.res.plural || e.res.group !== w.res.group) return;
    if (w.ns && e.obj.metadata.namespace !== w.ns) return;
    let type = e.type;
    const now = w.selects(e.obj);
    if (type === 'MODIFIED' && e.prev) {
      const before = w.selects(e.prev);
      if (!before && !now) return;
      if (!before) type = 'ADDED';
      else if (!now) type = 'DELETED';
    } else if (!now) return;
    const object = { ...clone(e.obj), apiVersion: apiVersionOf(w.res) };
    w.out.write(JSON.stringify({ type, object: w.asTable ? w.asTable(object) : object }) + '\n');
  }

  serve(q: WatchRequest, req: http.IncomingMessage, out: http.ServerResponse): void {
    out.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const w: Watcher = { res: q.res, ns: q.ns, selects: q.selects, out, asTable: q.asTable };
    const rv = q.resourceVersion;
    if (!rv || rv === '0') {
      for (const { s } of this.store.list(q.res, q.ns)) this.send(w, { type: 'ADDED', res: s.res, obj: s.obj });
    } else {
      const from = Number(rv);
      if (!Number.isInteger(from) || from < this.store.compactedRv) {
        out.write(JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${rv} (${this.store.compactedRv})`) }) + '\n');
        out.end();
        return;
      }
      for (const e of this.store.events) if (e.rv > from) this.send(w, e);
    }
    out.flushHeaders();
    this.active.add(w);
    const bookmark = q.bookmarks
      ? setInterval(() => {
          const object = { kind: q.res.kind, apiVersion: apiVersionOf(q.res), metadata: { resourceVersion: String(this.store.rv), creationTimestamp: null } };
          out.write(JSON.stringify({ type: 'BOOKMARK', object }) + '\n');
        }, this.bookmarkMs)
      : undefined;
    const timeout = q.timeoutSeconds ? setTimeout(() => out.end(), q.timeoutSeconds * 1000) : undefined;
    const cleanup = () => {
      clearInterval(bookmark);
      clearTimeout(timeout);
      this.active.delete(w);
    };
    out.on('close', cleanup);
    out.on('finish', cleanup);
    req.on('close', cleanup);
  }

  /** Ends every open watch (as an API server does on timeout or restart). */
  closeAll(): void {
    for (const w of this.active) w.out.end();
    this.active.clear();
  }
}
