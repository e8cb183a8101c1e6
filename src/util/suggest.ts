// "Did you mean" suggestions: the closest known name by edit distance, when close enough.
import { distance } from 'fastest-levenshtein';

export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = word.toLowerCase();
  for (const candidate of candidates) {
    const d = distance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  // Allow one typo per three characters, and two (a swapped pair) from four up.
  const longest = Math.max(word.length, best.length);
  const allowed = longest <= 3 ? 1 : Math.max(2, Math.floor(longest / 3));
  return bestDistance <= allowed ? best : undefined;
}

export function didYouMean(word: string, candidates: Iterable<string>, quote = true): string {
  const match = closest(word, candidates);
  if (match === undefined) return '';
  return quote ? ` — did you mean "${match}"?` : ` — did you mean ${match}?`;
}
