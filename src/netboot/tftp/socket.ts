/**
 * The socket of one TFTP transfer (its transfer ID): bound to the server's address on an
 * ephemeral port, sending to the transfer's peer, and telling a well-formed ACK from that peer
 * (the lock-step hot path: just its block number) from anything else (the whole datagram and its
 * sender). Native (native/tftp_socket.cc: no buffer, address object or event per ACK, one
 * sendmsg per DATA) when the addon is built, else node:dgram with the same behaviour. The native
 * socket can also hand the whole send loop of a file in memory to a native thread (`serve`), which
 * answers each ACK with the next window itself, so JS sees only the final ACK.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIPv4 } from 'node:net';
import { packagePath } from '../../common/package-root.js';
import { OP } from './packet.js';

export interface TransferSocket {
  readonly port: number;
  /** A datagram to the peer. */
  send(pkt: Buffer): void;
  /** A datagram of two pieces (a header and a view of the file) to the peer. */
  sendParts(head: Buffer, body: Buffer): void;
  /** A datagram to someone else (an error to a stray sender). */
  sendTo(pkt: Buffer, address: string, port: number): void;
  /** Closes the socket, after sending `last` to the peer when given. */
  close(last?: Buffer): void;
  /**
   * Native only: from now on a native thread answers the peer's ACKs, sending blocks of `data`
   * (never written while served) from the window at `base`, which it sends now; only the ACK of
   * `lastBlock` reaches `ack` (other datagrams still reach `other`). `lastProgress` (ms) is when the
   * client last moved the transfer on; the thread keeps it from then on.
   */
  serve?(data: Buffer, blksize: number, window: number, lastBlock: number, base: number, lastProgress: number): ServeLoop;
}

/** A file being sent by the native send loop (TransferSocket.serve). */
export interface ServeLoop {
  /** Sends the window at the current base again. */
  resend(): void;
  /** The loop's progress now (once the socket is closed, as it was last). */
  progress(): ServeProgress;
}

/** What the native send loop has done so far; times in ms on Date.now()'s clock. */
export interface ServeProgress {
  /** The first block not yet acknowledged (absolute). */
  readonly base: number;
  /** When the client last moved the transfer on. */
  readonly lastProgress: number;
  /** When the loop last sent a window. */
  readonly lastSend: number;
  /** Duplicate or stray ACKs it ignored. */
  readonly duplicateAcks: number;
  /** Windows it could not send whole (a full send queue). */
  readonly sendErrors: number;
}

/** The native loop's progress record, as sync() fills it (indexes into a Float64Array). */
const STATE = { base: 0, lastProgress: 1, lastSend: 2, duplicateAcks: 3, sendErrors: 4, length: 5 } as const;

export interface TransferHandlers {
  /** A 4-byte ACK from the peer. */
  ack(block: number): void;
  /** Any other datagram, from anyone. */
  other(msg: Buffer, address: string, port: number): void;
  /**
   * Native serving only: datagrams the serving thread had to let go unseen (more than it holds for
   * JS at a time), `foreign` from other senders and `fromPeer` from the peer.
   */
  dropped(foreign: number, fromPeer: number): void;
}

interface NativeTftpSocket {
  readonly port: number;
  peer(address: string, port: number): void;
  start(onAck: (block: number) => void, onOther: (msg: Buffer, address: string, port: number) => void, onDropped: (foreign: number, fromPeer: number) => void): void;
  send(pkt: Buffer): number;
  sendParts(head: Buffer, body: Buffer): number;
  sendTo(pkt: Buffer, address: string, port: number): number;
  serve(data: Buffer, blksize: number, window: number, lastBlock: number, base: number, lastProgress: number): void;
  resend(): number;
  sync(state: Float64Array): void;
  close(): void;
}

let addon: { TftpSocket: new (address: string, sndbuf: number) => NativeTftpSocket } | null | undefined;

function nativeAddon(): typeof addon {
  if (addon !== undefined) return addon;
  const file = packagePath('build', 'Release', 'hearth_sendfile.node');
  try {
    const mod = existsSync(file) ? (createRequire(import.meta.url)(file) as { TftpSocket?: unknown }) : undefined;
    addon = typeof mod?.TftpSocket === 'function' ? (mod as NonNullable<typeof addon>) : null;
  } catch {
    addon = null;
  }
  return addon;
}

/** Whether transfer sockets are native here (the addon is built and loads). */
export function nativeTransferSockets(): boolean {
  return nativeAddon() !== null;
}

/** The JS side of a native send loop that `s` has started. */
function serveLoop(s: NativeTftpSocket): ServeLoop {
  const st = new Float64Array(STATE.length);
  return {
    resend: () => void s.resend(),
    progress: () => {
      s.sync(st);
      return {
        base: st[STATE.base]!,
        lastProgress: st[STATE.lastProgress]!,
        lastSend: st[STATE.lastSend]!,
        duplicateAcks: st[STATE.duplicateAcks]!,
        sendErrors: st[STATE.sendErrors]!,
      };
    },
  };
}

/** Bytes the kernel may queue for sending: a whole window of large blocks. */
const SNDBUF = 1024 * 1024;

/**
 * dgram's lookup for our sockets: peers are always IPv4 literals (from recvmsg), so skip
 * dns.lookup (which validates and defers every send to the next tick) and answer synchronously.
 */
export function literalLookup(address: string, options: dns.LookupOneOptions, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  if (isIPv4(address)) callback(null, address, 4);
  else dns.lookup(address, options, callback);
}

/** Opens the transfer's socket on `address` (port 0), talking to `peer`. `native: false` forces node:dgram. */
export async function openTransferSocket(address: string, peer: { address: string; port: number }, on: TransferHandlers, native = true): Promise<TransferSocket> {
  const mod = native ? nativeAddon() : null;
  if (mod) {
    const s = new mod.TftpSocket(address, SNDBUF);
    s.peer(peer.address, peer.port);
    s.start(on.ack, on.other, on.dropped);
    return {
      port: s.port,
      send: (pkt) => void s.send(pkt),
      sendParts: (head, body) => void s.sendParts(head, body),
      sendTo: (pkt, a, p) => void s.sendTo(pkt, a, p),
      serve: (data, blksize, window, lastBlock, base, lastProgress) => {
        s.serve(data, blksize, window, lastBlock, base, lastProgress);
        return serveLoop(s);
      },
      close: (last) => {
        if (last) s.send(last); // synchronous: in the kernel's queue before the close
        s.close();
      },
    };
  }
  const sock = dgram.createSocket({ type: 'udp4', lookup: literalLookup });
  sock.on('message', (m, r) => {
    if (m.length === 4 && m[0] === 0 && m[1] === OP.ACK && r.port === peer.port && r.address === peer.address) on.ack((m[2]! << 8) | m[3]!);
    else on.other(m, r.address, r.port);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address, port: 0 }, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  sock.on('error', () => undefined);
  try {
    sock.setSendBufferSize(SNDBUF);
  } catch {
    /* best effort */
  }
  return {
    port: sock.address().port,
    send: (pkt) => sock.send(pkt, peer.port, peer.address),
    sendParts: (head, body) => sock.send([head, body], peer.port, peer.address),
    sendTo: (pkt, a, p) => sock.send(pkt, p, a),
    close: (last) => {
      const close = () => {
        try {
          sock.close();
        } catch {
          /* already closed */
        }
      };
      if (last) sock.send(last, peer.port, peer.address, close);
      else close();
    },
  };
}
