/**
 * The line diff behind `plan --against`: it is a correct and shortest edit script, and its
 * unified diff, applied to the old text, gives the new one.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { diffFiles, lineEdits, unifiedDiff } from "../../core/review/diff";

/** Longest common subsequence length, by dynamic programming (small inputs). */
function lcs(a: readonly string[], b: readonly string[]): number {
  const t = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) t[i]![j] = a[i - 1] === b[j - 1] ? t[i - 1]![j - 1]! + 1 : Math.max(t[i - 1]![j]!, t[i]![j - 1]!);
  return t[a.length]![b.length]!;
}

/** Applies a unified diff to `text`, checking every context and removed line against it. */
function applyPatch(text: string, patch: string): string {
  const old = text === "" ? [] : text.replace(/\n$/, "").split("\n");
  const out: string[] = [];
  let at = 0;
  const lines = patch.split("\n");
  for (let i = 2; i < lines.length; i++) {
    const h = /^@@ -(\d+),(\d+) \+(\d+),(\d+) @@$/.exec(lines[i]!);
    if (!h) continue;
    const start = Number(h[2]) === 0 ? Number(h[1]) : Number(h[1]) - 1;
    while (at < start) out.push(old[at++]!);
    for (i++; i < lines.length && !lines[i]!.startsWith("@@") && lines[i] !== ""; i++) {
      const op = lines[i]![0];
      const line = lines[i]!.slice(1);
      if (op === "+") out.push(line);
      else {
        expect(old[at]).toBe(line);
        if (op === " ") out.push(line);
        at++;
      }
    }
    i--;
  }
  while (at < old.length) out.push(old[at++]!);
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}

const lines = fc.array(fc.constantFrom("a", "b", "c", "d", "model: x", ""), { maxLength: 30 });

describe("line diff", () => {
  it("keeps, removes and adds exactly the lines of both texts, in order, with the fewest changes", () => {
    fc.assert(fc.property(lines, lines, (a, b) => {
      const edits = lineEdits(a, b);
      expect(edits.filter((e) => e.op !== "+").map((e) => e.line)).toEqual(a);
      expect(edits.filter((e) => e.op !== "-").map((e) => e.line)).toEqual(b);
      expect(edits.filter((e) => e.op !== " ").length).toBe(a.length + b.length - 2 * lcs(a, b));
    }), { numRuns: 2000, seed: 17 });
  });

  it("writes a unified diff that turns the old text into the new one", () => {
    fc.assert(fc.property(lines, lines, (a, b) => {
      const before = a.length === 0 ? "" : `${a.join("\n")}\n`;
      const after = b.length === 0 ? "" : `${b.join("\n")}\n`;
      const patch = unifiedDiff(before, after, "a/f", "b/f");
      if (before === after) expect(patch).toBe("");
      else expect(applyPatch(before, patch)).toBe(after);
    }), { numRuns: 2000, seed: 17 });
  });

  it("shows a change with three lines of context, as git does", () => {
    const before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
    const after = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
    expect(unifiedDiff(before, after, "a/x", "b/x")).toBe("--- a/x\n+++ b/x\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
  });

  it("gives up searching past its bound and shows the middle as replaced, still correct", () => {
    const a = Array.from({ length: 5000 }, (_, i) => `old ${i}`);
    const b = Array.from({ length: 5000 }, (_, i) => `new ${i}`);
    const edits = lineEdits(a, b);
    expect(edits.filter((e) => e.op === "-")).toHaveLength(5000);
    expect(edits.filter((e) => e.op === "+")).toHaveLength(5000);
  });

  it("names added, removed and changed files with their line counts", () => {
    const d = diffFiles({ "a.txt": "x\n", "gone.txt": "y\n" }, { "a.txt": "x\nz\n", "new.txt": "n\n" });
    expect(d.changes).toEqual([
      { path: "a.txt", kind: "changed", added: 1, removed: 0 },
      { path: "gone.txt", kind: "removed", added: 0, removed: 1 },
      { path: "new.txt", kind: "added", added: 1, removed: 0 },
    ]);
    expect(d.text).toContain("--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,1 @@\n+n\n");
    expect(d.text).toContain("--- a/gone.txt\n+++ /dev/null\n");
  });
});
