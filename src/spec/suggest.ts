/** "Did you mean …" suggestions by edit distance (optimal string alignment: a swap costs 1, so imgae → image). */

export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The closest candidate when it is close enough to be a typo (distance ≤ `maxRatio` (default 1/3) of the longer
 * word, at least 1, and less than the shorter word's length; case differences count as nothing), else
 * undefined. Ties go to the first candidate. A looser ratio (1/2) suits short closed lists such as format names,
 * where `iso-foo` should still point at `iso-bios`.
 */
export function closest(word: string, candidates: Iterable<string>, maxRatio = 1 / 3): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word.toLowerCase(), c.toLowerCase());
    if (dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(Math.max(word.length, best.length) * maxRatio));
  // A suggestion must keep part of the word: "7" → "a" is no typo.
  return bestDistance <= limit && bestDistance < Math.min(word.length, best.length) ? best : undefined;
}

/** ` (did you mean "x"?)` or `''`; `maxRatio` as for `closest`. */
export function didYouMean(word: string, candidates: Iterable<string>, maxRatio?: number): string {
  const best = closest(word, candidates, maxRatio);
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}
