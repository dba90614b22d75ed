/**
 * A block of lines redrawn in place on a terminal (stderr), for commands that follow many things at
 * once: `netboot serve` (one line per machine booting) and `bootstrap` (one line per machine being
 * configured). Lines are cut to the terminal's width, since a wrapped line would break the redraw.
 * Used only when stderr is a terminal; elsewhere the commands print log lines.
 */
export class LiveView {
  private drawn = 0;
  private dirty = true;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  /**
   * @param frame   the lines to show now
   * @param ticking redraw on every interval even when nothing was invalidated (elapsed times that grow)
   */
  constructor(
    private readonly frame: () => string[],
    private readonly ticking = false,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Draws now, then every `everyMs` while something changed (or always, when ticking). */
  start(everyMs = 250): this {
    this.draw();
    this.timer = setInterval(() => {
      if (this.dirty || this.ticking) this.draw();
    }, everyMs);
    this.timer.unref();
    return this;
  }

  /** Something changed: redraw at the next interval. */
  invalidate(): void {
    this.dirty = true;
  }

  /** Stops redrawing, leaving the last frame (drawn once more, current) on the screen. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.draw();
  }

  private draw(): void {
    this.dirty = false;
    const width = this.stream.columns || 200;
    const lines = this.frame().map((l) => l.slice(0, width));
    let s = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    s += lines.map((l) => `\x1b[2K${l}\n`).join('');
    // a shorter frame than the last: clear what is left of the old one below it
    for (let i = lines.length; i < this.drawn; i++) s += '\x1b[2K\n';
    if (this.drawn > lines.length) s += `\x1b[${this.drawn - lines.length}A`;
    this.stream.write(s);
    this.drawn = lines.length;
  }
}
