import type { Command } from 'commander';
import { lazy, withOutput, withSpecFile } from '../context.js';

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
  ).action(lazy(async () => (await import('../actions/platform.js')).plan));

  withSpecFile(
    platform
      .command('render')
      .description('render Namespaces, Flux sources and HelmReleases (to stdout, or files in --out DIR)')
      .option('--out <DIR>', 'write 00-namespaces.yaml, 10-sources.yaml, 20-helmreleases.yaml here')
      .addHelpText('after', '\nExamples:\n  hearth platform render | kubectl apply --server-side -f -\n  hearth platform render --out out/platform'),
  ).action(lazy(async () => (await import('../actions/platform.js')).render));

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
  ).action(lazy(async () => (await import('../actions/platform.js')).install));

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
  ).action(lazy(async () => (await import('../actions/platform.js')).status));
}
