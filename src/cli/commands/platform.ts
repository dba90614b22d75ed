import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { writeArtifacts } from '../../common/artifacts.js';
import { InputError, OperationError } from '../../common/errors.js';
import { isDuration, parseDuration } from '../../spec/index.js';
import {
  allObjects,
  clientFromKubeconfig,
  expectedReleases,
  fluxManifestsFromFile,
  fluxManifestsFromRelease,
  formatWaves,
  installPlatform,
  listReleases,
  planData,
  platformArtifacts,
  releaseStatuses,
  renderPlatform,
  resolvePlatform,
  STATUS_HEADERS,
  statusRow,
  toYamlStream,
  waitingLines,
  watchReleases,
  type ExpectedRelease,
  type KubeObject,
  type Resolution,
} from '../../platform/index.js';
import { DEFAULT_SPEC, loadChecked, withOutput, withSpecFile } from '../context.js';
import { formatData, out, paint, say, table, warn } from '../output.js';

function resolved(file: string): Resolution {
  const loaded = loadChecked(file); // stage checks: unknown names, duplicates and cycles exit 2 here
  const r = resolvePlatform(loaded.spec);
  for (const w of r.warnings) warn(w);
  return r;
}

function timeoutMs(text: string): number {
  if (!isDuration(text)) throw new InputError(`--timeout ${text}: expected a duration like 90s, 15m or 1h30m`);
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
        .addHelpText('after', '\nWith a spec (-f, default hearth.yaml when present) releases not yet applied are listed too.\n' +
            'With -w -o json every change prints the whole list again as one JSON document per line.\n\nExamples:\n  hearth platform status -w\n  hearth platform status --kubeconfig kubeconfig -o json | jq .ready'),
    ),
    ['text', 'json'],
  ).action(async (opts: { file: string; kubeconfig?: string; watch?: boolean; output: 'text' | 'json' }) => {
    const expected: ExpectedRelease[] =
      opts.file !== DEFAULT_SPEC || existsSync(opts.file) ? expectedReleases(renderPlatform(resolved(opts.file).components)) : [];
    const client = clientFromKubeconfig(opts.kubeconfig);
    let first;
    try {
      first = await listReleases(client);
    } catch (err) {
      throw new OperationError(`cannot list HelmReleases: ${(err as Error).message}`);
    }
    const print = (items: KubeObject[]) => {
      const rows = releaseStatuses(items, new Date(), expected);
      if (opts.output === 'json') {
        // With -w, one compact document per line (JSON Lines), so a consumer can parse each as it comes.
        out(JSON.stringify({ releases: rows, ready: rows.filter((r) => r.state === 'ready').length, total: rows.length }, null, opts.watch ? undefined : 2));
        return;
      }
      out(table(STATUS_HEADERS, rows.map(statusRow)).trimEnd());
      const waiting = waitingLines(rows);
      if (waiting.length > 0) out(['', 'waiting:', ...waiting.map((l) => `  ${l}`)].join('\n'));
    };
    print(first.items);
    if (!opts.watch) return;
    const stop = new AbortController();
    const onSigint = () => stop.abort();
    process.on('SIGINT', onSigint);
    try {
      await watchReleases(client, first, stop.signal, (current, changed) => {
        if (opts.output === 'json') return print(current);
        // On a change, one line for the changed release.
        const row = releaseStatuses(current, new Date(), expected).find((r) => `${r.namespace}/${r.name}` === changed);
        if (row) out(table(STATUS_HEADERS, [statusRow(row)]).split('\n')[1]! + (row.waitingFor ? `   (${row.waitingFor})` : ''));
      });
    } finally {
      process.off('SIGINT', onSigint);
    }
  });
}
