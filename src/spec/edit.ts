/**
 * Editing hearth.yaml in place: appending one entry to `machines:` while every other byte of the file
 * (comments, alignment, quoting, blank lines) stays as the user wrote it.
 *
 * The yaml package's Document API finds the sequence and renders the new entry; the entry's text is
 * then spliced in after the last item. (Re-serialising the whole Document with toString() keeps
 * comments but not their alignment, so the untouched parts would not be the same bytes.)
 */
import { Document, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Node } from 'yaml';
import { InputError } from '../common/errors.js';

const STYLE = { indent: 2, indentSeq: true, flowCollectionPadding: false, lineWidth: 0 } as const;

/** Lists of scalars (nameservers, bond members) in flow style, as the example spec writes them. */
function flowScalarLists(node: Document | Node): void {
  visit(node, {
    Seq(_, seq) {
      if (seq.items.length > 0 && seq.items.every((i) => isScalar(i))) seq.flow = true;
    },
  });
}

/** The entry as YAML lines at `indent` (the column of the existing items' dashes), with `eol`. */
function renderItem(machine: Record<string, unknown>, indent: string, eol: string): string {
  const d = new Document([machine]);
  flowScalarLists(d);
  return (
    d
      .toString(STYLE)
      .trimEnd()
      .split('\n')
      .map((l) => `${indent}${l}`)
      .join(eol) + eol
  );
}

/**
 * `text` with `machine` appended to its `machines:` sequence. Only the new lines are added; every
 * other byte stays. A spec without a block `machines:` list gets one through the Document API.
 */
export function appendMachine(text: string, machine: Record<string, unknown>): string {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, keepSourceTokens: false });
  if (doc.errors.length > 0) throw new InputError(`the spec is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  if (!isMap(doc.contents)) throw new InputError('the spec must be a mapping');
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const seq = doc.get('machines', true) as Node | undefined;
  if (!isSeq(seq) || seq.flow || seq.items.length === 0 || !seq.range) {
    // no block list to extend: let the Document API write one (comments stay, alignment may not)
    if (seq !== undefined && seq !== null && !isSeq(seq) && (seq as { value?: unknown }).value !== null) {
      throw new InputError('the spec\'s "machines" is not a list');
    }
    const item = doc.createNode(machine);
    flowScalarLists(item);
    if (isSeq(seq)) seq.items.push(item as never);
    else doc.set('machines', doc.createNode([item]));
    return doc.toString(STYLE);
  }
  const first = seq.items[0] as Node;
  const last = seq.items[seq.items.length - 1] as Node;
  if (!first.range || !last.range) throw new InputError('cannot locate the machines list in the spec');
  const lineStart = text.lastIndexOf('\n', first.range[0] - 1) + 1;
  const dash = /^([ \t]*)-/.exec(text.slice(lineStart, first.range[0]));
  if (!dash) throw new InputError('cannot tell the indentation of the machines list');
  // after the line the last item's value ends on (its trailing comment included)
  const nl = text.indexOf('\n', Math.max(last.range[1] - 1, 0));
  const at = nl === -1 ? text.length : nl + 1;
  const before = text.slice(0, at);
  const sep = before.endsWith('\n') ? '' : eol;
  return before + sep + renderItem(machine, dash[1]!, eol) + text.slice(at);
}
