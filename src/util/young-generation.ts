/**
 * A cap on V8's young generation for a build (docs/bench.md, "files100k"). A build that streams 100,000 small
 * entries allocates fast and keeps much of it alive for a while, so V8 keeps doubling its new space, up to
 * 128 MiB here, and a 100,000-file build peaked at 330–370 MiB. `node --max-semi-space-size=16` caps that, but a
 * running process cannot set it (it is read once, when the heap is made) and npm's bin links pass no Node
 * flags. The growth step is read each time the new space grows, though: once the new space reaches the cap,
 * setting the growth factor to 1 stops it there. Measured on the `files100k` build: 250 MiB peak instead of
 * 347 MiB, 4.6 s instead of 4.8 s (scavenges of a smaller new space are cheaper); a 16 MiB cap gave 230 MiB
 * and 4.9 s.
 *
 * If a later Node refuses runtime V8 flags, nothing is capped and nothing fails.
 */

/** Default cap: 32 MiB of new space (two 16 MiB semi-spaces). */
export const NEW_SPACE_CAP = 32 << 20;

/**
 * Starts watching the new space (every `everyMs`, on an unref'd timer: it never keeps the process alive) and
 * stops its growth once it reaches `capBytes`; returns a function that stops watching.
 */
export function capYoungGeneration(capBytes = NEW_SPACE_CAP, everyMs = 10): () => void {
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
  if (check()) return () => {};
  const timer = setInterval(() => {
    if (check()) clearInterval(timer);
  }, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
  };
}
