/** The hardware a Talos node double reports, and its COSI resources (Talos field names). */
import type { AppliedConfig } from './config.js';
import type { ResourceStore } from './resources.js';

export interface DoubleLink {
  name: string;
  mac: string;
  speedMbit?: number;
}

export interface DoubleDisk {
  name: string;
  size: number;
  model: string;
  serial: string;
  wwid: string;
  transport: 'sata' | 'nvme' | 'virtio' | 'usb' | 'mmc';
  rotational: boolean;
}

export interface DoubleHardware {
  uuid: string;
  serialNumber?: string;
  manufacturer?: string;
  productName?: string;
  cpus?: number;
  memoryMiB?: number;
  links: DoubleLink[];
  disks: DoubleDisk[];
}

/** What the stage machine tells the resource builder. */
export interface NodeView {
  stage: string;
  ready: boolean;
  unmet: { name: string; reason: string }[];
  address: string;
  hostname: string;
  config?: AppliedConfig;
  /** Disks.block.talos.dev exists from v1.8. */
  blockResources: boolean;
}

const prettySize = (n: number) => `${Math.round(n / 1e9)} GB`;

export function refreshResources(store: ResourceStore, hw: DoubleHardware, v: NodeView): void {
  store.put('runtime', 'MachineStatuses.runtime.talos.dev', 'machine', {
    stage: v.stage,
    status: { ready: v.ready, unmetConditions: v.unmet },
  });
  store.put('hardware', 'SystemInformations.hardware.talos.dev', 'systeminformation', {
    manufacturer: hw.manufacturer ?? 'QEMU',
    productName: hw.productName ?? 'Standard PC (Q35 + ICH9, 2009)',
    version: 'pc-q35',
    serialnumber: hw.serialNumber ?? '',
    uuid: hw.uuid,
    wakeUpType: 'Power Switch',
    sku: '',
  });
  store.replaceAll(
    'hardware',
    'Processors.hardware.talos.dev',
    new Map([['CPU-0', { socket: 'CPU 0', manufacturer: 'QEMU', productName: 'pc-q35', maxSpeedMhz: 2000, bootSpeedMhz: 2000, status: 65, coreCount: hw.cpus ?? 2, coreEnabled: hw.cpus ?? 2, threadCount: hw.cpus ?? 2 }]]),
  );
  store.replaceAll(
    'hardware',
    'MemoryModules.hardware.talos.dev',
    new Map([['DIMM-0', { size: hw.memoryMiB ?? 4096, deviceLocator: 'DIMM 0', manufacturer: 'QEMU', productName: '' }]]),
  );
  const links = new Map<string, unknown>();
  hw.links.forEach((l, i) => {
    links.set(l.name, {
      index: i + 2,
      type: 'ether',
      linkIndex: 0,
      flags: 'UP,BROADCAST,RUNNING,MULTICAST,LOWER_UP',
      hardwareAddr: l.mac,
      permanentAddr: l.mac,
      broadcastAddr: 'ff:ff:ff:ff:ff:ff',
      mtu: 1500,
      operationalState: 'up',
      kind: '',
      slaveKind: '',
      busPath: `0000:00:0${i + 3}.0`,
      driver: 'virtio_net',
      linkState: true,
      speedMbit: l.speedMbit ?? 1000,
      port: 'Other',
      duplex: 'Full',
    });
  });
  const addrLink = v.config?.addresses[0]?.link || hw.links[0]?.name || 'eth0';
  if (v.config && !links.has(addrLink) && hw.links[0]) {
    // a bond (or alias) named by the config: a virtual link carrying the first member's MAC
    links.set(addrLink, { index: 100, type: 'ether', hardwareAddr: hw.links[0].mac, operationalState: 'up', kind: 'bond', linkState: true, mtu: 1500 });
  }
  store.replaceAll('network', 'LinkStatuses.net.talos.dev', links);
  const cidr = v.config?.addresses[0]?.cidr ?? `${v.address}/24`;
  store.replaceAll(
    'network',
    'AddressStatuses.net.talos.dev',
    new Map([[`${addrLink}/${cidr}`, { address: cidr, local: cidr.split('/')[0], linkIndex: 2, linkName: addrLink, family: 'inet4', scope: 'global', flags: 'permanent' }]]),
  );
  store.put('network', 'HostnameStatuses.net.talos.dev', 'hostname', { hostname: v.hostname, domainname: '' });
  if (v.blockResources) {
    store.replaceAll(
      'runtime',
      'Disks.block.talos.dev',
      new Map(
        hw.disks.map((d) => [
          d.name,
          {
            dev_path: `/dev/${d.name}`,
            size: d.size,
            pretty_size: prettySize(d.size),
            io_size: 512,
            sector_size: 512,
            readonly: false,
            cdrom: false,
            model: d.model,
            serial: d.serial,
            wwid: d.wwid,
            bus_path: `/pci0000:00/0000:00:05.0/${d.name}`,
            sub_system: '/sys/class/block',
            transport: d.transport,
            rotational: d.rotational,
          },
        ]),
      ),
    );
  }
  // the machine config resource's spec is the config text itself (`spec: |` in talosctl get mc -o yaml)
  if (v.config) store.put('config', 'MachineConfigs.config.talos.dev', 'v1alpha1', v.config.text);
  else store.remove('config', 'MachineConfigs.config.talos.dev', 'v1alpha1');
}

/** The v1.6 StorageService/Disks view of the same disks. */
export function storageDisks(hw: DoubleHardware): object[] {
  const type = (d: DoubleDisk) => (d.transport === 'nvme' ? 'NVME' : d.transport === 'mmc' ? 'SD' : d.rotational ? 'HDD' : 'SSD');
  return hw.disks.map((d) => ({
    size: String(d.size),
    model: d.model,
    device_name: `/dev/${d.name}`,
    name: d.model,
    serial: d.serial,
    modalias: '',
    uuid: '',
    wwid: d.wwid,
    type: type(d),
    bus_path: `/pci0000:00/0000:00:05.0/${d.name}`,
    system_disk: false,
    subsystem: '/sys/class/block',
    readonly: false,
  }));
}
