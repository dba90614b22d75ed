/**
 * When the start's background work may begin: once DHCP has answered its first client. The HTTP
 * warm-up (http/warm.ts) compiles the download path on the main thread; started while the first
 * DISCOVERs wait, it would compete with their answer, which `netboot serve` owes within 0.3 s of
 * its start (issue 11). A PXE client's first HTTP request comes seconds after its first OFFER
 * (TFTP, iPXE, DHCP again), so warming after that answer still warms before it is needed.
 */
import type { BootEventKind } from './events.js';
import type { ProgressTracker } from './progress/index.js';

/** The events of a DHCP answer sent to a client. */
const ANSWERS: ReadonlySet<BootEventKind> = new Set(['dhcp-offer', 'dhcp-ack']);

/** A wait for the first DHCP answer. */
export interface FirstAnswer {
  /** True once the first answer is out or `ms` passed without one; false when cancelled first. */
  readonly done: Promise<boolean>;
  /** Ends the wait (a server closing; its timer would otherwise hold the process up to `ms`): `done` resolves false, if it has not resolved yet. */
  cancel(): void;
}

/**
 * Waits for the first OFFER or ACK `progress` sees, at most `ms`. A DHCP event is reported before
 * its reply, which the server sends at the end of the microtask queue (dhcp/server.ts), so `done`
 * resolves a macrotask later (setImmediate): after the reply has gone out.
 */
export function firstDhcpAnswer(progress: ProgressTracker, ms: number): FirstAnswer {
  let finish: (answered: boolean) => void = () => undefined;
  const done = new Promise<boolean>((resolve) => {
    let settled = false;
    finish = (answered) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unsubscribe();
      resolve(answered);
    };
    const timer = setTimeout(() => finish(true), ms);
    const unsubscribe = progress.onChange((_m, e) => {
      if (ANSWERS.has(e.kind)) setImmediate(() => finish(true));
    });
  });
  return { done, cancel: () => finish(false) };
}
