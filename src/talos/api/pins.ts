/**
 * Trust on first use for maintenance-mode nodes: their certificate is self-signed, so the SHA-256 of
 * its SubjectPublicKeyInfo is recorded the first time a node is seen and required on every later
 * connection. The file store keeps pins in a JSON file (0600, written atomically).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../common/fs.js';
import { OperationError } from '../../common/errors.js';

/** Where pins live. Keys are node addresses as dialled (e.g. "192.0.2.10"). */
export interface PinStore {
  get(node: string): Promise<string | undefined>;
  set(node: string, fingerprint: string): Promise<void>;
  forget(node: string): Promise<void>;
}

/** Base64 SHA-256 of the certificate's SubjectPublicKeyInfo (DER), the HPKP/curl pin format. */
export function spkiFingerprint(certDer: Buffer): string {
  const spki = new X509Certificate(certDer).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** Pins kept in memory (tests, one-shot commands). */
export class MemoryPinStore implements PinStore {
  private readonly pins = new Map<string, string>();
  async get(node: string): Promise<string | undefined> {
    return this.pins.get(node);
  }
  async set(node: string, fingerprint: string): Promise<void> {
    this.pins.set(node, fingerprint);
  }
  async forget(node: string): Promise<void> {
    this.pins.delete(node);
  }
}

interface PinFile {
  version: 1;
  pins: Record<string, { sha256: string; firstSeen: string }>;
}

/** Pins in `<dir>/talos-pins.json`; updates within one process are serialised. */
export class FilePinStore implements PinStore {
  readonly file: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(stateDir: string, private readonly now: () => Date = () => new Date()) {
    this.file = path.join(stateDir, 'talos-pins.json');
  }

  private async read(): Promise<PinFile> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, pins: {} };
      throw err;
    }
    const data = JSON.parse(text) as Partial<PinFile>;
    if (data?.version !== 1 || typeof data.pins !== 'object' || data.pins === null) {
      throw new OperationError(`${this.file} is not a hearth pin file`);
    }
    return data as PinFile;
  }

  private update(change: (f: PinFile) => void): Promise<void> {
    const run = this.queue.then(async () => {
      const f = await this.read();
      change(f);
      await writeFileAtomic(this.file, JSON.stringify(f, null, 2) + '\n', { mode: 0o600 });
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async get(node: string): Promise<string | undefined> {
    await this.queue;
    return (await this.read()).pins[node]?.sha256;
  }

  set(node: string, fingerprint: string): Promise<void> {
    return this.update((f) => {
      f.pins[node] = { sha256: fingerprint, firstSeen: this.now().toISOString() };
    });
  }

  forget(node: string): Promise<void> {
    return this.update((f) => {
      delete f.pins[node];
    });
  }
}
