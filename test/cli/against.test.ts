/**
 * `plan --against <ref>`, end to end in a throwaway git repository holding this checkout's
 * files: the stack at the commit (its code and its stack file) against the work tree. It prints
 * and writes the diff, says which container is replaced, and leaves the work tree, the index and
 * the worktree list as they were.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.join(__dirname, "..", "..");
const work = mkdtempSync(path.join(tmpdir(), "hi-against-test-"));
const repo = path.join(work, "repo");
const out = path.join(work, "out");
afterAll(() => rmSync(work, { recursive: true, force: true }));

function git(...args: string[]): string {
  const r = spawnSync("git", ["-c", "user.name=test", "-c", "user.email=test@example.invalid", ...args], { cwd: repo, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

function plan(...args: string[]) {
  return spawnSync(process.execPath, [require.resolve("tsx/cli"), path.join(repo, "cli", "plan.ts"), "--out", out, ...args], {
    cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"],
  });
}

const leftovers = () => readdirSync(tmpdir()).filter((f) => f.startsWith("hybrid-inference-against-")).length;

beforeAll(() => {
  // This checkout's files (tracked and new, not ignored), committed as the base.
  const files = spawnSync("git", ["ls-files", "-co", "--exclude-standard"], { cwd: root, encoding: "utf8" }).stdout.split("\n").filter((f) => f !== "");
  for (const f of files) {
    if (!existsSync(path.join(root, f))) continue;
    mkdirSync(path.dirname(path.join(repo, f)), { recursive: true });
    copyFileSync(path.join(root, f), path.join(repo, f));
  }
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-qm", "base");
  // After the commit: .gitignore's node_modules/ matches a folder, not this link.
  symlinkSync(path.join(root, "node_modules"), path.join(repo, "node_modules"), "dir");
});

describe("npm run plan -- --against", () => {
  it("diffs the work tree's stack against the commit's and says what that does to the servers", () => {
    const stackFile = path.join(repo, "stacks", "Pulumi.dev.yaml");
    writeFileSync(stackFile, readFileSync(stackFile, "utf8").replace("    port: 4000\n", "    port: 4000\n    num_workers: 4\n"));
    const statusBefore = git("status", "--porcelain");
    const worktreesBefore = git("worktree", "list");
    const before = leftovers();

    const r = plan("--stack", "dev", "--against", "main");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const diff = readFileSync(path.join(out, "dev", "plan.diff"), "utf8");
    expect(r.stdout.endsWith(diff)).toBe(true);
    expect(diff).toMatch(/^hybrid-inference plan diff: stack dev, main \([0-9a-f]{12}\) -> this checkout\n/);
    // Only the command: the engines' admission is one budget shared by all workers (the router
    // extension), so the config does not change with their number.
    expect(diff).toContain("container dev-router is replaced (stopped, then started anew: its command changed)");
    expect(diff).toContain("--port 4000 --num_workers 2 --timeout_worker_healthcheck 60\n+ghcr.io/berriai/litellm:v1.108.7 --config /app/config.yaml --port 4000 --num_workers 4 --timeout_worker_healthcheck 60");
    // Four processes instead of two: each holds half the per-process limit it held.
    const [, was, now] = /-      rpm: (\d+)\n-      tpm: \d+\n\+      rpm: (\d+)/.exec(diff) ?? [];
    expect(Number(now)).toBe(Math.max(1, Math.floor((Number(was) * 2) / 4)));
    const md = readFileSync(path.join(out, "dev", "plan.md"), "utf8");
    expect(md).toContain("- container dev-router is replaced");

    expect(git("status", "--porcelain")).toBe(statusBefore);
    expect(git("worktree", "list")).toBe(worktreesBefore);
    expect(leftovers()).toBe(before);
    writeFileSync(stackFile, git("show", "main:stacks/Pulumi.dev.yaml"));
  }, 180_000);

  it("compares a stack that is new in the work tree with nothing", () => {
    copyFileSync(path.join(repo, "stacks", "Pulumi.dev.yaml"), path.join(repo, "stacks", "Pulumi.fresh.yaml"));
    const r = plan("--stack", "fresh", "--against", "main");
    expect(r.status).toBe(0);
    expect(readFileSync(path.join(out, "fresh", "plan.diff"), "utf8")).toContain("The stack file does not exist at main: everything below is new.");
    rmSync(path.join(repo, "stacks", "Pulumi.fresh.yaml"));
  }, 180_000);

  it("refuses a ref that names no commit, with exit code 2, before writing anything", () => {
    const r = plan("--stack", "staging", "--against", "no-such-branch");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--against no-such-branch: no such commit");
    expect(existsSync(path.join(out, "staging"))).toBe(false);
  }, 180_000);
});
