import { specJsonSchema } from '../../spec/index.js';
import { out } from '../output.js';

export function schema(): void {
  out(JSON.stringify(specJsonSchema(), null, 2));
}
