/**
 * Error kinds shared by every stage. The CLI maps them to exit codes:
 * InputError -> 2 (the user's input is wrong), anything else -> 1.
 */

/** A problem with what the user gave us: spec, flags, files. Exit code 2. */
export class InputError extends Error {
  override name = 'InputError';
  /** Extra lines printed after the message (for example one line per spec problem). */
  readonly details: string[];
  constructor(message: string, details: string[] = []) {
    super(message);
    this.details = details;
  }
}

/** An operation that failed at run time (network, docker, cluster). Exit code 1. */
export class OperationError extends Error {
  override name = 'OperationError';
}

export function exitCodeFor(err: unknown): number {
  return err instanceof InputError ? 2 : 1;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
