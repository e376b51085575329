/**
 * A cap on V8's young generation for a build (docs/bench.md, "files100k"). A build that streams 100,000 small
 * entries allocates fast and keeps much of it alive for a while, so V8 keeps doubling its new space, up to
 * 128 MiB here, and a 100,000-file build peaked at 330–370 MiB. `node --max-semi-space-size=8` caps that, but a
 * running process cannot set it (it is read once, when the heap is made) and npm's bin links pass no Node
 * flags. The growth step is read each time the new space grows, though: once the new space reaches the cap,
 * setting the growth factor to 1 stops it there (or a growth step or two further: the watch looks between
 * timer ticks). Measured on the warm `files100k` build, interleaved runs:
 * 225–239 MiB peak with a 16 MiB cap, 245–258 MiB with 32 MiB, 334 MiB without, at the same speed (4.5–5.7 s
 * each, the spread being the machine's load).
 *
 * If a later Node refuses runtime V8 flags, nothing is capped and nothing fails.
 */

/** Default cap: 16 MiB of new space (two 8 MiB semi-spaces, as `--max-semi-space-size=8`). */
export const NEW_SPACE_CAP = 16 << 20;

/**
 * Watches the new space (every `everyMs`, on an unref'd timer: it never keeps the process alive) and stops its
 * growth once it reaches `capBytes`; the watch ends there.
 */
export function capYoungGeneration(capBytes = NEW_SPACE_CAP, everyMs = 10): void {
  const v8 = process.getBuiltinModule('node:v8');
  const check = (): boolean => {
    const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    if (space === undefined || space.space_size < capBytes) return false;
    try {
      v8.setFlagsFromString('--semi-space-growth-factor=1');
    } catch {
      // flags frozen: leave V8's own sizing
    }
    return true;
  };
  if (check()) return;
  const timer = setInterval(() => {
    if (check()) clearInterval(timer);
  }, everyMs);
  timer.unref();
}
