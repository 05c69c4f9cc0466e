/**
 * `npm run bench`: wall time of a cold `plan` of the dev stack (a fresh Node process each
 * run, as a user or CI runs it), median of several runs. Prints numbers; asserts nothing.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const RUNS = Number(process.env["BENCH_RUNS"] ?? 7);
const root = path.join(__dirname, "..");
const tsx = path.join(root, "node_modules", ".bin", "tsx");
const out = mkdtempSync(path.join(tmpdir(), "hi-bench-"));
const times: number[] = [];
try {
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(tsx, [path.join(root, "cli", "plan.ts"), "--stack", "dev", "--out", out], { cwd: root, encoding: "utf8" });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`plan exited ${r.status}: ${r.stderr}`);
    times.push(ms);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
const sorted = [...times].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)]!;
console.log(`cold \`plan --stack dev\` over ${RUNS} runs (node ${process.version}, ${require("node:os").cpus().length} CPUs)`);
console.log(`  median ${median.toFixed(0)} ms   min ${sorted[0]!.toFixed(0)} ms   max ${sorted[sorted.length - 1]!.toFixed(0)} ms`);
