import { z } from 'zod';
import { isMac, parseCidr, parseIp } from '../net.js';

/** Reusable field types. Each carries its own message, shown as `FILE:LINE:COL path: message`. */

export const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {
    message: 'must be a DNS label: lower-case letters, digits and "-", 1 to 63 characters, starting and ending with a letter or digit',
  });

export const hostname = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, {
    message: 'must be a host name: dot-separated DNS labels (lower-case letters, digits, "-")',
  });

export const ip = z.string().refine((s) => parseIp(s) !== undefined, { message: 'must be an IP address' });
export const ipv4 = z.string().refine((s) => parseIp(s)?.family === 4, { message: 'must be an IPv4 address' });

export const cidr = z.string().refine((s) => parseCidr(s) !== undefined, {
  message: 'must be an address with a prefix length, like 192.0.2.0/24',
});

export const mac = z.string().refine(isMac, { message: 'must be a MAC address like 52:54:00:12:34:56' });

export function url(protocols: string[]) {
  return z.string().refine(
    (s) => {
      try {
        const u = new URL(s);
        return protocols.includes(u.protocol.replace(/:$/, '')) && u.hostname !== '';
      } catch {
        return false;
      }
    },
    { message: `must be a URL (${protocols.join(' or ')}://host...)` },
  );
}

const DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

/** Go-style durations: 30s, 5m, 1h, 1h30m. */
export const duration = z.string().regex(DURATION, { message: 'must be a duration like 30s, 5m, 1h or 1h30m' });

/** True for the durations `duration` accepts (for flags, which zod does not see). */
export function isDuration(text: string): boolean {
  return DURATION.test(text);
}

export function parseDuration(text: string): number {
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    const n = Number(m[1]);
    ms += n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  }
  return ms;
}

/**
 * A config patch: a file path (relative to hearth.yaml; a leading @ is accepted as talosctl does),
 * inline YAML text, an inline strategic-merge object, or an inline RFC 6902 operation list.
 */
export const patch = z.union([
  z.string().min(1),
  z.record(z.string(), z.unknown()),
  z.array(z.record(z.string(), z.unknown())),
]);

/** An OCI image reference: registry/repo[:tag][@digest]. */
export const imageRef = z
  .string()
  .regex(/^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/, {
    message: 'must be an image reference like ghcr.io/siderolabs/zfs:2.1.14-v1.6.4',
  });
