/**
 * The front's request-head parser and response head, without sockets: what it takes (GET and HEAD
 * without a body, every byte one a strict parser accepts), what it leaves to node:http (`other`),
 * when it waits for more (`incomplete`), keep-alive by version and Connection, and the response
 * head's shape and its refusal of header values that would split it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseHead, type RequestHead } from '../../src/netboot/http/head.js';
import { httpDate, responseHead } from '../../src/netboot/http/outgoing.js';

const MAX = 16 * 1024;
const parse = (s: string, max = MAX) => parseHead(Buffer.from(s, 'latin1'), max);
const head = (s: string): RequestHead => {
  const r = parse(s);
  assert.ok(typeof r === 'object', `a head for ${JSON.stringify(s)}, got ${String(r)}`);
  return r;
};

describe('request head (front)', () => {
  it('takes GET and HEAD of an origin-form target, header names lower-cased, values trimmed', () => {
    const raw = 'GET /assets/vmlinuz?x=1 HTTP/1.1\r\nHost: 192.0.2.1:8080\r\nRange:  bytes=0-99 \t\r\nUser-Agent: iPXE/1.21\r\n\r\n';
    const h = head(raw);
    assert.equal(h.method, 'GET');
    assert.equal(h.target, '/assets/vmlinuz?x=1');
    assert.deepEqual(h.headers, { host: '192.0.2.1:8080', range: 'bytes=0-99', 'user-agent': 'iPXE/1.21' });
    assert.equal(h.size, Buffer.byteLength(raw));
    assert.equal(head('HEAD / HTTP/1.1\r\nHost: a\r\n\r\n').method, 'HEAD');
  });

  it('gives the size of the first head only: pipelined bytes after it stay for the next', () => {
    const one = 'GET /a HTTP/1.1\r\nHost: a\r\n\r\n';
    const h = head(`${one}GET /b HTTP/1.1\r\nHost: a\r\n\r\n`);
    assert.equal(h.target, '/a');
    assert.equal(h.size, one.length);
  });

  it('keeps the connection for HTTP/1.1 unless Connection: close, for HTTP/1.0 only with keep-alive', () => {
    assert.equal(head('GET / HTTP/1.1\r\nHost: a\r\n\r\n').keepAlive, true);
    assert.equal(head('GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n').keepAlive, false);
    assert.equal(head('GET / HTTP/1.1\r\nHost: a\r\nConnection: TE, close\r\n\r\n').keepAlive, false);
    assert.equal(head('GET / HTTP/1.0\r\n\r\n').keepAlive, false);
    assert.equal(head('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n').keepAlive, true);
  });

  it('waits for the rest of a head that may still be one of its own', () => {
    for (const part of ['', 'G', 'GE', 'HEA', 'GET /assets/x HTTP/1.1\r\nHost: a\r\n', 'GET / HTTP/1.1\r\nHost: a\r\n\r']) {
      assert.equal(parse(part), 'incomplete', JSON.stringify(part));
    }
  });

  it('leaves to node:http every other method, at once', () => {
    for (const start of ['P', 'POST / HTTP/1.1\r\n', 'PUT ', 'GETX / HTTP/1.1\r\n\r\n', 'HEADX', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'G@T / HTTP/1.1\r\n', '\x16\x03\x01']) {
      assert.equal(parse(start), 'other', JSON.stringify(start));
    }
  });

  it('leaves to node:http at once a head whose lines end in a bare LF (it would never complete as CRLF CRLF)', () => {
    assert.equal(parse('GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n'), 'other');
    assert.equal(parse('GET /healthz HTTP/1.1\r\nHost: x\n'), 'other');
    assert.equal(parse('\nGET / HTTP/1.1\r\n'), 'other');
  });

  it('leaves to node:http a head over the size limit, complete or not', () => {
    assert.equal(parse(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'b'.repeat(200)}`, 100), 'other');
    assert.equal(parse(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'b'.repeat(200)}\r\n\r\n`, 100), 'other');
    assert.equal(typeof parse(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'b'.repeat(200)}\r\n\r\n`, 400), 'object');
  });

  it('leaves to node:http requests with a body, a protocol change or an expectation', () => {
    for (const field of ['Content-Length: 5', 'Transfer-Encoding: chunked', 'Upgrade: websocket', 'Expect: 100-continue']) {
      assert.equal(parse(`GET / HTTP/1.1\r\nHost: a\r\n${field}\r\n\r\n`), 'other', field);
    }
    assert.equal(head('GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n').method, 'GET');
  });

  it('leaves to node:http whatever a strict parser would refuse or read otherwise', () => {
    const bad = [
      'GET / HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\nX-Fold: a\r\n  b\r\n\r\n', // obs-fold
      'GET / HTTP/1.1\r\nHost: a\r\nX-Space : a\r\n\r\n', // whitespace before the colon
      'GET / HTTP/1.1\r\nHost: a\r\nX-Ctl: a\x01b\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\nX-Bare-LF: a\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', // a field twice
      'GET / HTTP/1.1\r\nRange: bytes=0-1\r\n\r\n', // HTTP/1.1 without Host
      'GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n', // absolute-form
      'GET * HTTP/1.1\r\nHost: a\r\n\r\n',
      'GET /a b HTTP/1.1\r\nHost: a\r\n\r\n',
      'GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n',
      'GET / HTTP/2.0\r\nHost: a\r\n\r\n',
      'GET / HTTP/1.1 \r\nHost: a\r\n\r\n',
      'GET  / HTTP/1.1\r\nHost: a\r\n\r\n',
      'get / HTTP/1.1\r\nHost: a\r\n\r\n',
    ];
    for (const req of bad) assert.equal(parse(req), 'other', JSON.stringify(req));
  });

  it('keeps obs-text in a value as latin1 bytes', () => {
    assert.equal(head('GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9\r\n\r\n').headers['x-name'], 'caf\xe9');
  });
});

describe('response head (front)', () => {
  const at = Date.UTC(2026, 11, 2, 15, 4, 5, 678);
  it('writes the status line, the handler headers in order, Date, and keep-alive with its timeout', () => {
    const h = responseHead(206, { 'Content-Type': 'application/octet-stream', 'Content-Length': 100, 'Content-Range': 'bytes 0-99/1000' }, true, 10_000, at);
    assert.equal(
      h,
      'HTTP/1.1 206 Partial Content\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\nContent-Range: bytes 0-99/1000\r\n' +
        'Date: Wed, 02 Dec 2026 15:04:05 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=10\r\n\r\n',
    );
  });

  it('says Connection: close when the connection ends with the response', () => {
    assert.match(responseHead(404, { 'Content-Length': 0 }, false, 10_000, at), /^HTTP\/1\.1 404 Not Found\r\nContent-Length: 0\r\nDate: [^\r]+\r\nConnection: close\r\n\r\n$/);
  });

  it('refuses a header that would split the head', () => {
    assert.throws(() => responseHead(200, { Location: '/a\r\nSet-Cookie: x=1' }, true, 10_000, at), /line break/);
    assert.throws(() => responseHead(200, { 'X\nY': 'a' }, true, 10_000, at), /line break/);
  });

  it('makes the date once per second (RFC 9110 IMF-fixdate)', () => {
    assert.equal(httpDate(at), 'Wed, 02 Dec 2026 15:04:05 GMT');
    assert.equal(httpDate(at + 300), 'Wed, 02 Dec 2026 15:04:05 GMT');
    assert.equal(httpDate(at + 400), 'Wed, 02 Dec 2026 15:04:06 GMT');
  });
});
