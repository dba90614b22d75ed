import { prepare } from '../../pipeline/prepare.js';
import { out } from '../output.js';

export function validate(opts: { file: string }): void {
  prepare(opts.file);
  out('valid');
}
