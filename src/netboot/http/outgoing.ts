/**
 * A response on the way out, as the body senders (respond.ts, sendfile.ts, stream.ts) see it: the
 * part of node:http's ServerResponse they use. A ServerResponse is one; the front (front.ts) writes
 * its answers through RawResponse, a response written straight onto the connection's socket.
 */
import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

export interface Outgoing {
  /** The connection it goes out on (null once node:http has let go of it). */
  readonly socket: Socket | null;
  /** Whether the connection is gone (closed, reset, timed out). */
  readonly destroyed: boolean;
  /** Whether end() has completed: every byte is with the kernel. */
  readonly writableFinished: boolean;
  /** Whether a write is waiting for the socket to drain. */
  readonly writableNeedDrain: boolean;
  /** Bytes queued and not yet taken by the socket. */
  readonly writableLength: number;
  /** Writes the status line and headers now (once). */
  flushHeaders(): void;
  /** Queues body bytes; the callback runs once the socket has taken them (or with the error that stopped it). */
  write(chunk: Buffer | string, cb?: (err?: Error | null) => void): boolean;
  /** Ends the response; the callback runs once every byte is with the kernel. */
  end(cb?: () => void): unknown;
  /** Cuts the connection. */
  destroy(): unknown;
  /** 'close': the connection closed (whether or not the response had finished). */
  once(event: 'close', listener: () => void): unknown;
}

/** The IMF-fixdate (RFC 9110 §5.6.7) of the current second, made once per second. */
let dateSecond = -1;
let dateText = '';
export function httpDate(now = Date.now()): string {
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateText = new Date(s * 1000).toUTCString();
  }
  return dateText;
}

/** A header value that would split the head (CR or LF) is refused, as node:http refuses it. */
const SPLITS = /[\r\n]/;

/**
 * The status line and header section of a response, as node:http would write them: the handler's
 * headers, then Date, then either `Connection: keep-alive` with `Keep-Alive: timeout=N` or
 * `Connection: close`. Pure but for the clock's second.
 */
export function responseHead(status: number, headers: Readonly<Record<string, string | number>>, keepAlive: boolean, keepAliveMs: number, now?: number): string {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (const name in headers) {
    const value = String(headers[name]);
    if (SPLITS.test(value) || SPLITS.test(name)) throw new Error(`header ${JSON.stringify(name)} has a line break in it`);
    head += `${name}: ${value}\r\n`;
  }
  head += `Date: ${httpDate(now)}\r\n`;
  head += keepAlive ? `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(keepAliveMs / 1000)}\r\n\r\n` : 'Connection: close\r\n\r\n';
  return head;
}

const EMPTY = Buffer.alloc(0);

/**
 * A response written straight onto a socket: its head (responseHead) goes out with the first body
 * bytes, or alone on flushHeaders; `end` calls back once the socket has taken everything and, when
 * the head said `Connection: close`, ends the connection. 'close' is emitted if the connection
 * closes before the response has finished; after that the response lets go of the socket's events.
 */
export class RawResponse extends EventEmitter implements Outgoing {
  writableFinished = false;
  private headOut = false;

  constructor(
    readonly socket: Socket,
    private readonly head: string,
    private readonly keepAlive: boolean,
  ) {
    super();
    socket.once('close', this.onClose);
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  get writableNeedDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  flushHeaders(): void {
    if (this.headOut) return;
    this.headOut = true;
    this.socket.write(this.head, 'latin1');
  }

  write(chunk: Buffer | string, cb?: (err?: Error | null) => void): boolean {
    if (this.headOut) return this.socket.write(chunk, cb);
    // The head and the first bytes in one system call (and, short, one packet).
    this.socket.cork();
    this.flushHeaders();
    const ok = this.socket.write(chunk, cb);
    this.socket.uncork();
    return ok;
  }

  end(cb?: () => void): void {
    this.flushHeaders();
    this.socket.write(EMPTY, (err) => {
      if (!err) {
        this.writableFinished = true;
        this.socket.off('close', this.onClose);
        // As node:http's destroySoon: the connection goes once the kernel has every byte, not at the client's FIN.
        if (!this.keepAlive) this.socket.end(() => this.socket.destroy());
      }
      cb?.();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private readonly onClose = (): void => {
    this.emit('close');
  };
}
