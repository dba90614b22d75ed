/** Running hearth on a pseudo-terminal (util-linux `script`), answering its prompts as a person would. */
import { spawn } from 'node:child_process';
import { hearthArgv } from './cli.js';

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs hearth inside `script` (a pseudo-terminal) and answers each prompt when it appears, as a
 * person would; bounded in steps and time.
 */
export function terminalSession(
  args: string[],
  steps: [RegExp, string | ((screen: string) => string)][],
  opts: { timeoutMs?: number } = {},
): Promise<{ code: number | null; screen: string }> {
  const cmd = hearthArgv(args).map(shellQuote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env: { ...process.env, NO_COLOR: '1', TERM: 'dumb' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let seen = 0; // where the next prompt is looked for
    let step = 0;
    const limit = opts.timeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      const waiting = step < steps.length ? `the prompt ${steps[step]![0]}` : 'hearth to exit';
      reject(new Error(`timed out after ${limit / 1000} s waiting for ${waiting} (hearth ${args.join(' ')}); screen:\n${screen.slice(-2000)}`));
      child.kill('SIGKILL');
    }, limit);
    child.stdout.on('data', (d) => {
      screen += d;
      while (step < steps.length) {
        const [re, answer] = steps[step]!;
        const m = re.exec(screen.slice(seen));
        if (!m) break;
        seen += m.index + m[0].length;
        step++;
        child.stdin.write(`${typeof answer === 'function' ? answer(screen) : answer}\r`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    });
  });
}
