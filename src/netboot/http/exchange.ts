/**
 * The shape every route handler works in: a request as plain data in, a response as plain data
 * out. Only the server layer (server.ts, front.ts, respond.ts) touches sockets; handlers are tested without them.
 */
import type { Stats } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';

export interface HttpRequest {
  method: string;
  /** URL path as sent (still percent-encoded). */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The client's IPv4 address. */
  ip: string;
  /** Base URL scripts point back to (http://HOST:PORT). */
  base: string;
}

/** A slice of a file the server streams as the body. */
export interface FileBody {
  path: string;
  /** The stat the headers were made from (which version of the file to send), when known. */
  st?: Stats;
  /** First and last byte sent (inclusive). */
  start: number;
  end: number;
  /** Bytes in the body (0 for an empty file). */
  length: number;
  /** The name it was asked for, and what it is (`kernel`, `initrd`, `asset`, `bootfile`), for progress. */
  name: string;
  kind: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | number>;
  /** A text body (left out for HEAD). */
  body?: string;
  /** A file body (left out for HEAD and when empty). */
  file?: FileBody;
  /** A body written as it happens, kept open until either side ends it (Server-Sent Events). */
  stream?: StreamBody;
}

/** The open connection a stream body writes to (server.ts gives it the socket's view). */
export interface StreamSink {
  /** Queues text for the client. */
  write(chunk: string): void;
  /** Bytes queued and not yet taken by the client. */
  buffered(): number;
  /** Ends the response (the connection closes). */
  end(): void;
}

/** Starts writing once the headers are out; returns what to do when the connection closes. */
export type StreamBody = (sink: StreamSink) => () => void;

/** A text response; `Content-Length` is the body's, also for HEAD. */
export function text(status: number, body: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): HttpResponse {
  return { status, headers: { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...extra }, body };
}
