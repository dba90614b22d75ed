/**
 * A read-only TFTP server (RFC 1350 + RFC 2347/2348/2349/7440) for the iPXE binaries and the boot
 * assets. Each transfer gets its own socket on an ephemeral port; the main socket only takes
 * requests. Paths are jailed (../jail.ts): requests naming `..`, absolute paths or symlinks that
 * resolve outside the root are refused. Malformed packets are counted in metrics and dropped,
 * never thrown.
 *
 *   config.ts    the options, and the complete config the server is built from
 *   server.ts    the loop: request socket, transfer table, shutdown (startTftp)
 *   request.ts   pure protocol decisions: refusals, option negotiation, window ACKs
 *   slots.ts     the transfer table's caps (total, per address) and who gives way (pure)
 *   notices.ts   rate-limited log lines when a limit bites
 *   transfer.ts  one transfer: its socket, window, retransmissions, stall cap, bounded read-ahead
 *   files.ts     the port to the file system (name -> jailed file)
 *   cache.ts     served files kept in memory
 *   packet.ts    the wire format
 */
export { startTftp, type TftpServer } from './server.js';
export type { TftpServerOptions } from './config.js';
export type { TftpFiles } from './files.js';
