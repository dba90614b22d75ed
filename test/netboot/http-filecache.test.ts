/**
 * The per-name file cache of the HTTP server (filecache.ts), on a real jail whose lookups are
 * counted, with an explicit clock: an answer is reused within `checkMs`; requests arriving while
 * a check runs share that one check (no burst of realpath + stat when an answer expires under
 * load); a rewritten file gets a new ETag after the next check; a refused name is not cached.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileInfoCache, type FileInfo } from '../../src/netboot/http/filecache.js';
import { Jail } from '../../src/netboot/jail.js';
import { makeTree, type Tree } from './lib.js';

describe('http file cache', () => {
  let tree: Tree;
  let jail: Jail;
  let lookups = 0;
  before(async () => {
    tree = makeTree();
    jail = await Jail.at(tree.assets);
    const real = jail.resolve.bind(jail);
    jail.resolve = (name: string) => {
      lookups++;
      return real(name);
    };
  });
  after(() => tree.cleanup());

  it('reuses an answer within checkMs, and shares one check among concurrent requests', async () => {
    let now = 1_000;
    const cache = new FileInfoCache(jail, { checkMs: 1000 }, () => now);
    const before = lookups;
    const first = await Promise.all(Array.from({ length: 20 }, () => cache.resolve('vmlinuz')));
    assert.equal(lookups - before, 1, 'twenty concurrent requests, one lookup');
    assert.ok(first.every((f) => f === first[0]));
    now += 999;
    assert.equal(await cache.resolve('vmlinuz'), first[0]);
    assert.equal(lookups - before, 1, 'still within checkMs');
    now += 1;
    const again = await Promise.all(Array.from({ length: 20 }, () => cache.resolve('vmlinuz')));
    assert.equal(lookups - before, 2, 'expired: one more lookup for all twenty');
    assert.ok(again.every((f) => f === first[0]), 'unchanged file: the same cached answer');
  });

  it('sees a rewritten file after the next check, and does not cache refusals', async () => {
    let now = 0;
    const cache = new FileInfoCache(jail, { checkMs: 1000 }, () => now);
    const file = path.join(tree.assets, 'changing.bin');
    writeFileSync(file, 'one');
    const a = (await cache.resolve('changing.bin')) as FileInfo;
    writeFileSync(file, 'three');
    now += 1000;
    const b = (await cache.resolve('changing.bin')) as FileInfo;
    assert.equal(b.st.size, 5);
    assert.notEqual(b.etag, a.etag);
    rmSync(file);
    now += 1000;
    assert.deepEqual(await cache.resolve('changing.bin'), { refused: 'not-found' });
    const before = lookups;
    assert.deepEqual(await cache.resolve('changing.bin'), { refused: 'not-found' });
    assert.equal(lookups - before, 1, 'a refusal is looked up every time');
    assert.equal(cache.size, 0);
  });
});
