/**
 * The TFTP server's one port to the file system: which file a requested name is. The default
 * serves a root directory plus a few names mapped to files elsewhere (the iPXE binaries), each
 * through the shared path jail.
 */
import path from 'node:path';
import { Jail, type JailResult } from '../jail.js';

export interface TftpFiles {
  /** The file behind a (separator-normalised) requested name, or why it is refused. */
  resolve(name: string): Promise<JailResult>;
}

/** Files under `root`, and `extra` names mapped to files jailed in their own directories. */
export async function jailedFiles(root: string, extra: Readonly<Record<string, string>>): Promise<TftpFiles> {
  const rootJail = await Jail.at(root);
  const mapped = new Map<string, { jail: Jail; base: string }>();
  for (const [name, file] of Object.entries(extra)) mapped.set(name, { jail: await Jail.at(path.dirname(file)), base: path.basename(file) });
  return {
    resolve(name) {
      const m = mapped.get(name);
      return m ? m.jail.resolve(m.base) : rootJail.resolve(name);
    },
  };
}
