/**
 * `hearth bootstrap` on a terminal (a pseudo-terminal through util-linux `script`): a live view with
 * one line per machine (stage, address, when it got there) redrawn in place, then the summary.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { which } from '../../helpers/netns.js';
import { terminalSession } from '../../helpers/pty.js';
import { lab, MACHINES, type Lab } from './lab.js';

let l: Lab | undefined;
after(() => l?.stop());

test('on a terminal: one live line per machine with its stage, redrawn in place, then the summary', { skip: which('script') ? false : 'util-linux script is not installed' }, async () => {
  l = await lab('v1.13.9');
  const { code, screen } = await terminalSession(l.args('--timeout', '90s'), [], { timeoutMs: 120_000 });
  assert.equal(code, 0, screen);
  assert.match(screen, /hearth bootstrap {2}\d+\.\ds/, 'a heading with the run clock');
  assert.match(screen, /MACHINE\s+STAGE\s+ADDRESS\s+SINCE/);
  for (const m of MACHINES) assert.match(screen, new RegExp(`${m}\\s+running\\s+\\S+\\s+\\+\\d+\\.\\ds`), `${m} reaches running in the view`);
  assert.match(screen, /\x1b\[\d+A/, 'the view is redrawn in place (cursor up)');
  assert.doesNotMatch(screen, /^cp1: config applied at /m, 'no log lines on a terminal');
  assert.match(screen, /cluster mycloud is healthy at https:\/\//);
});
