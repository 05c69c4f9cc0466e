import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderGitops } from "../../core/gitops/render";

const ROOT = path.join(__dirname, "..", "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
const work = mkdtempSync(path.join(tmpdir(), "hi-gitops-init-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function init(...args: string[]) {
  return spawnSync(TSX, [path.join(ROOT, "cli", "gitops-init.ts"), ...args], { cwd: ROOT, encoding: "utf8" });
}

function repo(name: string): string {
  const dir = path.join(work, name);
  mkdirSync(path.join(dir, "stacks"), { recursive: true });
  for (const s of ["dev", "staging", "prod"]) writeFileSync(path.join(dir, "stacks", `Pulumi.${s}.yaml`), "config: {}\n");
  return dir;
}

describe("gitops-init", () => {
  it("writes the rendered GitHub workflows into the repository and says what it wrote", () => {
    const dir = repo("github");
    const r = init("--provider", "github", "--stacks", "dev,staging,prod", "--dir", dir);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const files = renderGitops({ provider: "github", stacks: ["dev", "staging", "prod"] });
    for (const [rel, content] of Object.entries(files)) {
      expect(readFileSync(path.join(dir, rel), "utf8")).toBe(content);
      expect(r.stdout).toContain(`wrote ${rel}`);
    }
    expect(r.stdout).toContain('Create the environment "prod"');
    expect(r.stdout).not.toContain("warning: no stack file");
  });

  it("refuses to overwrite existing files without --force: lists them, writes nothing, exits 1", () => {
    const dir = repo("existing");
    const preview = path.join(dir, ".github", "workflows", "pulumi-preview.yml");
    mkdirSync(path.dirname(preview), { recursive: true });
    writeFileSync(preview, "# mine\n");
    const r = init("--provider", "github", "--stacks", "dev,staging,prod", "--dir", dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`refusing to overwrite 1 existing file in ${dir}:`);
    expect(r.stderr).toContain("  .github/workflows/pulumi-preview.yml");
    expect(r.stderr).toContain("re-run with --force");
    expect(readFileSync(preview, "utf8")).toBe("# mine\n");
    expect(existsSync(path.join(dir, ".github", "workflows", "pulumi-up.yml"))).toBe(false);
    expect(r.stdout).toBe("");
  });

  it("replaces existing files with --force", () => {
    const dir = repo("forced");
    const ci = path.join(dir, ".gitlab-ci.yml");
    writeFileSync(ci, "# mine\n");
    const refused = init("--provider", "gitlab", "--stacks", "dev,staging,prod", "--dir", dir);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("  .gitlab-ci.yml");
    const r = init("--provider", "gitlab", "--stacks", "dev,staging,prod", "--dir", dir, "--force");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("replaced .gitlab-ci.yml");
    expect(readFileSync(ci, "utf8")).toBe(renderGitops({ provider: "gitlab", stacks: ["dev", "staging", "prod"] })[".gitlab-ci.yml"]);
  });

  it("renders for the stacks it is given and warns about stacks without a stack file", () => {
    const dir = repo("custom");
    const r = init("--provider", "github", "--stacks", "dev, qa ,prod", "--dir", dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("warning: no stack file for qa");
    expect(readFileSync(path.join(dir, ".github", "workflows", "pulumi-up.yml"), "utf8")).toContain("up-qa:");
  });

  it("rejects bad stack names, an unknown provider and unknown options with usage and exit code 2", () => {
    const bad = init("--provider", "github", "--stacks", "dev,prod.eu,dev", "--dir", repo("bad"));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('error: stack name "prod.eu" is not usable');
    expect(bad.stderr).toContain('error: stack "dev" is listed more than once');
    expect(bad.stderr).toContain("usage: npx tsx cli/gitops-init.ts");
    const provider = init("--provider", "jenkins");
    expect(provider.status).toBe(2);
    expect(provider.stderr).toContain('unknown provider "jenkins": use github or gitlab');
    expect(init("--provider", "github", "--stack", "dev").status).toBe(2);
    expect(init("--stacks", "dev").stderr).toContain("--provider is required");
  });
});

describe("gitops-init --help", () => {
  it("prints what it writes and its options, and exits 0", () => {
    const r = init("--help");
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^usage: npx tsx cli\/gitops-init\.ts --provider github\|gitlab/);
    expect(r.stdout).toContain("--backend cloud|self-managed");
  });
});
