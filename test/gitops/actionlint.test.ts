/**
 * actionlint (pinned in scripts/install-actionlint.sh) passes on every GitHub workflow: the
 * shipped templates and renderings for other stack lists and the self-managed backend. It
 * runs shellcheck over the `run:` scripts when shellcheck is on PATH.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitopsOptions, renderGitops } from "../../core/gitops/render";

const ROOT = path.join(__dirname, "..", "..");
const ACTIONLINT = path.join(ROOT, ".cache", "bin", "actionlint");
const work = mkdtempSync(path.join(tmpdir(), "hi-actionlint-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function actionlint(files: string[]) {
  return spawnSync(ACTIONLINT, ["-no-color", ...files], { cwd: ROOT, encoding: "utf8" });
}

describe("actionlint", () => {
  beforeAll(() => {
    // Idempotent: a no-op when the pinned version is already in .cache/bin.
    execFileSync("bash", [path.join(ROOT, "scripts", "install-actionlint.sh")], { stdio: "pipe" });
  });

  it("passes the shipped GitHub workflows", () => {
    const dir = path.join(ROOT, "templates", "gitops", "github", ".github", "workflows");
    const files = readdirSync(dir).map((f) => path.join(dir, f));
    expect(files).toHaveLength(3);
    const r = actionlint(files);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it.each<[string, Omit<GitopsOptions, "provider">]>([
    ["qa,live", { stacks: ["qa", "live"] }],
    ["a single stack", { stacks: ["prod"] }],
    ["a self-managed backend", { stacks: ["dev", "staging", "prod"], backend: "self-managed" }],
  ])("passes the workflows rendered for %s", (label, options) => {
    const dir = path.join(work, label.replace(/\W+/g, "-"));
    const files = Object.entries(renderGitops({ provider: "github", ...options })).map(([rel, content]) => {
      const target = path.join(dir, rel);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, content);
      return target;
    });
    const r = actionlint(files);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("catches a broken workflow (the linter really runs)", () => {
    const bad = path.join(work, "bad.yml");
    writeFileSync(bad, "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v5\n        with: { no-such-input: 1 }\n");
    const r = actionlint([bad]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('input "no-such-input" is not defined');
  });
});
