/**
 * The patch built from one machines[] entry: hostname, install disk or selector, install image,
 * interface or bond with its address and default route, nameservers, and the VIP on control planes.
 * v1.6-style contracts put it under machine.network; multi-document contracts (Talos >= 1.12) use
 * HostnameConfig, LinkConfig/BondConfig (+ LinkAliasConfig for a device selector), Layer2VIPConfig
 * and ResolverConfig documents. Pure.
 */
import type { Machine } from '../spec/index.js';
import { parseCidr, parseIp } from '../spec/net.js';
import type { TalosContract } from './contract.js';
import type { Doc } from './generate.js';
import type { StrategicPatch } from './patch.js';

/** Name given to a link picked by a device selector (LinkAliasConfig) in multi-document configs. */
export const SELECTED_LINK_ALIAS = 'lan0';

function defaultDestination(gateway: string): string {
  return parseIp(gateway)?.family === 6 ? '::/0' : '0.0.0.0/0';
}

/**
 * A CEL expression over the LinkStatus resource (field names of its protobuf, LinkStatusSpec)
 * matching the link a v1alpha1 deviceSelector would match: hardware_addr, permanent_addr (bytes,
 * compared through mac()), bus_path, pciid, driver; `*` globs use glob(). `physical` has no LinkStatus
 * field and is refused by checkTalos for multi-document configs.
 */
export function selectorToCel(sel: Record<string, unknown>): string {
  const q = (s: unknown) => JSON.stringify(String(s));
  const parts: string[] = [];
  const glob = (field: string, v: unknown) => (/[*?[]/.test(String(v)) ? `glob(${q(v)}, ${field})` : `${field} == ${q(v)}`);
  if (sel.hardwareAddr !== undefined) parts.push(glob('mac(link.hardware_addr)', String(sel.hardwareAddr).toLowerCase()));
  if (sel.permanentAddr !== undefined) parts.push(glob('mac(link.permanent_addr)', String(sel.permanentAddr).toLowerCase()));
  if (sel.busPath !== undefined) parts.push(glob('link.bus_path', sel.busPath));
  if (sel.pciID !== undefined) parts.push(glob('link.pciid', sel.pciID));
  if (sel.driver !== undefined) parts.push(glob('link.driver', sel.driver));
  return parts.join(' && ');
}

export interface NodeInput {
  machine: Machine;
  contract: TalosContract;
  installImage: string;
  vip?: string;
}

/** The strategic-merge patch for one machine. */
export function machinePatch({ machine: m, contract, installImage, vip }: NodeInput): StrategicPatch {
  const cp = m.role === 'controlplane';
  const hostname = m.hostname ?? m.name;
  const install: Doc = {};
  if (m.installDisk) install.disk = m.installDisk;
  // a selector replaces the base config's default disk (talosctl's /dev/sda)
  if (m.diskSelector) {
    install.disk = { $patch: 'delete' };
    install.diskSelector = { ...m.diskSelector };
  }
  install.image = installImage;
  const useVip = cp && vip !== undefined;

  if (!contract.multiDocNetwork) {
    const network: Doc = { hostname };
    const link: Doc = {};
    if (m.bond) link.interface = m.bond.name;
    else if (typeof m.interface === 'string') link.interface = m.interface;
    else if (m.interface) link.deviceSelector = { ...m.interface };
    if (Object.keys(link).length > 0) {
      if (m.address) link.addresses = [m.address];
      if (m.gateway) link.routes = [{ network: defaultDestination(m.gateway), gateway: m.gateway }];
      if (m.bond) {
        const b = m.bond;
        const bond: Doc = { interfaces: [...b.interfaces], mode: b.mode };
        if (b.xmitHashPolicy) bond.xmitHashPolicy = b.xmitHashPolicy;
        if (b.lacpRate) bond.lacpRate = b.lacpRate;
        if (b.miimon !== undefined) bond.miimon = b.miimon;
        if (b.updelay !== undefined) bond.updelay = b.updelay;
        if (b.downdelay !== undefined) bond.downdelay = b.downdelay;
        link.bond = bond;
      }
      if (!m.address) link.dhcp = true;
      if (useVip) link.vip = { ip: vip };
      network.interfaces = [link];
    }
    if (m.nameservers?.length) network.nameservers = [...m.nameservers];
    return { kind: 'strategic', docs: [{ machine: { network, install } }] };
  }

  const docs: Doc[] = [{ machine: { install } }];
  // a static hostname conflicts with `auto: stable` from the base config: switch it off
  docs.push({ apiVersion: 'v1alpha1', kind: 'HostnameConfig', auto: 'off', hostname });
  let linkName: string | undefined;
  const addressing = (d: Doc) => {
    if (m.address) d.addresses = [{ address: m.address }];
    if (m.gateway) d.routes = [{ gateway: m.gateway }];
  };
  if (m.bond) {
    const b = m.bond;
    linkName = b.name;
    const bond: Doc = { apiVersion: 'v1alpha1', kind: 'BondConfig', name: b.name, links: [...b.interfaces], bondMode: b.mode };
    if (b.miimon !== undefined) bond.miimon = b.miimon;
    if (b.updelay !== undefined) bond.updelay = b.updelay;
    if (b.downdelay !== undefined) bond.downdelay = b.downdelay;
    if (b.xmitHashPolicy) bond.xmitHashPolicy = b.xmitHashPolicy;
    if (b.lacpRate) bond.lacpRate = b.lacpRate;
    addressing(bond);
    docs.push(bond);
  } else if (m.interface !== undefined) {
    if (typeof m.interface === 'string') linkName = m.interface;
    else {
      linkName = SELECTED_LINK_ALIAS;
      docs.push({ apiVersion: 'v1alpha1', kind: 'LinkAliasConfig', name: linkName, selector: { match: selectorToCel(m.interface) } });
    }
    const link: Doc = { apiVersion: 'v1alpha1', kind: 'LinkConfig', name: linkName, up: true };
    addressing(link);
    docs.push(link);
  }
  if (linkName && !m.address) docs.push({ apiVersion: 'v1alpha1', kind: 'DHCPv4Config', name: linkName });
  if (useVip && linkName) docs.push({ apiVersion: 'v1alpha1', kind: 'Layer2VIPConfig', name: vip, link: linkName });
  if (m.nameservers?.length) docs.push({ apiVersion: 'v1alpha1', kind: 'ResolverConfig', nameservers: m.nameservers.map((address) => ({ address })) });
  return { kind: 'strategic', docs };
}

/** The address of a machine without its prefix length. */
export function machineIp(m: Machine): string | undefined {
  if (!m.address) return undefined;
  const c = parseCidr(m.address);
  return c ? m.address.split('/')[0] : undefined;
}
