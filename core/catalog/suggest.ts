/** Levenshtein edit distance; small inputs only (catalog ids). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = prev[j]!;
      prev[j] = Math.min(above + 1, prev[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return prev[b.length]!;
}

/**
 * The catalog ids closest to what the user typed, best first. Ids that contain the
 * typed text (or the reverse) rank ahead of mere edit-distance neighbours, so `4090`
 * suggests `rtx-4090` first.
 */
export function nearestIds(typed: string, ids: readonly string[], count = 3): string[] {
  const needle = typed.trim().toLowerCase();
  return [...ids]
    .map((id) => {
      const contains = id.includes(needle) || (needle.length > 0 && needle.includes(id));
      return { id, score: editDistance(needle, id) - (contains ? 100 : 0) };
    })
    .sort((x, y) => x.score - y.score || x.id.localeCompare(y.id))
    .slice(0, count)
    .map((x) => x.id);
}
