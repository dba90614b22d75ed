import { z } from 'zod';
import { parseIp } from '../net.js';
import { duration, hostname, ipv4, mac } from './common.js';

/** The Talos kernel arguments the seed's PXE setup passes. */
export const DEFAULT_KERNEL_ARGS = [
  'talos.platform=metal',
  'console=tty0',
  'console=ttyS0',
  'init_on_alloc=1',
  'slab_nomerge',
  'pti=on',
  'printk.devkmsg=on',
];

const ipv4Range = z.string().refine(
  (s) => {
    const [a, b, ...rest] = s.split('-');
    const lo = a ? parseIp(a.trim()) : undefined;
    const hi = b ? parseIp(b.trim()) : undefined;
    return rest.length === 0 && lo?.family === 4 && hi?.family === 4 && lo.value <= hi.value;
  },
  { message: 'must be an IPv4 range FIRST-LAST with FIRST <= LAST, like 192.0.2.100-192.0.2.200' },
);

export const dhcpSchema = z
  .strictObject({
    mode: z
      .enum(['full', 'proxy', 'off'])
      .default('full')
      .describe('full: hand out addresses; proxy: boot information only, beside the site DHCP server; off: no DHCP.'),
    range: ipv4Range.optional().describe('Dynamic address pool, FIRST-LAST.'),
    router: ipv4.optional(),
    dns: z.array(ipv4).default([]),
    leaseTime: duration.default('1h'),
  })
  .describe('DHCPv4 server settings.');

export const netbootProfileSchema = z
  .strictObject({
    name: z.string().min(1),
    match: z
      .strictObject({
        mac: z.array(mac).optional(),
        uuid: z.array(z.string().min(1)).optional(),
        hostname: z.array(hostname).optional(),
        role: z.array(z.enum(['controlplane', 'worker'])).optional(),
      })
      .default({})
      .describe('Selectors; all given ones must match. An empty match selects every machine.'),
    kernel: z.string().min(1).optional(),
    initrd: z.array(z.string().min(1)).optional(),
    kernelArgs: z.array(z.string().min(1)).optional(),
    extraKernelArgs: z.array(z.string().min(1)).default([]),
    boot: z.boolean().default(true).describe('false: matching machines get no boot script.'),
  })
  .describe('Boot settings for the machines it matches, like a matchbox group.');

export const netbootSchema = z
  .strictObject({
    interface: z.string().min(1).optional().describe('Serve on this interface only.'),
    address: ipv4.optional().describe("Server address on the interface; default: the interface's first IPv4 address."),
    dhcp: dhcpSchema.default({ mode: 'full', dns: [], leaseTime: '1h' }),
    assets: z.string().min(1).default('./assets').describe('Directory with the boot files, relative to hearth.yaml.'),
    kernel: z.string().min(1).default('vmlinuz').describe('Kernel file in assets.'),
    initrd: z.array(z.string().min(1)).default(['initramfs.xz']).describe('Initrd files in assets, in order.'),
    kernelArgs: z.array(z.string().min(1)).default(DEFAULT_KERNEL_ARGS),
    ipxe: z.string().min(1).default('/usr/lib/ipxe').describe('Directory with undionly.kpxe, ipxe.efi and snponly.efi.'),
    httpPort: z.number().int().min(1).max(65535).default(8080),
    tftpPort: z.number().int().min(1).max(65535).default(69),
    chainload: z
      .boolean()
      .default(false)
      .describe("Hand iPXE option ROMs hearth's own iPXE binary over TFTP first, then the script (for old or limited ROMs)."),
    unknownMachines: z
      .enum(['boot', 'ignore'])
      .default('boot')
      .describe('What a machine that is not in machines[] and matches no profile gets.'),
    profiles: z.array(netbootProfileSchema).default([]),
    talosConfig: z
      .boolean()
      .optional()
      .describe(
        "Serve each machine its Talos config over HTTP (talos.config= in its iPXE script), so it installs itself without a maintenance-mode apply. Default: true when the server has the secrets bundle (--secrets, hearth up's --out). false: maintenance mode, then hearth bootstrap.",
      ),
  })
  .describe('Temporary DHCP, TFTP and HTTP/iPXE servers that hand the image to the servers.');
