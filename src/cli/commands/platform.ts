import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { writeArtifacts } from '../../common/artifacts.js';
import { InputError, OperationError } from '../../common/errors.js';
import { parseDuration } from '../../spec/index.js';
import {
  allObjects,
  formatWaves,
  planData,
  platformArtifacts,
  renderPlatform,
  resolvePlatform,
  toYamlStream,
  type Resolution,
} from '../../platform/index.js';
import { fluxManifestsFromFile, fluxManifestsFromRelease } from '../../platform/flux.js';
import { expectedReleases, installPlatform } from '../../platform/install.js';
import { clientFromKubeconfig, type KubeClient } from '../../platform/kube/client.js';
import { HELMRELEASE_API } from '../../platform/render.js';
import { releaseStatuses, STATUS_HEADERS, statusRow, waitingLines, type ExpectedRelease } from '../../platform/status.js';
import type { KubeObject } from '../../platform/types.js';
import { DEFAULT_SPEC, loadChecked, withOutput, withSpecFile } from '../context.js';
import { formatData, out, paint, say, table, warn } from '../output.js';

function resolved(file: string): Resolution {
  const loaded = loadChecked(file); // stage checks: unknown names, duplicates and cycles exit 2 here
  const r = resolvePlatform(loaded.spec);
  for (const w of r.warnings) warn(w);
  return r;
}

function timeoutMs(text: string): number {
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) throw new InputError(`--timeout ${text}: expected a duration like 90s, 15m or 1h30m`);
  return parseDuration(text);
}

export function registerPlatform(program: Command): void {
  const platform = program
    .command('platform')
    .description('stage 4: the system components as Flux HelmReleases (plan, render, install, status)')
    .addHelpText(
      'after',
      '\nExamples:\n  hearth platform plan\n  hearth platform render --out out/platform\n  hearth platform install --kubeconfig kubeconfig\n  hearth platform status -w',
    );

  withOutput(
    withSpecFile(
      platform
        .command('plan')
        .description('show the dependency graph as waves: what Flux reconciles in parallel, after what')
        .addHelpText('after', '\nA cycle, an unknown dependency or a duplicate name is refused (exit 2).\n\nExample:\n  hearth platform plan -o json'),
    ),
  ).action((opts: { file: string; output: 'text' | 'json' | 'yaml' }) => {
    const r = resolved(opts.file);
    if (opts.output === 'text') out(formatWaves(r));
    else out(formatData(planData(r), opts.output));
  });

  withSpecFile(
    platform
      .command('render')
      .description('render Namespaces, Flux sources and HelmReleases (to stdout, or files in --out DIR)')
      .option('--out <DIR>', 'write 00-namespaces.yaml, 10-sources.yaml, 20-helmreleases.yaml here')
      .addHelpText('after', '\nExamples:\n  hearth platform render | kubectl apply --server-side -f -\n  hearth platform render --out out/platform'),
  ).action(async (opts: { file: string; out?: string }) => {
    const r = resolved(opts.file);
    const rendered = renderPlatform(r.components);
    if (!opts.out) {
      out(toYamlStream(allObjects(rendered)));
      return;
    }
    const written = await writeArtifacts(opts.out, platformArtifacts(rendered));
    say(`wrote ${written.length} files (${allObjects(rendered).length} objects, ${rendered.releases.length} HelmReleases) into ${opts.out}/`);
  });

  withSpecFile(
    platform
      .command('install')
      .description('install Flux if absent, server-side apply the platform, and follow it until every release is Ready')
      .option('--kubeconfig <FILE>', 'kubeconfig (default: $KUBECONFIG or ~/.kube/config)')
      .option('--flux-manifests <FILE>', "Flux's install.yaml from a local file (air-gapped sites); default: the pinned release from GitHub")
      .option('--timeout <DURATION>', 'give up waiting after this long', '20m')
      .option('--force-conflicts', 'take over fields that another field manager owns (server-side apply force)')
      .addHelpText(
        'after',
        '\nExit codes: 0 every release Ready; 1 a release failed, the time ran out, an object was refused or Ctrl-C; 2 invalid input.\n' +
          'Rerunning is safe: unchanged objects are left alone.\n\nExample:\n  hearth platform install --kubeconfig kubeconfig --flux-manifests install.yaml --timeout 30m',
      ),
  ).action(async (opts: { file: string; kubeconfig?: string; fluxManifests?: string; timeout: string; forceConflicts?: boolean }) => {
    const ms = timeoutMs(opts.timeout);
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
  });

  withOutput(
    withSpecFile(
      platform
        .command('status')
        .description("the platform's HelmReleases (the `kubectl get hr -A` table) and what each unready one waits for")
        .option('--kubeconfig <FILE>', 'kubeconfig (default: $KUBECONFIG or ~/.kube/config)')
        .option('-w, --watch', 'keep watching and print releases as they change (Ctrl-C to stop)')
        .addHelpText('after', '\nWith a spec (-f, default hearth.yaml when present) releases not yet applied are listed too.\n\nExample:\n  hearth platform status -w'),
    ),
    ['text', 'json'],
  ).action(async (opts: { file: string; kubeconfig?: string; watch?: boolean; output: 'text' | 'json' }) => {
    const expected: ExpectedRelease[] =
      opts.file !== DEFAULT_SPEC || existsSync(opts.file) ? expectedReleases(renderPlatform(resolved(opts.file).components)) : [];
    const client = clientFromKubeconfig(opts.kubeconfig);
    const list = async () => {
      try {
        return await client.list(HELMRELEASE_API, 'HelmRelease');
      } catch (err) {
        throw new OperationError(`cannot list HelmReleases: ${(err as Error).message}`);
      }
    };
    const first = await list();
    const print = (items: KubeObject[]) => {
      const rows = releaseStatuses(items, new Date(), expected);
      if (opts.output === 'json') {
        out(JSON.stringify({ releases: rows, ready: rows.filter((r) => r.state === 'ready').length, total: rows.length }, null, 2));
        return;
      }
      out(table(STATUS_HEADERS, rows.map(statusRow)).trimEnd());
      const waiting = waitingLines(rows);
      if (waiting.length > 0) out(['', 'waiting:', ...waiting.map((l) => `  ${l}`)].join('\n'));
    };
    print(first.items);
    if (!opts.watch) return;
    await watchStatus(client, first, expected, opts.output, print);
  });
}

/** `status -w`: a watch from the list's resourceVersion; on every change print the changed release. */
async function watchStatus(
  client: KubeClient,
  first: { items: KubeObject[]; resourceVersion: string },
  expected: ExpectedRelease[],
  format: 'text' | 'json',
  print: (items: KubeObject[]) => void,
): Promise<void> {
  const current = new Map(first.items.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
  let rv = first.resourceVersion;
  let stopped = false;
  let stopWatch: (() => void) | undefined;
  let wake: (() => void) | undefined;
  const onSigint = () => {
    stopped = true;
    stopWatch?.();
    wake?.();
  };
  process.on('SIGINT', onSigint);
  try {
    while (!stopped) {
      const handle = await client.watch(HELMRELEASE_API, 'HelmRelease', { resourceVersion: rv }, (type, obj) => {
        if (!obj?.metadata) return;
        if (obj.metadata.resourceVersion) rv = obj.metadata.resourceVersion;
        if (type === 'BOOKMARK' || type === 'ERROR') return;
        const k = `${obj.metadata.namespace}/${obj.metadata.name}`;
        if (type === 'DELETED') current.delete(k);
        else current.set(k, obj);
        if (format === 'json') {
          print([...current.values()]);
          return;
        }
        const row = releaseStatuses([...current.values()], new Date(), expected).find((r) => `${r.namespace}/${r.name}` === k);
        if (row) out(table(STATUS_HEADERS, [statusRow(row)]).split('\n')[1]! + (row.waitingFor ? `   (${row.waitingFor})` : ''));
      });
      stopWatch = handle.stop;
      await Promise.race([handle.done, new Promise<void>((r) => (wake = r))]);
      if (stopped) break;
      // The server ended the watch: relist and continue from there.
      const again = await client.list(HELMRELEASE_API, 'HelmRelease');
      current.clear();
      for (const o of again.items) current.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
      rv = again.resourceVersion;
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}
