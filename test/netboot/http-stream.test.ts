/**
 * streamFile against a response double: bytes arrive whole and in order, at most two chunks are
 * ever in the socket's hands, a stalled client pins one chunk and no more reads, and a response
 * closed midway ends the copy with the file handle closed.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { streamFile } from '../../src/netboot/http/stream.js';
import { within, WAIT_MS } from '../helpers/within.js';
import { fdsOn, makeTree, type Tree } from './lib.js';

/** A ServerResponse stand-in: `write` queues the callback; the test decides when the "socket" takes it. */
class FakeResponse extends EventEmitter {
  chunks: Buffer[] = [];
  waiting: (() => void)[] = [];
  maxWaiting = 0;
  destroyed = false;
  writableFinished = false;
  writableNeedDrain = false;
  constructor(private auto: boolean) {
    super();
  }
  write(chunk: Buffer, cb: (err?: Error) => void): boolean {
    this.chunks.push(Buffer.from(chunk));
    this.waiting.push(() => cb());
    this.maxWaiting = Math.max(this.maxWaiting, this.waiting.length);
    this.emit('wrote');
    if (this.auto) setImmediate(() => this.waiting.shift()?.());
    else this.writableNeedDrain = true;
    return this.auto;
  }
  end(cb: () => void): void {
    this.writableFinished = true;
    setImmediate(cb);
  }
  close(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

const asRes = (f: FakeResponse) => f as unknown as http.ServerResponse;
describe('http streamFile', () => {
  let tree: Tree;
  let big: string;
  let data: Buffer;
  before(() => {
    tree = makeTree();
    big = path.join(tree.assets, 'big');
    data = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(big, data);
  });
  after(() => tree.cleanup());

  it('sends the exact slice with at most two chunks in flight', async () => {
    const res = new FakeResponse(true);
    let counted = 0;
    await within(WAIT_MS, 'the copy of the slice to finish', streamFile(big, asRes(res), 5, data.length - 3, (n) => (counted += n)));
    const got = Buffer.concat(res.chunks);
    assert.ok(got.equals(data.subarray(5, data.length - 2)));
    assert.equal(counted, got.length);
    assert.ok(res.maxWaiting <= 2, `in flight at once: ${res.maxWaiting}`);
    assert.equal(fdsOn(big), 0);
  });

  it('a client that stops reading pins one chunk, no further reads; closing it ends the copy and closes the file', async () => {
    const res = new FakeResponse(false);
    const wrote = new Promise((resolve) => res.once('wrote', resolve));
    const copy = streamFile(big, asRes(res), 0, data.length - 1, () => undefined);
    copy.catch(() => undefined);
    await within(WAIT_MS, 'the first chunk written', wrote);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r)); // give it every chance to read on
    assert.equal(res.chunks.length, 1, 'nothing more read while the socket holds the last chunk');
    assert.equal(fdsOn(big), 1);
    res.close(); // what a send timeout or the client going away does
    await assert.rejects(within(WAIT_MS, 'the copy to end after the response closed', copy), /client went away/);
    assert.equal(fdsOn(big), 0, 'the file handle is released');
  });

  it('a response already closed before the copy starts is refused and leaves no handle', async () => {
    const res = new FakeResponse(true);
    res.destroyed = true;
    await assert.rejects(within(WAIT_MS, 'the copy to a closed response to end', streamFile(big, asRes(res), 0, 10, () => undefined)), /client went away/);
    assert.equal(res.chunks.length, 0);
    assert.equal(fdsOn(big), 0);
  });
});
