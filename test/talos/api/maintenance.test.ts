import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FilePinStore,
  RESOURCES,
  TalosPinMismatchError,
  TalosUnimplementedError,
  TalosInvalidArgumentError,
} from '../../../src/talos/api/index.js';
import { tmpDir } from '../../helpers/cli.js';
import { cluster, loopback, machineConfig, maintenanceClient, startDouble, stopAll, type Cluster } from './fixture.js';

for (const version of ['v1.6.4', 'v1.13.9']) {
  describe(`maintenance mode, Talos ${version}`, () => {
    let c: Cluster;
    before(async () => {
      c = await cluster(version);
    });
    after(() => stopAll(c));

    test('Version: Unimplemented on v1.6, the tag on v1.13', async () => {
      const d = await startDouble(c, 10);
      const api = maintenanceClient(c, d.address);
      try {
        if (version === 'v1.6.4') await assert.rejects(api.version(), TalosUnimplementedError);
        else assert.equal((await api.version()).tag, 'v1.13.9');
      } finally {
        api.close();
      }
    });

    test('disks come from StorageService on v1.6 and from Disks.block.talos.dev on v1.13', async () => {
      const d = await startDouble(c, 11);
      const api = maintenanceClient(c, d.address);
      try {
        const disks = await api.disks();
        const byName = [...disks].sort((a, b) => a.name.localeCompare(b.name));
        assert.deepEqual(byName.map((x) => [x.name, x.devPath, x.size, x.serial, x.rotational, x.transport]), [
          ['nvme0n1', '/dev/nvme0n1', 512e9, 'deadbeef11', false, 'nvme'],
          ['sda', '/dev/sda', 256e9, 'QM00011', true, version === 'v1.6.4' ? '' : 'sata'],
        ]);
        assert.ok(disks.every((x) => x.source === (version === 'v1.6.4' ? 'storage-service' : 'block-resource')));
        assert.equal(d.calls.includes('Disks'), version === 'v1.6.4', 'StorageService/Disks is used exactly on v1.6');
      } finally {
        api.close();
      }
    });

    test('COSI list/get parse yaml_spec: system information, links, machine status', async () => {
      const d = await startDouble(c, 12);
      const api = maintenanceClient(c, d.address);
      try {
        const sys = await api.get<{ uuid: string }>(RESOURCES.systemInformation.namespace, RESOURCES.systemInformation.type, 'systeminformation');
        assert.equal(sys.spec.uuid, d.hardware.uuid);
        const links = await api.list<{ hardwareAddr: string }>(RESOURCES.links.namespace, RESOURCES.links.type);
        assert.deepEqual(links.map((l) => [l.id, l.spec.hardwareAddr]), [['eth0', '52:54:00:00:00:0c'], ['eth1', '52:54:00:00:01:0c']]);
        const st = await api.get<{ stage: string }>(RESOURCES.machineStatus.namespace, RESOURCES.machineStatus.type, 'machine');
        assert.equal(st.spec.stage, 'maintenance');
      } finally {
        api.close();
      }
    });

    test('the certificate is pinned on first use (0600 file) and a changed one is refused', async () => {
      const dir = tmpDir('pins');
      const pins = new FilePinStore(dir);
      const d = await startDouble(c, 13);
      const first = maintenanceClient(c, d.address, pins);
      await first.list(RESOURCES.links.namespace, RESOURCES.links.type);
      first.close();
      const pinned = await pins.get(d.address);
      assert.ok(pinned && pinned.length === 44, 'a base64 SHA-256 pin was recorded');
      assert.equal(statSync(pins.file).mode & 0o777, 0o600);
      // same node, same certificate: accepted by a new client reading the same store
      const again = maintenanceClient(c, d.address, new FilePinStore(dir));
      await again.list(RESOURCES.links.namespace, RESOURCES.links.type);
      again.close();
      // the node reboots into maintenance with a fresh self-signed certificate
      await d.stop();
      const impostor = await startDouble(c, 13, d.address);
      const late = maintenanceClient(c, impostor.address, new FilePinStore(dir));
      try {
        const err = await late.list(RESOURCES.links.namespace, RESOURCES.links.type).then(
          () => assert.fail('a changed certificate must be refused'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof TalosPinMismatchError, String(err));
        assert.match(err.message, new RegExp(`talos node ${impostor.address.replace(/\./g, '\\.')}: certificate changed`));
        assert.ok(err.message.includes(pinned!) && err.message.includes(err.presented) && err.presented !== pinned);
        assert.equal(impostor.calls.length, 0, 'no request reached the impostor');
      } finally {
        late.close();
      }
    });

    test('a pin file that is not ours is an error, not silently replaced', async () => {
      const dir = tmpDir('pins-bad');
      writeFileSync(path.join(dir, 'talos-pins.json'), '{"hello": 1}');
      await assert.rejects(new FilePinStore(dir).get('x'), /not a hearth pin file/);
    });

    test('ApplyConfiguration dry run changes nothing; a bad config and a non-reboot mode are refused', async () => {
      const d = await startDouble(c, 14);
      const api = maintenanceClient(c, d.address);
      try {
        const cfg = machineConfig(c, { type: 'controlplane', address: loopback(114), hostname: 'cp-1' });
        const r = await api.applyConfiguration(cfg, { dryRun: true });
        assert.equal(r.mode, 'REBOOT');
        assert.match(r.modeDetails, /Dry run/);
        assert.equal(d.applyCount, 0);
        assert.equal(d.stage, 'maintenance');
        await assert.rejects(api.applyConfiguration('machine: [', {}), TalosInvalidArgumentError);
        await assert.rejects(api.applyConfiguration(cfg, { mode: 'NO_REBOOT' }), /only supports auto and reboot/);
        assert.equal(d.applyCount, 0);
      } finally {
        api.close();
      }
    });
  });
}
