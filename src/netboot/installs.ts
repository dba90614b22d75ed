/**
 * Installed marks: the machines hearth has seen installed (config fetched and the node running, or
 * `hearth bootstrap` done). A marked machine's iPXE script boots its local disk instead of the
 * installer, so a server that network-boots first does not loop through the installer again.
 *
 * Kept in STATE_DIR/installed.json (atomic writes). The file is read again whenever it changes on
 * disk, so `hearth netboot reinstall NAME` takes effect on a running server without a restart.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../common/errors.js';
import { writeFileAtomic } from '../common/fs.js';
import { normalizeMac } from '../spec/net.js';

export const INSTALLS_FILE = 'installed.json';

export interface InstallMark {
  /** Lower-case colon MAC. */
  mac: string;
  /** machines[].name when known at the time of marking. */
  name?: string;
  /** ISO time the mark was set. */
  at: string;
}

interface FileShape {
  version: 1;
  machines: InstallMark[];
}

/** What identifies the file's content on disk: changes when another process rewrites it. */
function stamp(file: string): string | undefined {
  try {
    const st = statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function parse(file: string, text: string): Map<string, InstallMark> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${file} is damaged (${(err as Error).message}); delete it to forget every installed mark`);
  }
  const list = (data as Partial<FileShape> | null)?.machines;
  if (!Array.isArray(list) || !list.every((m) => m && typeof m.mac === 'string' && typeof m.at === 'string')) {
    throw new InputError(`${file} is not an installed-marks file (want {"version":1,"machines":[{"mac","at"}]}); delete it to forget every installed mark`);
  }
  return new Map(list.map((m: InstallMark) => [normalizeMac(m.mac), { ...m, mac: normalizeMac(m.mac) }]));
}

export class InstallMarks {
  readonly file: string;
  private marks = new Map<string, InstallMark>();
  private seen: string | undefined;
  /** Writes one after another, so two marks in a row both land. */
  private queue: Promise<void> = Promise.resolve();

  /** `nameForMac` names the machine in the file (for `hearth netboot reinstall NAME`). */
  constructor(
    stateDir: string,
    private readonly nameForMac: (mac: string) => string | undefined = () => undefined,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.file = path.join(stateDir, INSTALLS_FILE);
    this.reload();
  }

  /** Reads the file again when it changed on disk (InputError when it is damaged). */
  private reload(): void {
    const s = stamp(this.file);
    if (s === this.seen) return;
    this.marks = s === undefined ? new Map() : parse(this.file, readFileSync(this.file, 'utf8'));
    this.seen = s;
  }

  isInstalled(mac: string): boolean {
    try {
      this.reload();
    } catch {
      // A damaged file while serving: keep the marks last read rather than failing the boot script.
    }
    return this.marks.has(normalizeMac(mac));
  }

  list(): InstallMark[] {
    this.reload();
    return [...this.marks.values()];
  }

  /** Marks a machine installed: its next network boot gets the local-boot script. */
  markInstalled(mac: string): Promise<void> {
    const m = normalizeMac(mac);
    return this.change((marks) => {
      if (marks.has(m)) return false;
      const name = this.nameForMac(m);
      marks.set(m, { mac: m, ...(name ? { name } : {}), at: this.now().toISOString() });
      return true;
    });
  }

  /** Clears a machine's mark: its next network boot gets the installer again. */
  rearm(mac: string): Promise<void> {
    const m = normalizeMac(mac);
    return this.change((marks) => marks.delete(m));
  }

  /** Read the file, apply `edit`, write it atomically when `edit` changed something. */
  private change(edit: (marks: Map<string, InstallMark>) => boolean): Promise<void> {
    const next = this.queue.then(async () => {
      this.reload();
      const marks = new Map(this.marks);
      if (!edit(marks)) return;
      const body: FileShape = { version: 1, machines: [...marks.values()].sort((a, b) => (a.mac < b.mac ? -1 : 1)) };
      await writeFileAtomic(this.file, `${JSON.stringify(body, null, 2)}\n`);
      this.marks = marks;
      this.seen = stamp(this.file);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/**
 * After `hearth bootstrap` (its --state is netboot's state directory): marks the named machines
 * that have a MAC installed. Returns the names marked and the file.
 */
export async function markMachinesInstalled(stateDir: string, machines: { name: string; mac?: string }[], names: string[]): Promise<{ names: string[]; file: string }> {
  const byMac = new Map(machines.filter((m) => m.mac).map((m) => [normalizeMac(m.mac!), m.name]));
  const marks = new InstallMarks(stateDir, (mac) => byMac.get(mac));
  const done = machines.filter((m) => m.mac && names.includes(m.name));
  for (const m of done) await marks.markInstalled(m.mac!);
  return { names: done.map((m) => m.name), file: marks.file };
}
