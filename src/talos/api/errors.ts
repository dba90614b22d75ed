/**
 * Typed errors of the Talos API client. Every one is an OperationError (exit code 1) whose message
 * names the node, so the CLI can print it as one line.
 */
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { OperationError } from '../../common/errors.js';

/** A call to a node failed; `code` is the gRPC status name (e.g. "UNAVAILABLE"). */
export class TalosApiError extends OperationError {
  override name = 'TalosApiError';
  constructor(
    readonly node: string,
    readonly code: string,
    readonly detail: string,
    message = `talos node ${node}: ${detail}`,
  ) {
    super(message);
  }
}

/** The node did not answer: connection refused, reset, or not reachable. */
export class TalosUnavailableError extends TalosApiError {
  override name = 'TalosUnavailableError';
}
/** The call ran past its deadline. */
export class TalosTimeoutError extends TalosApiError {
  override name = 'TalosTimeoutError';
}
/** The client certificate's roles do not allow the call (or no client certificate at all). */
export class TalosPermissionError extends TalosApiError {
  override name = 'TalosPermissionError';
}
/** The node does not implement the call (older Talos, or maintenance mode). */
export class TalosUnimplementedError extends TalosApiError {
  override name = 'TalosUnimplementedError';
}
/** The node is not ready for the call yet (e.g. Bootstrap before etcd waits for it). */
export class TalosPreconditionError extends TalosApiError {
  override name = 'TalosPreconditionError';
}
/** The thing already exists (e.g. a second Bootstrap). */
export class TalosAlreadyExistsError extends TalosApiError {
  override name = 'TalosAlreadyExistsError';
}
/** The resource or object does not exist. */
export class TalosNotFoundError extends TalosApiError {
  override name = 'TalosNotFoundError';
}
/** The node refused the request as invalid (e.g. a config it cannot parse). */
export class TalosInvalidArgumentError extends TalosApiError {
  override name = 'TalosInvalidArgumentError';
}
/** The node's TLS identity could not be verified (bad chain, wrong name, bad Talos API reply shape). */
export class TalosTlsError extends TalosApiError {
  override name = 'TalosTlsError';
}

/**
 * The call succeeded but the reply envelope carries a per-node failure
 * (`messages[].metadata.error`), as apid reports a node it proxied to.
 */
export class TalosNodeReplyError extends TalosApiError {
  override name = 'TalosNodeReplyError';
  constructor(node: string, readonly hostname: string, detail: string, code = 'NODE_ERROR') {
    super(node, code, detail, `talos node ${node}${hostname && hostname !== node ? ` (${hostname})` : ''}: ${detail}`);
  }
}

/** A maintenance-mode node presented a different certificate key than the one pinned for it. */
export class TalosPinMismatchError extends TalosApiError {
  override name = 'TalosPinMismatchError';
  constructor(node: string, readonly pinned: string, readonly presented: string) {
    super(
      node,
      'PIN_MISMATCH',
      `certificate changed: pinned sha256/${pinned}, presented sha256/${presented}`,
      `talos node ${node}: certificate changed (pinned sha256/${pinned}, presented sha256/${presented}); refusing to talk to it — if the node was reinstalled, forget its pin first`,
    );
  }
}

const BY_CODE: Partial<Record<number, new (node: string, code: string, detail: string) => TalosApiError>> = {
  [Status.UNAVAILABLE]: TalosUnavailableError,
  [Status.DEADLINE_EXCEEDED]: TalosTimeoutError,
  [Status.PERMISSION_DENIED]: TalosPermissionError,
  [Status.UNAUTHENTICATED]: TalosPermissionError,
  [Status.UNIMPLEMENTED]: TalosUnimplementedError,
  [Status.FAILED_PRECONDITION]: TalosPreconditionError,
  [Status.ALREADY_EXISTS]: TalosAlreadyExistsError,
  [Status.NOT_FOUND]: TalosNotFoundError,
  [Status.INVALID_ARGUMENT]: TalosInvalidArgumentError,
};

/** grpc-js details carry resolver/LB diagnostics; keep what a user can act on. */
function tidy(code: number, detail: string): string {
  if (code === Status.DEADLINE_EXCEEDED) return detail.split(',')[0]!;
  if (code === Status.UNAVAILABLE) {
    const m = /Last error: (?:Error: )?(.*?)(?:\.? Resolution note:.*)?$/.exec(detail);
    if (m?.[1]) return `not answering (${m[1].replace(/\.$/, '')})`;
  }
  return detail;
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'metadata' in err;
}

/** Maps anything a gRPC call threw to a typed error naming the node (typed errors pass through). */
export function toTalosError(node: string, err: unknown): Error {
  if (err instanceof TalosApiError) return err;
  if (isServiceError(err)) {
    const codeName = Status[err.code] ?? String(err.code);
    const detail = tidy(err.code, (err.details || err.message).split('\n')[0]!);
    const Kind = BY_CODE[err.code] ?? TalosApiError;
    return new Kind(node, codeName, detail);
  }
  return new TalosApiError(node, 'UNKNOWN', err instanceof Error ? err.message : String(err));
}
