/** Writing to the terminal. (Machine formats are ./format.ts, which loads the YAML library.) */

export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Messages (progress, warnings, summaries) go to stderr so stdout stays pipeable. */
export function say(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(stream: NodeJS.WriteStream = process.stderr): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}

const codes = { red: 31, green: 32, yellow: 33, blue: 34, dim: 2, bold: 1 } as const;
export type Style = keyof typeof codes;

export function paint(style: Style, text: string, stream: NodeJS.WriteStream = process.stderr): string {
  return useColor(stream) ? `\x1b[${codes[style]}m${text}\x1b[0m` : text;
}

export function warn(text: string): void {
  say(`${paint('yellow', 'warning:')} ${text}`);
}

/** A plain aligned table (the kubectl look). */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}
