import { z } from 'zod';
import { cidr, dnsLabel, hostname, ip, mac, patch } from './common.js';

/** Talos installDiskSelector fields (v1alpha1 InstallDiskSelector). */
export const diskSelectorSchema = z
  .strictObject({
    size: z.string().min(1).optional().describe('Disk size, exact (4GB) or a comparison (">= 1TB").'),
    name: z.string().min(1).optional(),
    model: z.string().min(1).optional().describe('Disk model; glob patterns allowed.'),
    serial: z.string().min(1).optional(),
    modalias: z.string().min(1).optional(),
    uuid: z.string().min(1).optional(),
    wwid: z.string().min(1).optional(),
    type: z.enum(['ssd', 'hdd', 'nvme', 'sd']).optional(),
    busPath: z.string().min(1).optional().describe('Bus path; glob patterns allowed.'),
  })
  .refine((s) => Object.keys(s).length > 0, { message: 'needs at least one field' })
  .describe('Pick the install disk by its properties instead of its path.');

/** Talos deviceSelector fields. */
export const deviceSelectorSchema = z
  .strictObject({
    hardwareAddr: z.string().min(1).optional().describe('MAC address; glob patterns allowed.'),
    permanentAddr: z.string().min(1).optional(),
    busPath: z.string().min(1).optional(),
    pciID: z.string().min(1).optional(),
    driver: z.string().min(1).optional(),
    physical: z.boolean().optional(),
  })
  .refine((s) => Object.keys(s).length > 0, { message: 'needs at least one field' });

export const bondSchema = z
  .strictObject({
    interfaces: z.array(z.string().min(1)).min(1).describe('Member link names.'),
    mode: z
      .enum(['balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb'])
      .default('802.3ad'),
    lacpRate: z.enum(['slow', 'fast']).optional(),
    xmitHashPolicy: z.enum(['layer2', 'layer3+4', 'layer2+3', 'encap2+3', 'encap3+4']).optional(),
    miimon: z.number().int().min(0).optional(),
    updelay: z.number().int().min(0).optional(),
    downdelay: z.number().int().min(0).optional(),
    name: z.string().min(1).default('bond0').describe('Name of the bond link.'),
  })
  .describe('Bond the given links into one.');

export const machineSchema = z
  .strictObject({
    name: dnsLabel.describe('Machine name; file names and default hostname.'),
    role: z.enum(['controlplane', 'worker']).describe('controlplane or worker.'),
    mac: mac.optional().describe('MAC address of the boot interface; netboot hands out fixed addresses by it.'),
    uuid: z.string().regex(/^[0-9a-fA-F-]{32,36}$/, { message: 'must be an SMBIOS UUID' }).optional(),
    hostname: hostname.optional().describe('Default: the machine name.'),
    address: cidr.optional().describe('Static address with prefix length, like 192.0.2.11/24.'),
    gateway: ip.optional().describe('Default route.'),
    nameservers: z.array(ip).optional(),
    installDisk: z.string().regex(/^\/dev\/\S+$/, { message: 'must be a device path like /dev/sda' }).optional(),
    diskSelector: diskSelectorSchema.optional(),
    interface: z.union([z.string().min(1), deviceSelectorSchema]).optional().describe('Link name (eth0) or a device selector.'),
    bond: bondSchema.optional(),
    patches: z.array(patch).default([]).describe('Talos config patches for this machine only.'),
  })
  .describe('One server.');
