/**
 * Watches a serial console for markers. Markers are plain substrings of the raw stream (firmware escape
 * sequences and `\r` make line anchoring unreliable, docs/boot.md#console-markers); a marker split across two chunks is
 * still found.
 */
export interface MarkerState {
  /** Seconds since the watch started at which each `until` marker first appeared. */
  seen: Map<string, number>;
  /** The first `fail` marker that appeared, if any. */
  failed: string | undefined;
}

export class ConsoleWatch {
  readonly until: readonly string[];
  readonly fail: readonly string[];
  readonly state: MarkerState = { seen: new Map(), failed: undefined };
  private text = '';
  private scanned = 0;

  constructor(until: readonly string[], fail: readonly string[]) {
    this.until = until;
    this.fail = fail;
  }

  /** Appends console bytes (decoded as latin1 so no byte is lost) and updates the marker state. */
  push(chunk: Buffer, seconds: number): void {
    this.text += chunk.toString('latin1');
    const longest = Math.max(0, ...this.until.map((m) => m.length), ...this.fail.map((m) => m.length));
    const from = Math.max(0, this.scanned - longest);
    const window = this.text.slice(from);
    for (const m of this.until) if (!this.state.seen.has(m) && window.includes(m)) this.state.seen.set(m, seconds);
    if (this.state.failed === undefined) this.state.failed = this.fail.find((m) => window.includes(m));
    this.scanned = this.text.length;
  }

  /** True once every `until` marker appeared (false when there are none). */
  get complete(): boolean {
    return this.until.length > 0 && this.until.every((m) => this.state.seen.has(m));
  }

  get console(): string {
    return this.text;
  }
}

/** The last `lines` lines of a console capture, without `\r` and terminal escape sequences. */
export function consoleTail(text: string, lines = 30): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc/g, '').replace(/\r/g, '');
  return clean.split('\n').slice(-lines).join('\n');
}
