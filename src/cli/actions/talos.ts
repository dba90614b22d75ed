import { prepare } from '../../pipeline/prepare.js';
import { writeConfigs, writeSecrets, type WrittenFile } from '../../talos/index.js';
import { formatData } from '../format.js';
import { out, say, table, warn } from '../output.js';

interface Common {
  file: string;
  out: string;
  force?: boolean;
  output: string;
}

function report(opts: Common, rows: WrittenFile[], summary: string): void {
  if (opts.output === 'json' || opts.output === 'yaml') {
    out(formatData({ out: opts.out, files: rows }, opts.output));
    return;
  }
  say(table(['FILE', 'MODE', 'WHAT'], rows.map((r) => [r.file, r.mode, r.what])).trimEnd());
  say(summary);
}

export async function secrets(opts: Common): Promise<void> {
  const { loaded } = prepare(opts.file);
  const written = await writeSecrets(loaded.spec, opts.out, { force: opts.force });
  report(opts, [written], `wrote ${written.file}`);
}

export async function config(opts: Common & { secrets?: string }): Promise<void> {
  const p = prepare(opts.file);
  // p.talos carries the patches as read and the networking the platform's CNI asks for.
  const { files, result, warnings } = await writeConfigs(p.loaded, { ...p.talos, out: opts.out, secretsFile: opts.secrets, force: opts.force });
  for (const w of warnings) warn(w);
  report(
    opts,
    files,
    `wrote ${files.length} files for ${p.loaded.spec.metadata.name} (Talos ${result.contract.name}, installer ${result.installImage}); talosconfig endpoints: ${result.rendered.endpoints.join(', ')}`,
  );
}
