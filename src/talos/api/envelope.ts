/**
 * The Talos reply envelope: unary replies are `{ messages: [...] }`, every message (and every
 * streamed chunk) carries `metadata { hostname, error, status }`. A message with an error is a
 * per-node failure even when the gRPC call itself succeeded (apid reports proxied nodes this way).
 */
import { status as Status } from '@grpc/grpc-js';
import { TalosApiError, TalosNodeReplyError } from './errors.js';

export interface ReplyMetadata {
  hostname?: string;
  error?: string;
  status?: { code?: number; message?: string } | null;
}

export interface Enveloped {
  metadata?: ReplyMetadata | null;
}

/** Throws TalosNodeReplyError when the message reports a node failure. */
export function checkMessage(node: string, msg: Enveloped): void {
  const md = msg.metadata;
  if (!md) return;
  const code = md.status?.code ?? 0;
  if (md.error || code !== 0) {
    const codeName = code !== 0 ? (Status[code] ?? String(code)) : 'NODE_ERROR';
    throw new TalosNodeReplyError(node, md.hostname ?? '', md.error || md.status?.message || codeName, codeName);
  }
}

/** The messages of a unary reply, each checked; at least one is required. */
export function unwrapAll<T extends Enveloped>(node: string, reply: { messages?: T[] } | undefined): T[] {
  const messages = reply?.messages ?? [];
  if (messages.length === 0) throw new TalosApiError(node, 'EMPTY_REPLY', 'the reply carried no messages');
  for (const m of messages) checkMessage(node, m);
  return messages;
}

/** The one message of a reply from a single node. */
export function unwrapOne<T extends Enveloped>(node: string, reply: { messages?: T[] } | undefined): T {
  return unwrapAll(node, reply)[0]!;
}
