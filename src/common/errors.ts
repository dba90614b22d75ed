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

/**
 * A server socket could not be bound: the address/port is taken (`EADDRINUSE`) or needs a
 * privilege (`EACCES`). Created where the bind failed, so the errno is known; exit code 2 (the
 * user chooses the ports and addresses).
 */
export class BindError extends InputError {
  override name = 'BindError';
  constructor(
    readonly code: 'EADDRINUSE' | 'EACCES',
    /** What was being bound: `HTTP`, `TFTP`, `DHCP`. */
    readonly service: string,
    /** Where: `ADDRESS:PORT`, or the interface and port. */
    readonly where: string,
  ) {
    super(
      code === 'EADDRINUSE'
        ? `${service} port already in use on ${where} (another DHCP/TFTP/HTTP server running? use --http-port/--tftp-port)`
        : `not allowed to bind ${service} on ${where}: ports below 1024 need root or CAP_NET_BIND_SERVICE`,
    );
  }
}

/** `err` as a BindError when its errno code says the bind was refused; otherwise `err` itself. */
export function bindFailure(err: unknown, service: string, where: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EADDRINUSE' || code === 'EACCES' ? new BindError(code, service, where) : err;
}
