/**
 * `hearth up` on a terminal (a pseudo-terminal through util-linux `script`): one view redrawn in
 * place — a row per machine (stage, elapsed, download, address) and a row per platform component —
 * and no log lines, then the summary.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { which } from '../helpers/netns.js';
import { terminalSession } from '../helpers/pty.js';
import { upLab, type UpLab } from './up-lab.js';

let l: UpLab | undefined;
after(() => l?.stop());

test('on a terminal: machines and components in one view redrawn in place, then the summary', { skip: which('script') ? false : 'util-linux script is not installed' }, async () => {
  l = await upLab();
  const session = terminalSession(l.args('--timeout', '120s'), [], { timeoutMs: 150_000 });
  await l.powerOn();
  const { code, screen } = await session;
  assert.equal(code, 0, screen);
  assert.match(screen, /hearth up {2}\d+\.\ds/, 'a heading with the run clock');
  assert.match(screen, /MACHINE\s+STAGE\s+ELAPSED\s+DOWNLOAD\s+ADDRESS/);
  for (const name of l.names) assert.match(screen, new RegExp(`${name}\\s+running\\s+\\d+\\.\\ds\\s+\\S+`), `${name} reaches running in the view`);
  assert.match(screen, /COMPONENT\s+STATE\s+WAITING FOR/);
  assert.match(screen, /\n\S*\s*\S+\s+Ready\s*\r?\n/, 'a component row Ready');
  assert.match(screen, /\x1b\[\d+A/, 'the view is redrawn in place (cursor up)');
  assert.doesNotMatch(screen, /^cp1: running at /m, 'no log lines on a terminal');
  assert.match(screen, /hearth up: platform Ready on mycloud/);
});
