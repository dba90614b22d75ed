/**
 * The TLS side of a Talos API connection, plugged into grpc-js as channel credentials so every
 * connection (including reconnects) is checked before a single request byte is sent:
 * - maintenance: no client certificate; the node's self-signed certificate is pinned on first use
 *   (SPKI SHA-256 in a PinStore) and a different key is refused with TalosPinMismatchError;
 * - configured: mutual TLS with a talosconfig identity; the node's certificate must chain to the
 *   os CA and name the dialled address (Talos server certificates carry IP SANs).
 */
import net from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { parsePrivateKey } from '../pki.js';
import { TalosTlsError } from './errors.js';
import { type PinStore, spkiFingerprint } from './pins.js';
import { TalosPinMismatchError } from './errors.js';

export type TalosTlsMode =
  | { mode: 'maintenance'; pins: PinStore }
  /** PEM text: the os CA and a client certificate (talosconfig `ca`, `crt`, `key`, decoded). */
  | { mode: 'configured'; ca: string; crt: string; key: string };

type SecureConnector = ReturnType<grpc.ChannelCredentials['_createSecureConnector']>;

/**
 * grpc-js credentials doing the checks above. `onRefused` receives the typed reason a connection
 * was dropped, so the caller can report it instead of gRPC's generic UNAVAILABLE.
 */
export class TalosChannelCredentials extends grpc.ChannelCredentials {
  private readonly key?: string;
  /** A first-seen maintenance certificate, pinned once the node has answered a call (see confirm). */
  private firstSeen?: string;

  constructor(
    private readonly host: string,
    private readonly auth: TalosTlsMode,
    private readonly onRefused: (err: Error) => void,
    private readonly handshakeTimeoutMs = 10_000,
  ) {
    super();
    // talosctl writes Ed25519 keys under a label OpenSSL does not read; hand Node plain PKCS#8.
    if (auth.mode === 'configured') this.key = parsePrivateKey(auth.key).export({ type: 'pkcs8', format: 'pem' }) as string;
  }

  /**
   * Records a first-seen pin. Called after a successful reply, so a configured node (which accepts
   * the handshake and then refuses a client without a certificate) never gets a maintenance pin.
   */
  async confirm(): Promise<void> {
    const seen = this.firstSeen;
    if (this.auth.mode !== 'maintenance' || seen === undefined) return;
    this.firstSeen = undefined;
    if ((await this.auth.pins.get(this.host)) === undefined) await this.auth.pins.set(this.host, seen);
  }

  _isSecure(): boolean {
    return true;
  }

  _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(_target: unknown, _options: unknown, callCredentials?: grpc.CallCredentials): SecureConnector {
    return {
      connect: (socket: net.Socket) => this.connect(socket),
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => callCredentials ?? grpc.CallCredentials.createEmpty(),
      destroy: () => undefined,
    };
  }

  private options(socket: net.Socket): tls.ConnectionOptions {
    const opts: tls.ConnectionOptions = { socket, ALPNProtocols: ['h2'], minVersion: 'TLSv1.2' };
    // SNI must not carry an IP address (RFC 6066); Talos nodes are nearly always dialled by IP.
    if (!net.isIP(this.host)) opts.servername = this.host;
    if (this.auth.mode === 'maintenance') {
      opts.rejectUnauthorized = false;
    } else {
      opts.ca = this.auth.ca;
      opts.cert = this.auth.crt;
      opts.key = this.key;
      opts.rejectUnauthorized = true;
      opts.checkServerIdentity = (_name, cert) => tls.checkServerIdentity(this.host, cert);
    }
    return opts;
  }

  private connect(socket: net.Socket): Promise<{ socket: net.Socket; secure: boolean }> {
    return new Promise((resolve, reject) => {
      const refuse = (err: Error): void => {
        this.onRefused(err);
        tlsSocket.destroy();
        reject(err);
      };
      const tlsSocket = tls.connect(this.options(socket), () => {
        if (this.auth.mode === 'configured') {
          if (!tlsSocket.authorized) refuse(new TalosTlsError(this.host, 'TLS', `certificate not trusted: ${String(tlsSocket.authorizationError)}`));
          else resolve({ socket: tlsSocket, secure: true });
          return;
        }
        const pins = this.auth.pins;
        const raw = tlsSocket.getPeerCertificate().raw;
        if (!raw) return refuse(new TalosTlsError(this.host, 'TLS', 'presented no certificate'));
        const presented = spkiFingerprint(raw);
        pins
          .get(this.host)
          .then((pinned) => {
            if (pinned === undefined) this.firstSeen = presented;
            else if (pinned !== presented) return refuse(new TalosPinMismatchError(this.host, pinned, presented));
            resolve({ socket: tlsSocket, secure: true });
          })
          .catch((err: unknown) => refuse(err instanceof Error ? err : new Error(String(err))));
      });
      // a peer that accepts TCP but never completes TLS must not hold the connection attempt forever
      tlsSocket.setTimeout(this.handshakeTimeoutMs, () => tlsSocket.destroy(new Error(`TLS handshake not finished within ${this.handshakeTimeoutMs} ms`)));
      tlsSocket.once('secureConnect', () => tlsSocket.setTimeout(0));
      tlsSocket.on('error', (err) => {
        if (this.auth.mode === 'configured' && /certificate|self.signed|altnames|SSL/i.test(err.message)) {
          this.onRefused(new TalosTlsError(this.host, 'TLS', err.message));
        }
        reject(err);
      });
    });
  }
}
