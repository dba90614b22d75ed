import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkNetboot, planNetboot, renderMachineScript, resolveBoot } from '../../src/netboot/index.js';
import { loadSpec } from '../../src/spec/index.js';
import { ROOT } from '../helpers/cli.js';
import path from 'node:path';
import { SPEC_YAML, specFrom } from './lib.js';

const PROFILES = `  profiles:
    - { name: workers, match: { role: [worker] }, extraKernelArgs: [hearth.role=worker] }
    - { name: w1-special, match: { role: [worker], mac: ["52:54:00:00:00:04"] }, kernel: special-kernel, initrd: [a.img, b.img] }
    - { name: byuuid, match: { uuid: [AAAAAAAA-0000-0000-0000-000000000001] }, kernelArgs: [uuid-profile] }
    - { name: stop, match: { mac: ["52:54:00:00:00:99"] }, boot: false }
`;

describe('netboot render (pure)', () => {
  it('picks the most specific matching profile, like matchbox groups', () => {
    const { spec } = specFrom(SPEC_YAML(PROFILES));
    const w1 = resolveBoot(spec, { mac: '52-54-00-00-00-04' });
    assert.equal(w1.machine, 'w1');
    assert.equal(w1.profile, 'w1-special');
    assert.equal(w1.kernel, 'special-kernel');
    assert.deepEqual(w1.initrd, ['a.img', 'b.img']);
    const cp1 = resolveBoot(spec, { mac: '52:54:00:00:00:01' });
    assert.equal(cp1.profile, 'default');
    assert.deepEqual(cp1.kernelArgs, ['console=ttyS0', 'hearth.test=default']);
    const byUuid = resolveBoot(spec, { uuid: 'aaaaaaaa-0000-0000-0000-000000000001' });
    assert.equal(byUuid.profile, 'byuuid');
    assert.deepEqual(byUuid.kernelArgs, ['uuid-profile']);
    // The machine w1 is found by its UUID too, and then gets the worker profiles.
    assert.equal(resolveBoot(spec, { uuid: '8F0C1E3A111122223333444455556666' }).machine, 'w1');
    const stop = resolveBoot(spec, { mac: '52:54:00:00:00:99' });
    assert.equal(stop.boot, false);
    assert.match(renderMachineScript(stop, 'http://x'), /^#!ipxe\n.*no network boot.*\nexit 1\n$/s);
  });

  it('role profiles add kernel args, and UEFI needs initrd=<name> on the kernel line', () => {
    const { spec } = specFrom(SPEC_YAML(`  profiles:\n    - { name: workers, match: { role: [worker] }, extraKernelArgs: [hearth.role=worker] }\n`));
    const s = renderMachineScript(resolveBoot(spec, { mac: '52:54:00:00:00:04' }), 'http://192.0.2.1:8080');
    assert.equal(
      s,
      '#!ipxe\necho hearth: booting machine w1 with profile workers\n' +
        'kernel http://192.0.2.1:8080/assets/vmlinuz initrd=initramfs.xz console=ttyS0 hearth.test=default hearth.role=worker\n' +
        'initrd http://192.0.2.1:8080/assets/initramfs.xz\nboot\n',
    );
  });

  it('unknownMachines: ignore gives unknown machines no boot, known ones still boot', () => {
    const { spec } = specFrom(SPEC_YAML().replace('  kernel: vmlinuz', '  unknownMachines: ignore\n  kernel: vmlinuz'));
    assert.equal(resolveBoot(spec, { mac: '52:54:00:ab:cd:ef' }).boot, false);
    assert.equal(resolveBoot(spec, { mac: '52:54:00:00:00:01' }).boot, true);
  });

  it('checkNetboot names bad fields', () => {
    const loaded = specFrom(SPEC_YAML(`  profiles:\n    - { name: a, kernel: ../etc/passwd }\n    - { name: a, kernelArgs: ["two args"] }\n`));
    const issues = checkNetboot(loaded);
    const paths = issues.map((i) => i.path.join('.'));
    assert.ok(paths.includes('netboot.profiles.0.kernel'), paths.join(' '));
    assert.ok(paths.includes('netboot.profiles.1.name'), paths.join(' '));
    assert.ok(paths.includes('netboot.profiles.1.kernelArgs.0'), paths.join(' '));
  });

  it('plans the bundled example without its assets directory', async () => {
    const loaded = loadSpec(path.join(ROOT, 'examples/hearth.yaml'));
    assert.deepEqual(checkNetboot(loaded), []);
    const arts = await planNetboot(loaded);
    const names = arts.map((a) => a.path).sort();
    assert.ok(names.includes('boot.ipxe') && names.includes('server.yaml') && names.includes('machines/cp1.ipxe'), names.join(' '));
    const cp1 = String(arts.find((a) => a.path === 'machines/cp1.ipxe')!.content);
    assert.match(cp1, /^kernel http:\/\/192\.0\.2\.1:8080\/assets\/vmlinuz initrd=initramfs\.xz talos\.platform=metal console=tty0 console=ttyS0 /m);
  });
});
