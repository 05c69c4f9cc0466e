/**
 * Line diffs for plan reviews: a unified diff of two texts (Myers' O(ND) algorithm on lines,
 * with the common head and tail trimmed first), and of two sets of rendered files.
 */

type Edit = { readonly op: " " | "-" | "+"; readonly line: string };

/**
 * Beyond this many differing lines the shortest edit script is not searched for: the changed
 * middle is shown as removed, then added (the trace kept for the backtrack grows with its square).
 */
const MAX_EDIT_DISTANCE = 2000;

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** Myers' greedy shortest edit script between `a` and `b` (already trimmed), or null when it exceeds the bound. */
function myers(a: readonly string[], b: readonly string[]): Edit[] | null {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, MAX_EDIT_DISTANCE);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    // The frontier after d - 1 steps, for diagonals -d..d (all the backtrack reads at step d).
    trace.push(v.slice(offset - d, offset + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(a, b, trace, d);
    }
  }
  return null;
}

function backtrack(a: readonly string[], b: readonly string[], trace: readonly Int32Array[], dEnd: number): Edit[] {
  const edits: Edit[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = dEnd; d > 0; d--) {
    const frontier = trace[d]!;
    const at = (k: number) => frontier[k + d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) edits.push({ op: " ", line: a[--x]! }), y--;
    if (x === prevX) edits.push({ op: "+", line: b[--y]! });
    else edits.push({ op: "-", line: a[--x]! });
  }
  while (x > 0 && y > 0) edits.push({ op: " ", line: a[--x]! }), y--;
  return edits.reverse();
}

/** Every line of `a` and `b` as kept, removed or added. */
export function lineEdits(a: readonly string[], b: readonly string[]): Edit[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const middle = myers(midA, midB) ?? [...midA.map((line) => ({ op: "-" as const, line })), ...midB.map((line) => ({ op: "+" as const, line }))];
  return [
    ...a.slice(0, head).map((line) => ({ op: " " as const, line })),
    ...middle,
    ...a.slice(a.length - tail).map((line) => ({ op: " " as const, line })),
  ];
}

/** `git diff`-style unified diff of two texts; "" when they are equal. */
export function unifiedDiff(before: string, after: string, beforeName: string, afterName: string, context = 3): string {
  if (before === after) return "";
  const edits = lineEdits(splitLines(before), splitLines(after));
  const changed = edits.map((e, i) => (e.op === " " ? -1 : i)).filter((i) => i >= 0);
  const hunks: [number, number][] = [];
  for (const i of changed) {
    const last = hunks[hunks.length - 1];
    if (last && i - context <= last[1] + context) last[1] = i;
    else hunks.push([i, i]);
  }
  const out = [`--- ${beforeName}`, `+++ ${afterName}`];
  for (const [first, lastChange] of hunks) {
    const from = Math.max(0, first - context);
    const to = Math.min(edits.length - 1, lastChange + context);
    // Line numbers where the hunk starts, in each file.
    let aLine = 1;
    let bLine = 1;
    for (let i = 0; i < from; i++) {
      if (edits[i]!.op !== "+") aLine++;
      if (edits[i]!.op !== "-") bLine++;
    }
    const slice = edits.slice(from, to + 1);
    const aCount = slice.filter((e) => e.op !== "+").length;
    const bCount = slice.filter((e) => e.op !== "-").length;
    out.push(`@@ -${aCount === 0 ? aLine - 1 : aLine},${aCount} +${bCount === 0 ? bLine - 1 : bLine},${bCount} @@`);
    for (const e of slice) out.push(`${e.op}${e.line}`);
  }
  if (!before.endsWith("\n") && before !== "") out.push("\\ No newline at end of the old file");
  if (!after.endsWith("\n") && after !== "") out.push("\\ No newline at end of the new file");
  return `${out.join("\n")}\n`;
}

export interface FileChange {
  readonly path: string;
  readonly kind: "added" | "removed" | "changed";
  /** Lines added and removed. */
  readonly added: number;
  readonly removed: number;
}

export interface FilesDiff {
  readonly changes: readonly FileChange[];
  /** Unified diffs of every changed file, in path order. */
  readonly text: string;
}

/** Diffs two sets of rendered files (path -> content). */
export function diffFiles(before: Readonly<Record<string, string>>, after: Readonly<Record<string, string>>): FilesDiff {
  const paths = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const changes: FileChange[] = [];
  const parts: string[] = [];
  for (const p of paths) {
    const a = before[p];
    const b = after[p];
    if (a === b) continue;
    const text = unifiedDiff(a ?? "", b ?? "", a === undefined ? "/dev/null" : `a/${p}`, b === undefined ? "/dev/null" : `b/${p}`);
    const lines = text.split("\n");
    changes.push({
      path: p,
      kind: a === undefined ? "added" : b === undefined ? "removed" : "changed",
      added: lines.filter((l) => l.startsWith("+") && !l.startsWith("+++ ")).length,
      removed: lines.filter((l) => l.startsWith("-") && !l.startsWith("--- ")).length,
    });
    parts.push(text);
  }
  return { changes, text: parts.join("") };
}
