import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = path.join(__dirname, "..", "..");
const tsx = path.join(root, "node_modules", ".bin", "tsx");
const out = mkdtempSync(path.join(tmpdir(), "hi-plan-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function plan(...args: string[]) {
  return spawnSync(tsx, [path.join(root, "cli", "plan.ts"), "--out", out, ...args], { cwd: root, encoding: "utf8" });
}

const stacks = readdirSync(path.join(root, "stacks"))
  .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => s !== undefined);

describe("npm run plan", () => {
  it("finds the shipped stacks", () => {
    expect(stacks).toEqual(expect.arrayContaining(["dev", "staging", "prod"]));
  });

  it.each(stacks)("plans stack %s offline and writes its rendered files", (stack) => {
    const r = plan("--stack", stack, "--json");
    expect(r.stderr).not.toMatch(/plan failed/);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; resources: { type: string; name: string }[]; files: string[] };
    expect(report.ok).toBe(true);
    expect(report.resources.some((x) => /^hybrid:(index|k8s):HybridInference$/.test(x.type))).toBe(true);
    for (const f of report.files) expect(existsSync(f), f).toBe(true);
    const configFile = report.files.find((f) => f.endsWith("litellm-config.yaml"));
    expect(configFile, "a rendered router config").toBeDefined();
    expect(readFileSync(configFile!, "utf8")).toContain("master_key: os.environ/LITELLM_MASTER_KEY");
    // Secrets stay masked in everything plan writes and prints (the stack files' secure values say PLACEHOLDER).
    expect(readFileSync(path.join(out, stack, "resources.json"), "utf8")).not.toContain("PLACEHOLDER");
    expect(r.stdout + r.stderr).not.toContain("PLACEHOLDER");
    for (const f of report.files) expect(readFileSync(f, "utf8"), f).not.toContain("PLACEHOLDER");
  }, 60_000);

  it("prints the fit and capacity report and the resources for a human, and plan.txt is exactly that", () => {
    const r = plan("--stack", "dev");
    expect(r.status).toBe(0);
    expect(readFileSync(path.join(out, "dev", "plan.txt"), "utf8")).toBe(r.stdout);
    expect(r.stdout).toContain("\nProblems\nwarning: hybrid-inference:router.managed: requests that spill to Together AI");
    expect(r.stdout).toMatch(/router rpm, total +rpm admitted per router \(x1, shared by its 2 workers\)/);
    expect(r.stdout).toContain("Fit, per GPU (GiB)");
    expect(r.stdout).toContain("Capacity (model calibrated against published vLLM runs;");
    expect(r.stdout).toContain("* = operating point");
    expect(r.stdout).toMatch(/dev-gpu-1\s+rtx-4090\s+1\s+1\s+1\s+21\.6/);
    expect(r.stdout).toMatch(/Resources \(\d+; secrets shown as \[secret\]\)/);
  }, 60_000);

  it("writes plan.md for the pull request: problems first, then the servers, downloads and costs", () => {
    const r = plan("--stack", "prod");
    expect(r.status).toBe(0);
    const md = readFileSync(path.join(out, "prod", "plan.md"), "utf8");
    expect(md).toMatch(/^### Plan for stack `prod`\n/);
    const problems = md.indexOf("#### Problems and warnings");
    expect(problems).toBeGreaterThan(0);
    expect(md.indexOf("#### What will happen to your servers")).toBeGreaterThan(problems);
    expect(md).toContain("switches SSH password and keyboard-interactive login off");
    expect(md).toContain("reboots the host when the driver was installed or changed");
    expect(md).not.toContain("PLACEHOLDER");
  }, 60_000);

  it("lists every problem of a bad stack file and exits 1 without writing anything", () => {
    const bad = path.join(out, "Pulumi.broken.yaml");
    writeFileSync(bad, [
      "config:",
      "  hybrid-inference:environment: prod",
      "  hybrid-inference:hosts:",
      "    - { name: a, address: 203.0.113.9, datacenter: us-east, gpu: rtx-4090ti }",
      "  hybrid-inference:model: { id: llama-3.3-70b-instruct }",
      "  hybrid-inference:router: { allowed_cidrs: [198.51.100.0/24] }",
      "  hybrid-inference:access: { admin_cidrs: [198.51.100.0/24] }",
      "",
    ].join("\n"));
    const r = plan("--file", bad);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("stack broken");
    expect(r.stderr).toContain('error: hybrid-inference:hosts[0].name: must be 2-40 characters');
    expect(r.stderr).toContain('error: hybrid-inference:hosts[0].gpu: unknown GPU "rtx-4090ti"');
    expect(r.stderr).toContain("fix: use a catalog id; nearest: rtx-4090");
    expect(r.stderr).toContain('datacenter "us-east" is outside the UK');
    expect(r.stderr).toContain("prod has no frontier fallback");
    expect(r.stderr).toContain("is gated on Hugging Face");
    expect(existsSync(path.join(out, "broken"))).toBe(false);
  }, 60_000);

  it("rejects an unknown option with usage and exit code 2", () => {
    const r = plan("--stak", "dev");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("usage: npm run plan");
  }, 60_000);
});
