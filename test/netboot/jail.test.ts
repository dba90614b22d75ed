/**
 * The path jail shared by TFTP and HTTP, against a real directory tree: what it serves, and every
 * way out it refuses (traversal, absolute names, NUL, backslashes, symlinks leading out).
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Jail } from '../../src/netboot/jail.js';
import { makeTree, type Tree } from './lib.js';

describe('path jail', () => {
  let tree: Tree;
  let jail: Jail;
  before(async () => {
    tree = makeTree();
    mkdirSync(path.join(tree.assets, 'dir'));
    symlinkSync(tree.dir, path.join(tree.assets, 'up'));
    symlinkSync(path.join(tree.dir, 'secret.txt'), path.join(tree.assets, 'abs-escape'));
    jail = await Jail.at(tree.assets);
  });
  after(() => tree.cleanup());

  it('resolves files inside the root, through dot segments and inner symlinks', async () => {
    for (const [name, want] of [
      ['vmlinuz', 'vmlinuz'],
      ['sub/nested.bin', 'sub/nested.bin'],
      ['./sub//nested.bin', 'sub/nested.bin'],
      ['inside-link', 'vmlinuz'],
    ] as const) {
      const r = await jail.resolve(name);
      assert.ok('file' in r, `${name}: ${JSON.stringify(r)}`);
      assert.equal(r.file, path.join(jail.root, want));
      assert.equal(r.st.size, tree.files[want]!.length);
    }
  });

  it('refuses every way out of the root, each with its reason', async () => {
    const cases: [string, string][] = [
      ['../secret.txt', 'traversal'],
      ['sub/../../secret.txt', 'traversal'],
      ['sub/..', 'traversal'],
      ['/etc/passwd', 'absolute-path'],
      [path.join(tree.dir, 'secret.txt'), 'absolute-path'],
      ['vmlinuz\0.png', 'bad-path'],
      ['..\\secret.txt', 'bad-path'],
      ['escape', 'outside-root'],
      ['abs-escape', 'outside-root'],
      ['up/secret.txt', 'outside-root'],
      ['missing', 'not-found'],
      ['sub/missing', 'not-found'],
      ['dir', 'not-a-file'],
      ['', 'not-a-file'],
      ['%2e%2e/secret.txt', 'not-found'],
    ];
    for (const [name, reason] of cases) assert.deepEqual(await jail.resolve(name), { refused: reason }, name);
  });

  it('takes a root that does not exist as written and finds nothing in it', async () => {
    const j = await Jail.at(path.join(tree.dir, 'nope'));
    assert.equal(j.root, path.join(tree.dir, 'nope'));
    assert.deepEqual(await j.resolve('vmlinuz'), { refused: 'not-found' });
  });
});
