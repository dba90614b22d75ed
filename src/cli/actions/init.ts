import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InputError, OperationError } from '../../common/errors.js';
import { exists, writeFileAtomic } from '../../common/fs.js';
import { packagePath } from '../../common/package-root.js';
import { say } from '../output.js';

/** The bundled example: `hearth init` writes exactly this file. */
export function exampleSpec(): string {
  try {
    return readFileSync(packagePath('examples', 'hearth.yaml'), 'utf8');
  } catch {
    throw new OperationError('the bundled examples/hearth.yaml is missing from this installation');
  }
}

export async function init(dir: string, opts: { force?: boolean }): Promise<void> {
  const target = path.join(dir, 'hearth.yaml');
  if (!opts.force && (await exists(target))) {
    throw new InputError(`${target} already exists (use --force to replace it)`);
  }
  const text = exampleSpec().replace(/^# yaml-language-server:.*\n/m, '');
  await writeFileAtomic(target, text, { mode: 0o644 });
  say(`wrote ${target}; next: hearth validate -f ${target}`);
}
