/**
 * Whether the generated pipelines can reach the hosts (core/gitops/reachability.ts), as
 * `gitops:init` reports it from the stack files it finds, and the self-hosted runners of
 * `--runs-on` on exactly the jobs that SSH to the hosts.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { renderGitops } from "../../core/gitops/render";
import { reachabilitySteps } from "../../core/gitops/reachability";

const ROOT = path.join(__dirname, "..", "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
const work = mkdtempSync(path.join(tmpdir(), "hi-gitops-reach-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh5bWJhc3Rpb25ob3N0a2V5Zm9ydGVzdHNvbmx5MDAw";

/** A repository whose stack files differ only in `access` (and the target). */
function repo(name: string, stacks: Record<string, Record<string, unknown>>): string {
  const dir = path.join(work, name);
  mkdirSync(path.join(dir, "stacks"), { recursive: true });
  for (const [stack, values] of Object.entries(stacks)) {
    const config = Object.fromEntries(Object.entries(values).map(([k, v]) => [`hybrid-inference:${k}`, v]));
    writeFileSync(path.join(dir, "stacks", `Pulumi.${stack}.yaml`), stringify({ config }));
  }
  return dir;
}

function init(...args: string[]) {
  return spawnSync(TSX, [path.join(ROOT, "cli", "gitops-init.ts"), ...args], { cwd: ROOT, encoding: "utf8" });
}

describe("gitops:init says whether the pipelines reach each stack's hosts", () => {
  const dir = repo("mixed", {
    dev: { access: { admin_cidrs: ["198.51.100.0/24"] } },
    staging: { access: { admin_cidrs: ["198.51.100.0/24"], deploy_cidrs: ["192.0.2.0/28"] } },
    prod: { access: { admin_cidrs: ["198.51.100.0/24"], bastion: { address: "192.0.2.50", user: "jump", host_key: HOST_KEY } } },
  });

  it("warns about the stack hosted runners cannot reach and names the fixes, stack by stack", () => {
    const r = init("--provider", "github", "--stacks", "dev,staging,prod", "--dir", dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("warning: the up and drift jobs cannot reach every stack's hosts yet");
    expect(r.stdout).toContain("Stack dev cannot be deployed by GitHub-hosted runners as it stands: its hosts admit SSH from access.admin_cidrs only (198.51.100.0/24)");
    expect(r.stdout).toContain("Set access.bastion");
    expect(r.stdout).toContain("Stack staging: admits the pipeline from access.deploy_cidrs (192.0.2.0/28)");
    expect(r.stdout).toContain("Hosted runners have no fixed address");
    expect(r.stdout).toContain("Stack prod: deploys through the bastion jump@192.0.2.50:22");
  });

  it("is content once every stack names how the runners get in", () => {
    const ok = repo("reachable", {
      staging: { access: { admin_cidrs: ["198.51.100.0/24"], deploy_cidrs: ["192.0.2.0/28"] } },
      prod: { access: { admin_cidrs: ["198.51.100.0/24"], bastion: { address: "192.0.2.50", user: "jump", host_key: HOST_KEY } } },
    });
    const r = init("--provider", "gitlab", "--stacks", "staging,prod", "--dir", ok, "--runs-on", "uk,gpu-deploy");
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain("cannot reach");
    expect(r.stdout).toContain("the self-hosted runners (self-hosted, uk, gpu-deploy) must connect from there");
  });

  it("says an existing cluster needs its API server reachable, and a k3s cluster its API port from the deploy CIDRs", () => {
    const steps = reachabilitySteps({ provider: "github" }, [
      { stack: "ext", adminCidrs: ["198.51.100.0/24"], deployCidrs: [], bastion: null, reach: "kubeconfig" },
      { stack: "k3s", adminCidrs: ["198.51.100.0/24"], deployCidrs: ["192.0.2.0/28"], bastion: null, reach: "ssh-and-k3s-api" },
    ]);
    expect(steps[0]).toBe("Stack ext: no SSH (an existing cluster, reached with its kubeconfig): GitHub-hosted runners must reach the cluster's API server.");
    expect(steps[1]).toContain("The Kubernetes API (6443 on the first host) is dialled directly, not through the bastion");
  });

  it("refuses runner labels that cannot be labels, with usage and exit code 2", () => {
    const r = init("--provider", "github", "--stacks", "dev", "--dir", dir, "--runs-on", "self-hosted,bad label", "--force");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error: runner label "self-hosted" is added for you');
    expect(r.stderr).toContain('error: runner label "bad label" is not usable');
  });
});

describe("--runs-on: self-hosted runners for the jobs that reach the hosts", () => {
  const stacks = ["dev", "staging", "prod"];

  it("moves up and drift to [self-hosted, …labels] on GitHub and leaves the previews on hosted runners", () => {
    const files = renderGitops({ provider: "github", stacks, runsOn: ["uk", "gpu-deploy"] });
    const jobs = (file: string) => (parse(files[`.github/workflows/${file}`]!) as { jobs: Record<string, { "runs-on": unknown }> }).jobs;
    for (const job of [...Object.values(jobs("pulumi-up.yml")), ...Object.values(jobs("pulumi-drift.yml"))]) {
      expect(job["runs-on"]).toEqual(["self-hosted", "uk", "gpu-deploy"]);
    }
    for (const job of Object.values(jobs("pulumi-preview.yml"))) expect(job["runs-on"]).toBe("ubuntu-24.04");
    expect(files[".github/workflows/pulumi-up.yml"]).toContain("--runs-on uk,gpu-deploy");
  });

  it("tags GitLab's deploy and drift jobs, not its previews", () => {
    const ci = parse(renderGitops({ provider: "gitlab", stacks, runsOn: ["uk"] })[".gitlab-ci.yml"]!) as Record<string, { tags?: string[] }>;
    for (const s of stacks) {
      expect(ci[`deploy:${s}`]!.tags).toEqual(["uk"]);
      expect(ci[`drift:${s}`]!.tags).toEqual(["uk"]);
      expect(ci[`preview:${s}`]!.tags).toBeUndefined();
    }
  });

  it("says in the hosted workflows' headers what reaching the hosts takes", () => {
    const files = renderGitops({ provider: "github", stacks });
    for (const f of ["pulumi-up.yml", "pulumi-drift.yml"]) {
      expect(files[`.github/workflows/${f}`]).toContain("# These jobs SSH to the hosts. A GitHub-hosted runner connects from an address the hosts'");
    }
  });
});
