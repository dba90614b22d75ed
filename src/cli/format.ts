import { stringify } from 'yaml';

/** Serialises data for stdout in the chosen machine format. */
export function formatData(data: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : stringify(data, { lineWidth: 0 });
}
