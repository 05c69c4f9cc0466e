/**
 * `plan` never deletes, overwrites or moves anything it did not write: a stack name is checked
 * as a name before it becomes a path, an output folder is only cleared of the files its own
 * marker lists, and a folder holding another stack file's plan is refused.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { MARKER_FILE } from "../../cli/out-dir";

const root = path.join(__dirname, "..", "..");
const tsx = path.join(root, "node_modules", ".bin", "tsx");
const sandbox = mkdtempSync(path.join(tmpdir(), "hi-out-dir-"));
afterAll(() => rmSync(sandbox, { recursive: true, force: true }));

function plan(cwd: string, ...args: string[]) {
  return spawnSync(tsx, [path.join(root, "cli", "plan.ts"), ...args], { cwd, encoding: "utf8" });
}

/** A folder standing in for the repository: a canary file next to the output folder. */
function repoLike(name: string): { dir: string; out: string; canary: string } {
  const dir = path.join(sandbox, name);
  const out = path.join(dir, "out");
  mkdirSync(out, { recursive: true });
  const canary = path.join(dir, "canary.txt");
  writeFileSync(canary, "must survive\n");
  return { dir, out, canary };
}

describe("plan's output folder", () => {
  it("refuses --stack .. before it becomes a path, and deletes nothing", () => {
    const { dir, out, canary } = repoLike("dotdot");
    const r = plan(dir, "--stack", "..", "--out", out);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--stack ".." is not a stack name: use letters, digits, '-', '_' and '.', starting with a letter or digit`);
    expect(readFileSync(canary, "utf8")).toBe("must survive\n");
  });

  it("refuses a stack file named Pulumi....yaml unless --stack names the stack", () => {
    const { dir, out, canary } = repoLike("dots-file");
    const file = path.join(dir, "Pulumi....yaml");
    copyFileSync(path.join(root, "stacks", "Pulumi.dev.yaml"), file);
    const r = plan(dir, "--file", file, "--out", out);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`cannot tell the stack name from ${file}: name the file Pulumi.<stack>.yaml or pass --stack <name>`);
    expect(readFileSync(canary, "utf8")).toBe("must survive\n");
    expect(plan(dir, "--file", file, "--stack", "dots", "--out", out).status).toBe(0);
    expect(existsSync(path.join(out, "dots", "router", "litellm-config.yaml"))).toBe(true);
  }, 60_000);

  it("refuses to clear a folder it did not write, leaving its files in place", () => {
    const { dir, out } = repoLike("foreign");
    const mine = path.join(out, "dev", "notes.md");
    mkdirSync(path.dirname(mine), { recursive: true });
    writeFileSync(mine, "someone's notes\n");
    const r = plan(dir, "--stack", "dev", "--out", out);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${path.join(out, "dev")} exists and was not written by \`npm run plan\` (it has no ${MARKER_FILE}); refusing to clear it`);
    expect(readFileSync(mine, "utf8")).toBe("someone's notes\n");
  });

  it("on a rerun replaces the files of its last run, stale ones included, and keeps anything else", () => {
    const { dir, out } = repoLike("rerun");
    const file = path.join(dir, "Pulumi.two.yaml");
    const doc = { config: { ...readConfig("prod") } };
    writeFileSync(file, stringify(doc));
    expect(plan(dir, "--file", file, "--out", out).status).toBe(0);
    const second = path.join(out, "two", "hosts", "prod-gpu-2", "engine-argv.json");
    expect(existsSync(second)).toBe(true);
    const userFile = path.join(out, "two", "review-notes.md");
    writeFileSync(userFile, "kept\n");
    // The stack loses its second host: that host's files are stale on the next run.
    const hosts = doc.config["hybrid-inference:hosts"] as unknown[];
    writeFileSync(file, stringify({ config: { ...doc.config, "hybrid-inference:hosts": hosts.slice(0, 1) } }));
    const r = plan(dir, "--file", file, "--out", out);
    expect(r.stderr).not.toMatch(/plan failed/);
    expect(r.status).toBe(0);
    expect(existsSync(second)).toBe(false);
    expect(existsSync(path.join(out, "two", "hosts", "prod-gpu-2"))).toBe(false);
    expect(existsSync(path.join(out, "two", "hosts", "prod-gpu-1", "engine-argv.json"))).toBe(true);
    expect(readFileSync(userFile, "utf8")).toBe("kept\n");
  }, 90_000);

  it("will not silently replace another stack file's plan of the same name", () => {
    const { dir, out } = repoLike("same-name");
    expect(plan(dir, "--stack", "dev", "--out", out).status).toBe(0);
    const other = path.join(dir, "elsewhere", "Pulumi.dev.yaml");
    mkdirSync(path.dirname(other), { recursive: true });
    copyFileSync(path.join(root, "stacks", "Pulumi.dev.yaml"), other);
    const r = plan(dir, "--file", other, "--out", out);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`holds the plan of stack dev from ${path.join(root, "stacks", "Pulumi.dev.yaml")}; refusing to replace it with stack dev from ${other}`);
    expect(plan(dir, "--file", other, "--out", out, "--force").status).toBe(0);
  }, 90_000);

  it("prints its help and exits 0", () => {
    const r = plan(root, "--help");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run plan -- /);
    expect(r.stdout).toContain("--force");
  });
});

function readConfig(stack: string): Record<string, unknown> {
  return (parse(readFileSync(path.join(root, "stacks", `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> }).config;
}
