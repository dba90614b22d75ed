/** The client side of `/api/machines`: what `hearth netboot machines` asks a running server. */
import { InputError, OperationError } from '../../common/errors.js';
import type { MachineProgress } from './index.js';

/** Pages fetched at most (x 1000 machines): more than a server ever tracks (10,000 unknown + the spec). */
const MAX_PAGES = 200;
const PAGE = 1000;

/**
 * Fetches the machines a running `hearth netboot serve` has seen, following /api/machines' pages,
 * in the order they were first seen; one-line errors for the CLI.
 */
export async function fetchMachines(server: string, timeoutMs = 10_000, pageSize = PAGE): Promise<MachineProgress[]> {
  let url: URL;
  try {
    url = new URL('/api/machines', server);
  } catch {
    throw new InputError(`--server must be a URL like http://192.0.2.1:8080, not ${server}`);
  }
  const signal = AbortSignal.timeout(timeoutMs);
  const all: MachineProgress[] = [];
  let after: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    url.search = new URLSearchParams({ limit: String(pageSize), ...(after ? { after } : {}) }).toString();
    const page = await fetchPage(server, url, signal);
    all.push(...page.machines);
    // A cursor that does not move on would loop: stop there (an older server sends no cursor).
    if (!page.next || page.next === after) break;
    after = page.next;
  }
  return all.sort((a, b) => a.firstSeen - b.firstSeen);
}

async function fetchPage(server: string, url: URL, signal: AbortSignal): Promise<{ machines: MachineProgress[]; next?: string }> {
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (e) {
    const c = (e as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
    const cause = c?.code ?? c?.errors?.[0]?.code ?? c?.message ?? (e as Error).message;
    throw new OperationError(`cannot reach the netboot server at ${server}${cause ? ` (${cause})` : ''}: is \`hearth netboot serve\` running?`);
  }
  const where = `${url.origin}${url.pathname}`;
  if (!res.ok) throw new OperationError(`${where} answered ${res.status} ${res.statusText}`);
  let body: { machines?: unknown; next?: unknown };
  try {
    body = (await res.json()) as { machines?: unknown; next?: unknown };
  } catch {
    throw new OperationError(`${where} did not answer with JSON: is ${server} a hearth netboot server?`);
  }
  if (!Array.isArray(body.machines)) throw new OperationError(`${where} answered JSON without a machines list: is ${server} a hearth netboot server?`);
  return { machines: body.machines as MachineProgress[], next: typeof body.next === 'string' ? body.next : undefined };
}
