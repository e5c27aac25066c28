/** "Did you mean" hints for misspelt keys and names. Pure. */

/** Levenshtein distance between two strings (case-sensitive). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The candidate closest to `input` (case-insensitive), if it is close enough to be a likely typo:
 * at most a third of the longer word's letters differ (at least 1, at most 3), or one is a prefix of
 * the other. Null otherwise.
 */
export function closestMatch(input: string, candidates: readonly string[]): string | null {
  const lowered = input.toLowerCase();
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const target = candidate.toLowerCase();
    // A longer or shorter spelling of a key (`maximum` for `max`) counts as close.
    const prefix =
      lowered.length >= 3 && (lowered.startsWith(target) || target.startsWith(lowered));
    const distance = prefix ? 1 : editDistance(lowered, target);
    const allowed = Math.min(
      3,
      Math.max(1, Math.floor(Math.max(input.length, candidate.length) / 3)),
    );
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** ` (did you mean "x"?)` when a candidate is close enough to `input` to be a typo, else `''`. */
export function didYouMean(input: string, candidates: readonly string[]): string {
  const hint = closestMatch(input, candidates);
  return hint === null ? '' : ` (did you mean "${hint}"?)`;
}

/** Names for a message: `a, b, c`, at most `max` of them then `and N more`; `none` when empty. */
export function listNames(names: readonly string[], max = 20): string {
  if (names.length === 0) return 'none';
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}
