/**
 * The adoption dialog on a terminal (node:readline, no dependency): one question at a time with the
 * default in brackets (Enter takes it), the disk as a numbered menu, a wrong answer asked again.
 * Lines typed ahead of a question are queued, not lost.
 */
import { createInterface, type Interface } from 'node:readline';
import { InputError } from '../../common/errors.js';
import type { Spec } from '../../spec/index.js';
import type { DiscoveredNode } from '../api/discover.js';
import { diskLabel, formatAnswer, parseAnswer, QUESTIONS, type Answers, type Question } from './answers.js';

const MAX_TRIES = 5;

const PROMPTS: Record<Question, string> = {
  name: 'Machine name',
  role: 'Role (controlplane/worker)',
  disk: 'Install disk (number or name)',
  link: 'Interface (eth0), or bond:eth0,eth1',
  address: 'Address (CIDR)',
  gateway: 'Gateway',
  nameservers: 'Nameservers (comma-separated)',
};

export class Terminal {
  private readonly rl: Interface;
  private readonly lines: string[] = [];
  private waiting?: (line: string | undefined) => void;
  private closed = false;

  constructor(
    input: NodeJS.ReadableStream,
    private readonly output: NodeJS.WritableStream,
  ) {
    this.rl = createInterface({ input, output, terminal: true });
    this.rl.on('line', (l) => this.push(l));
    this.rl.on('close', () => {
      this.closed = true;
      this.waiting?.(undefined);
    });
    // Ctrl-C during a question ends the dialog; what was written before stays
    this.rl.on('SIGINT', () => {
      this.closed = true;
      this.waiting?.(undefined);
      this.rl.close();
    });
  }

  private push(line: string): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w(line);
    } else this.lines.push(line);
  }

  write(text: string): void {
    this.output.write(text);
  }

  /** The next line typed after `prompt`; InputError when the terminal closes. */
  async ask(prompt: string): Promise<string> {
    this.rl.setPrompt(prompt);
    this.rl.prompt();
    const queued = this.lines.shift();
    if (queued !== undefined) return queued;
    if (this.closed) throw new InputError('the dialog ended before every question was answered; nothing more was written');
    const line = await new Promise<string | undefined>((resolve) => (this.waiting = resolve));
    if (line === undefined) throw new InputError('the dialog ended before every question was answered; nothing more was written');
    return line;
  }

  close(): void {
    this.rl.close();
  }
}

/** Asks yes/no; Enter takes `def`. */
export async function confirm(term: Terminal, question: string, def: boolean): Promise<boolean> {
  for (let i = 0; i < MAX_TRIES; i++) {
    const a = (await term.ask(`${question} [${def ? 'Y/n' : 'y/N'}] `)).trim().toLowerCase();
    if (a === '') return def;
    if (a === 'y' || a === 'yes') return true;
    if (a === 'n' || a === 'no') return false;
  }
  throw new InputError('no yes/no answer');
}

/** Asks every question for `node`, starting from `defaults`; returns the checked answers. */
export async function askAnswers(term: Terminal, node: DiscoveredNode, spec: Spec, defaults: Answers): Promise<Answers> {
  const answers: Answers = { ...defaults };
  for (const q of QUESTIONS) {
    if (q === 'disk') {
      term.write('Disks:\n' + node.disks.map((d, i) => `  ${i + 1}) ${diskLabel(d)}\n`).join(''));
    }
    if (q === 'link') {
      term.write('Links: ' + node.links.filter((l) => l.kind === '').map((l) => `${l.name} (${l.mac}, ${l.state || 'unknown'})`).join(', ') + '\n');
    }
    let done = false;
    for (let i = 0; i < MAX_TRIES && !done; i++) {
      const def = formatAnswer(q, answers);
      const typed = await term.ask(`${PROMPTS[q]} [${def}]: `);
      const r = parseAnswer(q, typed.trim() === '' ? def : typed, node, spec);
      if ('error' in r) {
        term.write(`  ${r.error}\n`);
        continue;
      }
      (answers as unknown as Record<Question, unknown>)[q] = r.value;
      done = true;
    }
    if (!done) throw new InputError(`no valid answer for "${PROMPTS[q]}" after ${MAX_TRIES} tries; nothing more was written`);
  }
  return answers;
}
