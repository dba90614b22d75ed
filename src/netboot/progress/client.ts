/** The client side of `/api/machines`: what `hearth netboot machines` asks a running server. */
import { InputError, OperationError } from '../../common/errors.js';
import type { MachineProgress } from './index.js';

/** Fetches the machines a running `hearth netboot serve` has seen; one-line errors for the CLI. */
export async function fetchMachines(server: string, timeoutMs = 10_000): Promise<MachineProgress[]> {
  let url: URL;
  try {
    url = new URL('/api/machines', server);
  } catch {
    throw new InputError(`--server must be a URL like http://192.0.2.1:8080, not ${server}`);
  }
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const c = (e as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
    const cause = c?.code ?? c?.errors?.[0]?.code ?? c?.message ?? (e as Error).message;
    throw new OperationError(`cannot reach the netboot server at ${server}${cause ? ` (${cause})` : ''}: is \`hearth netboot serve\` running?`);
  }
  if (!res.ok) throw new OperationError(`${url} answered ${res.status} ${res.statusText}`);
  let body: { machines?: unknown };
  try {
    body = (await res.json()) as { machines?: unknown };
  } catch {
    throw new OperationError(`${url} did not answer with JSON: is ${server} a hearth netboot server?`);
  }
  if (!Array.isArray(body.machines)) throw new OperationError(`${url} answered JSON without a machines list: is ${server} a hearth netboot server?`);
  return body.machines as MachineProgress[];
}
