/** `hearth machines add`: the action (see commands/machines.ts for the options). */
import { readFileSync, statSync } from 'node:fs';
import { InputError } from '../../common/errors.js';
import { writeFileAtomic } from '../../common/fs.js';
import { prepare, prepareLoaded } from '../../pipeline/prepare.js';
import { appendMachine } from '../../spec/edit.js';
import { parseSpec, specError, type Spec } from '../../spec/index.js';
import { discoverNodes, FilePinStore, matchMachines, MemoryPinStore, type DiscoveredNode } from '../../talos/api/index.js';
import { defaultAnswers, machineEntry, parseAnswer, type Answers, type Question } from '../../talos/adopt/answers.js';
import { askAnswers, confirm, Terminal } from '../../talos/adopt/ask.js';
import { formatData } from '../format.js';
import { intOption, list } from '../options.js';
import { leasedAddresses, probeTargets } from '../talos-common.js';
import { out, say } from '../output.js';

export interface AddOpts {
  file: string;
  scan?: string;
  endpoints?: string;
  state?: string;
  node?: string;
  name?: string;
  role?: 'controlplane' | 'worker';
  disk?: string;
  interface?: string;
  bond?: string;
  address?: string;
  gateway?: string;
  nameservers?: string;
  dryRun?: boolean;
  port: string;
  timeout: string;
}

const interactive = (): boolean => Boolean(process.stdin.isTTY && process.stderr.isTTY);

/** The node's defaults with the flags laid over them; a flag that does not fit the node is an InputError. */
function flagAnswers(opts: AddOpts, node: DiscoveredNode, spec: Spec): Answers {
  const a = defaultAnswers(node, spec);
  if (opts.interface !== undefined && opts.bond !== undefined) throw new InputError('give --interface or --bond, not both');
  const given: [Question, string | undefined][] = [
    ['name', opts.name],
    ['role', opts.role],
    ['disk', opts.disk],
    ['link', opts.bond !== undefined ? `bond:${list(opts.bond).join(',')}` : opts.interface],
    ['address', opts.address],
    ['gateway', opts.gateway],
    ['nameservers', opts.nameservers],
  ];
  for (const [q, text] of given) {
    if (text === undefined) continue;
    const r = parseAnswer(q, text, node, spec);
    if ('error' in r) throw new InputError(`--${q === 'link' ? (opts.bond !== undefined ? 'bond' : 'interface') : q}: ${r.error}`);
    (a as unknown as Record<Question, unknown>)[q] = r.value;
  }
  return a;
}

/** Checks and writes: the new text passes every check of `hearth validate`, or nothing is written. */
async function commit(file: string, text: string, entry: Record<string, unknown>, dryRun: boolean): Promise<string> {
  const next = appendMachine(text, entry);
  const refuse = (err: InputError) => new InputError(`machine ${String(entry.name)} not added, the spec would not validate: ${err.message}`, err.details);
  const { loaded, issues } = parseSpec(next, file);
  if (!loaded) throw refuse(specError(issues));
  try {
    prepareLoaded(loaded);
  } catch (err) {
    throw err instanceof InputError ? refuse(err) : err;
  }
  if (dryRun) out(formatData([entry], 'yaml'));
  else await writeFileAtomic(file, next, { mode: statSync(file).mode & 0o777 });
  return next;
}

export async function add(opts: AddOpts): Promise<void> {
  const { loaded } = prepare(opts.file);
  const port = intOption(opts.port, '--port', 1, 65535);
  const timeoutMs = intOption(opts.timeout, '--timeout', 50, 60_000);
  const targets = opts.node ? [opts.node] : probeTargets(loaded, opts, await leasedAddresses(opts.state));
  const tty = interactive();
  const pins = opts.state ? new FilePinStore(opts.state) : new MemoryPinStore();
  say(`probing ${targets.length} address${targets.length === 1 ? '' : 'es'} on port ${port}`);
  const found = matchMachines(await discoverNodes(targets, { port, timeoutMs, pins, concurrency: 32 }), loaded.spec.machines);
  const unlisted = found.filter((n) => n.machine === null && !n.error);
  if (unlisted.length === 0) {
    if (opts.node) throw new InputError(`${opts.node}: ${found[0]?.machine ? `already in the spec as ${found[0].machine}` : found[0]?.error ?? 'no Talos node answers there'}`);
    say(`no nodes to adopt: ${found.length} found, all in the spec`);
    return;
  }
  if (!tty && unlisted.length > 1) {
    throw new InputError(`${unlisted.length} nodes are not in the spec (${unlisted.map((n) => n.address).join(', ')}): pick one with --node`);
  }
  let text = readFileSync(opts.file, 'utf8');
  let spec = loaded.spec;
  const term = tty ? new Terminal(process.stdin, process.stderr) : undefined;
  try {
    let added = 0;
    for (const node of unlisted) {
      const defaults = flagAnswers(opts, node, spec);
      let answers = defaults;
      if (term) {
        const what = [node.uuid && `uuid ${node.uuid}`, node.macs.length && `MAC ${node.macs.join(', ')}`, node.talosVersion].filter(Boolean).join(', ');
        term.write(`\nNode ${node.address} (${what || 'no identity reported'}), not in ${opts.file}\n`);
        if (!(await confirm(term, 'Adopt it?', true))) continue;
        answers = await askAnswers(term, node, spec, defaults);
      }
      const entry = machineEntry(node, answers);
      text = await commit(opts.file, text, entry, opts.dryRun ?? false);
      spec = parseSpec(text, opts.file).loaded!.spec;
      added++;
      say(`${opts.dryRun ? 'would add' : 'added'} ${answers.name} (${answers.role}, ${node.address} -> ${answers.address}, disk /dev/${answers.disk}) to ${opts.file}`);
    }
    if (added === 0) say('nothing added');
  } finally {
    term?.close();
  }
}
