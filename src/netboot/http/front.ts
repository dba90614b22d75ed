/**
 * The HTTP server's front: a node:net connection loop that reads request heads itself (head.ts)
 * and answers the requests a boot makes — GET and HEAD without a body — without node:http, whose
 * per-request machinery cost ~80 µs of server CPU per 1 MiB download here (bench/README.md, "The
 * HTTP front"). The first request it does not take (another method, a body, a malformed or
 * oversized head) hands the connection, with every byte read so far, to node:http for the rest of
 * its life: node:http stays the authority on everything unusual.
 *
 * The loop owns the connection's timers, as node:http would: a head must be complete within the
 * header timeout of its first byte (else 408; a client that half-closes mid-head gets 400, as
 * node:http answers it), an idle keep-alive connection closes after the
 * keep-alive timeout, and while a response runs the socket's timeout is the response's (send
 * timeout, set by `serve`). Requests on a connection are answered one at a time, in order
 * (pipelining); while one runs, at most one head's worth of the next is buffered.
 */
import type { Socket } from 'node:net';
import { parseHead, type RequestHead } from './head.js';

/** What the front needs of the server around it; given at construction. */
export interface FrontOptions {
  /** The longest head taken (node:http's maxHeaderSize); longer ones are handed over. */
  readonly maxHeadBytes: number;
  /** A head not complete this long after its first byte is answered 408. */
  readonly headersTimeoutMs: number;
  /** An idle connection between requests is closed after this long. */
  readonly keepAliveMs: number;
  /** Answers one request; resolves once its response is over (or the connection is gone). */
  serve(head: RequestHead, socket: Socket): Promise<void>;
  /** Takes over the connection: the socket (paused, our listeners gone) and the bytes read and not yet answered. */
  handOff(socket: Socket, unread: Buffer): void;
  /** A head the front gave up on: timed out (408 sent) or cut short by the client's end (400 sent), as node:http would; counted by the server. */
  onClientError(reason: 'request-timeout' | 'bad-request'): void;
}

const EMPTY: Buffer = Buffer.alloc(0);

/** Runs the front's loop on a new connection (from a net.Server with allowHalfOpen). */
export function frontConnection(socket: Socket, opts: FrontOptions): void {
  let buf: Buffer = EMPTY;
  let busy = false;
  let clientEnded = false;
  let handedOff = false;
  /** When the first byte of the head being read came (a new connection counts as one). */
  let headSince = Date.now();

  const detach = () => {
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('timeout', onTimeout);
    socket.off('error', onError);
    socket.setTimeout(0);
  };

  const handOff = () => {
    handedOff = true;
    detach();
    socket.pause();
    const unread = buf;
    buf = EMPTY;
    opts.handOff(socket, unread);
  };

  const pump = (): void => {
    while (!busy && !handedOff && !socket.destroyed) {
      if (buf.length === 0) {
        if (clientEnded) return void socket.end();
        headSince = 0;
        socket.setTimeout(opts.keepAliveMs);
        socket.resume();
        return;
      }
      const r = parseHead(buf, opts.maxHeadBytes);
      if (r === 'other') return handOff();
      if (r === 'incomplete') {
        // A client that half-closed mid-head will never finish it (node:http answers 400).
        if (clientEnded) return giveUp('400 Bad Request', 'bad-request');
        if (headSince === 0) headSince = Date.now();
        const left = opts.headersTimeoutMs - (Date.now() - headSince);
        if (left <= 0) return giveUp('408 Request Timeout', 'request-timeout');
        socket.setTimeout(left);
        socket.resume();
        return;
      }
      buf = buf.length === r.size ? EMPTY : buf.subarray(r.size);
      headSince = 0;
      busy = true;
      socket.setTimeout(0);
      opts.serve(r, socket).then(
        () => answered(r.keepAlive),
        () => socket.destroy(),
      );
    }
  };

  const answered = (keepAlive: boolean) => {
    busy = false;
    if (socket.destroyed || socket.writableEnded) return;
    if (!keepAlive) {
      socket.end();
      return;
    }
    pump();
  };

  const giveUp = (status: string, reason: 'request-timeout' | 'bad-request') => {
    detach();
    opts.onClientError(reason);
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
  };

  function onData(chunk: Buffer): void {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    if (!busy) return pump();
    // The next request waits for this response; hold no more than one head of it meanwhile.
    if (buf.length > opts.maxHeadBytes) socket.pause();
  }

  function onEnd(): void {
    // The client has sent all it will (RFC 9112 §9.6): the response under way still goes out
    // whole (an event stream ends here: respond.ts), then the connection closes.
    clientEnded = true;
    if (!busy) pump();
  }

  function onTimeout(): void {
    if (busy) return; // the response's own send timeout (serve) deals with it
    if (buf.length > 0) return giveUp('408 Request Timeout', 'request-timeout');
    socket.destroy(); // idle between requests (keep-alive timeout) or never sent a byte
  }

  function onError(): void {
    // 'close' follows; the response under way (if any) sees it.
  }

  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('timeout', onTimeout);
  socket.on('error', onError);
  socket.setTimeout(opts.headersTimeoutMs);
}
