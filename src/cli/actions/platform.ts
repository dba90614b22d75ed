import { existsSync } from 'node:fs';
import { writeArtifacts } from '../../common/artifacts.js';
import { OperationError } from '../../common/errors.js';
import { prepare } from '../../pipeline/prepare.js';
import { durationOption } from '../options.js';
import {
  allObjects,
  clientFromKubeconfig,
  expectedReleases,
  fluxManifestsFromFile,
  fluxManifestsFromRelease,
  formatProvenance,
  formatWaves,
  installPlatform,
  listReleases,
  planData,
  platformArtifacts,
  releaseStatuses,
  renderPlatform,
  STATUS_HEADERS,
  statusRow,
  toYamlStream,
  waitingLines,
  followReleases,
  type ExpectedRelease,
  type KubeObject,
  type Resolution,
} from '../../platform/index.js';
import { DEFAULT_SPEC } from '../context.js';
import { formatData } from '../format.js';
import { out, paint, say, table, warn } from '../output.js';

/** The platform of a checked spec (unknown names, duplicates and cycles exit 2 in prepare). */
function resolved(file: string): Resolution {
  const r = prepare(file).platform;
  for (const w of r.warnings) warn(w);
  return r;
}


export function plan(opts: { file: string; output: 'text' | 'json' | 'yaml' }): void {
  const r = resolved(opts.file);
  if (opts.output === 'text') out(`${formatWaves(r)}\n${formatProvenance(r)}`);
  else out(formatData(planData(r), opts.output));
}

export async function render(opts: { file: string; out?: string }): Promise<void> {
  const r = resolved(opts.file);
  const rendered = renderPlatform(r.components);
  if (!opts.out) {
    out(toYamlStream(allObjects(rendered)));
    return;
  }
  const written = await writeArtifacts(opts.out, platformArtifacts(rendered));
  say(`wrote ${written.length} files (${allObjects(rendered).length} objects, ${rendered.releases.length} HelmReleases) into ${opts.out}/`);
}

export async function install(opts: { file: string; kubeconfig?: string; fluxManifests?: string; timeout: string; forceConflicts?: boolean }): Promise<void> {
  const ms = durationOption(opts.timeout, '--timeout');
  const r = resolved(opts.file);
  const rendered = renderPlatform(r.components);
  const client = clientFromKubeconfig(opts.kubeconfig);
  // A local Flux file is read up front: a bad file is invalid input, found before anything is written.
  const local = opts.fluxManifests ? await fluxManifestsFromFile(opts.fluxManifests) : undefined;
  const loadFlux = local ? async () => local : () => fluxManifestsFromRelease(r.ctx.fluxVersion);

  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) {
      // A second Ctrl-C: leave now. A write in flight is one request the server applies whole or not at all.
      say(paint('red', 'second interrupt: exiting now; rerun `hearth platform install` to finish'));
      process.exit(130);
    }
    say(paint('yellow', 'interrupt: finishing the current write, then stopping (the cluster stays consistent)'));
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    say(`installing ${rendered.releases.length} releases (bundle ${r.bundle}) into ${client.server}`);
    const report = await installPlatform({
      client,
      rendered,
      loadFlux,
      timeoutMs: ms,
      signal: controller.signal,
      forceConflicts: Boolean(opts.forceConflicts),
      log: (line) => say(line),
    });
    if (report.outcome !== 'ready') throw new OperationError(report.message);
    say(paint('green', report.message));
  } catch (err) {
    if (err instanceof Error && err.name === 'KubeApiError') throw new OperationError(err.message);
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

export async function status(opts: { file: string; kubeconfig?: string; watch?: boolean; output: 'text' | 'json' }): Promise<void> {
  const expected: ExpectedRelease[] =
    opts.file !== DEFAULT_SPEC || existsSync(opts.file) ? expectedReleases(renderPlatform(resolved(opts.file).components)) : [];
  const client = clientFromKubeconfig(opts.kubeconfig);
  const cannot = (err: unknown) => new OperationError(`cannot list HelmReleases: ${(err as Error).message}`);
  const document = (rows: ReturnType<typeof releaseStatuses>) =>
    // With -w, one compact document per line (JSON Lines), so a consumer can parse each as it comes.
    JSON.stringify({ releases: rows, ready: rows.filter((r) => r.state === 'ready').length, total: rows.length }, null, opts.watch ? undefined : 2);
  const fullTable = (rows: ReturnType<typeof releaseStatuses>) => {
    out(table(STATUS_HEADERS, rows.map(statusRow)).trimEnd());
    const waiting = waitingLines(rows);
    if (waiting.length > 0) out(['', 'waiting:', ...waiting.map((l) => `  ${l}`)].join('\n'));
  };
  if (!opts.watch) {
    let first;
    try {
      first = await listReleases(client);
    } catch (err) {
      throw cannot(err);
    }
    const rows = releaseStatuses(first.items, new Date(), expected);
    if (opts.output === 'json') out(document(rows));
    else fullTable(rows);
    return;
  }
  // -w: the table once, then a line for each release whose row changed (also across reconnects).
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.on('SIGINT', onSigint);
  const shown = new Map<string, string>();
  let printed = false;
  try {
    await followReleases({
      client,
      signal: stop.signal,
      onNotice: (line) => warn(line),
      onChange: (current) => {
        const rows = releaseStatuses(current, new Date(), expected);
        const text = (r: (typeof rows)[number]) => `${r.ready} ${r.status} ${r.waitingFor ?? ''}`;
        const changed = rows.filter((r) => shown.get(`${r.namespace}/${r.name}`) !== text(r));
        const first = !printed;
        printed = true;
        for (const r of rows) shown.set(`${r.namespace}/${r.name}`, text(r));
        if (changed.length === 0 && !first) return;
        if (opts.output === 'json') return out(document(rows));
        if (first) return fullTable(rows);
        for (const row of changed) out(table(STATUS_HEADERS, [statusRow(row)]).split('\n')[1]! + (row.waitingFor ? `   (${row.waitingFor})` : ''));
      },
    });
  } catch (err) {
    throw cannot(err);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
