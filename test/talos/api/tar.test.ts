import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { TarError, untarSingleFile } from '../../../src/talos/api/index.js';
import { tarGzOneFile } from '../../doubles/talos-node/tar.js';

test('reads the one file back', () => {
  const data = Buffer.from('apiVersion: v1\nkind: Config\n'.repeat(100));
  const f = untarSingleFile(tarGzOneFile('kubeconfig', data));
  assert.equal(f.name, 'kubeconfig');
  assert.equal(f.mode, 0o600);
  assert.ok(f.data.equals(data));
});

test('refuses a corrupted header, two files, a symlink, truncation and non-gzip input', () => {
  const tar = (gz: Buffer) => gunzipSync(gz);
  const one = tar(tarGzOneFile('a', Buffer.from('x')));
  const bad = Buffer.from(one);
  bad[0] = 'b'.charCodeAt(0); // name changed, checksum not
  assert.throws(() => untarSingleFile(gzipSync(bad)), /checksum/);
  const two = Buffer.concat([one.subarray(0, 1024), one]);
  assert.throws(() => untarSingleFile(gzipSync(two)), /expected one file.*found 2/);
  const link = Buffer.from(one);
  link[156] = '2'.charCodeAt(0);
  let sum = 0;
  link.fill(0x20, 148, 156);
  for (const b of link.subarray(0, 512)) sum += b;
  link.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  assert.throws(() => untarSingleFile(gzipSync(link)), /unsupported type "2"/);
  const big = tar(tarGzOneFile('a', Buffer.alloc(4000, 1)));
  assert.throws(() => untarSingleFile(gzipSync(big.subarray(0, 1536))), /truncated/);
  assert.throws(() => untarSingleFile(Buffer.from('not gzip')), TarError);
});

