/**
 * The plan written for review (core/review): what it says will happen to the servers, what is
 * downloaded and how long until the engine serves, and plan.md's order (problems first).
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { readStackFile } from "../../core/config/source";
import { warning } from "../../core/config/issues";
import { loadPlan } from "../../core/load";
import { DOWNLOAD_MB_PER_S, engineStartupMinutes } from "../../core/plan/engine";
import type { DeploymentPlan } from "../../core/plan/types";
import type { DockerRendering } from "../../core/render/docker";
import { renderTarget } from "../../core/render/target";
import { comparePlans, comparisonText, consequences, diffResources } from "../../core/review/compare";
import { IMAGE_DOWNLOAD_BYTES, downloadEstimate } from "../../core/review/downloads";
import { mdCode, planMarkdown } from "../../core/review/markdown";
import { clusterChanges, serverChanges } from "../../core/review/servers";

const root = path.join(__dirname, "..", "..");

function stackPlan(stack: string): DeploymentPlan {
  const { plan, issues } = loadPlan(readStackFile(path.join(root, "stacks", `Pulumi.${stack}.yaml`), stack));
  if (!plan) throw new Error(`stack ${stack} does not plan: ${JSON.stringify(issues)}`);
  return plan;
}

describe("what will happen to your servers", () => {
  it("says, per host and in order, each disruptive step of the dev stack with its data", () => {
    const plan = stackPlan("dev");
    const [host] = serverChanges(plan, renderTarget(plan));
    expect(host!.host).toBe("dev-gpu-1");
    const text = host!.actions.map((a) => a.text);
    const at = (s: RegExp) => text.findIndex((t) => s.test(t));
    // SSH hardening, driver, reboot and firewall, in the order the bootstrap runs them.
    expect(at(/switches SSH password and keyboard-interactive login off/)).toBeGreaterThanOrEqual(0);
    expect(at(/installs the NVIDIA driver branch 580 .* and holds it/)).toBeGreaterThan(at(/SSH password/));
    expect(at(/reboots the host when the driver was installed or changed.*15 min/)).toBeGreaterThan(at(/NVIDIA driver/));
    expect(at(/installs Docker Engine/)).toBeGreaterThan(at(/reboots/));
    const firewall = text[at(/ufw firewall/)]!;
    expect(firewall).toContain("SSH (port 22) only from 198.51.100.0/24");
    expect(firewall).toContain("port 4000 (router) from 198.51.100.0/24");
    expect(text.some((t) => /runs the engine container dev-gpu-1-engine \(vllm\/vllm-openai:v0\.33\.0, all GPUs\)/.test(t))).toBe(true);
    expect(text.some((t) => /runs the router container dev-router/.test(t))).toBe(true);
    expect(host!.actions.filter((a) => a.disruptive).map((a) => a.step)).toEqual(
      expect.arrayContaining(["ssh-hardening", "nvidia-driver", "reboot-if-required", "firewall", "container"]));
  });

  it("admits a secondary host's engine port from the router host only (prod)", () => {
    const plan = stackPlan("prod");
    const changes = serverChanges(plan, renderTarget(plan));
    expect(changes).toHaveLength(2);
    const second = changes[1]!.actions.find((a) => a.step === "firewall")!.text;
    expect(second).toMatch(/port 8000 \(engine\) only from the router host \([0-9./, ]+\)/);
    expect(second).not.toContain("(router)");
  });

  it("installs k3s on each node of a k3s cluster", () => {
    const plan = stackPlan("prod-k8s");
    const changes = serverChanges(plan, renderTarget(plan));
    expect(changes.length).toBe(plan.hosts.length);
    for (const c of changes) expect(c.actions.some((a) => a.step === "k3s" && /installs k3s v\S+ as the cluster's (server|agent)/.test(a.text))).toBe(true);
  });

  it("lists what the kubernetes target applies to the cluster: Deployments, how they roll, the exposed Service", () => {
    const plan = stackPlan("prod-k8s");
    const lines = clusterChanges(renderTarget(plan));
    expect(lines).toContain("Deployment router: 2 pods, rolled with 1 extra pod at a time");
    expect(lines.some((l) => /^Deployment engine-rtx-4090: \d+ pods?, rolled/.test(l))).toBe(true);
    expect(lines).toContain(`Service router: a LoadBalancer on port ${plan.router.port}, open to ${plan.router.allowedCidrs.join(", ")}`);
    expect(clusterChanges(renderTarget(stackPlan("dev")))).toEqual([]);
  });

  it("still lists a bootstrap step it has no words for, by name and file", () => {
    const plan = stackPlan("dev");
    const r = renderTarget(plan) as DockerRendering;
    const extra = { ...r.hosts[0]!.steps[0]!, name: "hold-driver" };
    const withExtra: DockerRendering = { ...r, hosts: [{ ...r.hosts[0]!, steps: [...r.hosts[0]!.steps, extra] }] };
    const actions = serverChanges(plan, withExtra)[0]!.actions;
    expect(actions.find((a) => a.step === "hold-driver")!.text).toBe(`runs bootstrap step hold-driver (see hosts/dev-gpu-1/bootstrap/${String(r.hosts[0]!.steps.length + 1).padStart(2, "0")}-hold-driver.sh)`);
  });
});

describe("downloads and time to serve", () => {
  it("adds the plan's weight bytes to the images each host pulls", () => {
    const plan = stackPlan("prod");
    const d = downloadEstimate(plan);
    expect(d.hosts.map((h) => h.host)).toEqual(plan.hosts.map((h) => h.name));
    const vllm = IMAGE_DOWNLOAD_BYTES["vllm/vllm-openai"]!.bytes;
    const litellm = IMAGE_DOWNLOAD_BYTES["ghcr.io/berriai/litellm"]!.bytes;
    // The router host pulls the engine and router images; the other host the engine image only.
    expect(d.hosts[0]!.totalBytes).toBe(plan.engine.weightBytes + vllm + litellm);
    expect(d.hosts[1]!.totalBytes).toBe(plan.engine.weightBytes + vllm);
    expect(d.totalBytes).toBe(d.hosts[0]!.totalBytes + d.hosts[1]!.totalBytes);
  });

  it("breaks the engine's start-up allowance into the download and the load it is made of", () => {
    for (const stack of ["dev", "staging", "prod"]) {
      const plan = stackPlan(stack);
      const s = downloadEstimate(plan).startup;
      expect(s.seconds).toBe(plan.engine.startupSeconds);
      expect(s.downloadMinutes).toBe(Math.ceil(plan.engine.weightBytes / 1e6 / DOWNLOAD_MB_PER_S / 60));
      expect(s.downloadMinutes + s.loadMinutes).toBe(plan.engine.startupSeconds / 60);
      expect(s.floorMinutes).toBe(engineStartupMinutes(0));
    }
  });
});

describe("plan.md", () => {
  it("leads with problems and warnings, then the servers, downloads and time to serve, then costs", () => {
    const plan = stackPlan("dev");
    const md = planMarkdown({ plan, rendering: renderTarget(plan), issues: [warning("hybrid-inference:router.managed", "spills outside the UK", "accept it")], resources: [] });
    const order = ["#### Problems and warnings (0 errors, 1 warning)", "#### What will happen to your servers", "#### Downloads and time to serve", "#### Costs"].map((h) => md.indexOf(h));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(md).toContain("- **warning** `hybrid-inference:router.managed`: spills outside the UK. Fix: accept it");
    expect(md).toContain(`**Time to serve:** an engine is allowed ${plan.engine.startupSeconds / 60} min`);
    expect(md).toContain("traffic.tokens_per_month is not set, so these are rates");
    expect(md).toContain("`npm run plan -- --against <git ref>` lists which");
  });

  it("keeps user text from breaking out of a code span or into HTML", () => {
    expect(mdCode("a`b")).toBe("``a`b``");
    expect(mdCode("`x")).toBe("`` `x ``");
    const plan = stackPlan("dev");
    const md = planMarkdown({ plan, rendering: renderTarget(plan), issues: [warning("p", "<script>alert(1)</script> | x", "f")], resources: [] });
    expect(md).not.toContain("<script>");
    expect(md).toContain("\\<script\\>");
  });
});

describe("comparison with the base", () => {
  const before = [
    { type: "docker:index/container:Container", name: "dev-router-container", inputs: { name: "dev-router", command: ["--num_workers", "2"] } },
    { type: "command:remote:Command", name: "dev-h-firewall", inputs: { create: "a", triggers: ["1"] } },
    { type: "docker:index/network:Network", name: "old-net", inputs: { name: "old" } },
  ];
  const after = [
    { type: "docker:index/container:Container", name: "dev-router-container", inputs: { name: "dev-router", command: ["--num_workers", "4"] } },
    { type: "command:remote:Command", name: "dev-h-firewall", inputs: { create: "a", triggers: ["1"] } },
    { type: "docker:index/container:Container", name: "dev-h-edge-container", inputs: { name: "dev-edge" } },
  ];

  it("lists resources added, removed and changed, with the inputs that changed", () => {
    expect(diffResources(before, after)).toEqual([
      { type: "docker:index/container:Container", name: "dev-router-container", kind: "changed", nameInput: "dev-router",
        inputs: [{ key: "command", before: '["--num_workers","2"]', after: '["--num_workers","4"]' }] },
      { type: "docker:index/container:Container", name: "dev-h-edge-container", kind: "added", inputs: [], nameInput: "dev-edge" },
      { type: "docker:index/network:Network", name: "old-net", kind: "removed", inputs: [], nameInput: "old" },
    ]);
  });

  it("says which containers are replaced and which steps run again", () => {
    const c = comparePlans("main", "0123456789abcdef", { status: "planned", files: { "router/command.txt": "x 2\n", "plan.txt": "old" }, resources: before }, { "router/command.txt": "x 4\n", "plan.txt": "new" }, after);
    expect(consequences(c)).toEqual([
      "container dev-router is replaced (stopped, then started anew: its command changed)",
      "container dev-edge is created",
    ]);
    // The reports are not rendered files: only router/command.txt is diffed.
    expect(c.files.changes.map((f) => f.path)).toEqual(["router/command.txt"]);
    const text = comparisonText("dev", c);
    expect(text).toMatch(/^hybrid-inference plan diff: stack dev, main \(0123456789ab\) -> this checkout\n/);
    expect(text).toContain("  ~ docker:index/container:Container dev-router-container\n      command: [\"--num_workers\",\"2\"] -> [\"--num_workers\",\"4\"]");
    expect(text).toContain("--- a/router/command.txt\n+++ b/router/command.txt\n@@ -1,1 +1,1 @@\n-x 2\n+x 4");
  });

  it("compares a stack new at the base with nothing, and says so", () => {
    const c = comparePlans("main", "abc", { status: "absent" }, { "a.txt": "a\n" }, after);
    expect(c.resources.every((r) => r.kind === "added")).toBe(true);
    expect(comparisonText("dev", c)).toContain("The stack file does not exist at main: everything below is new.");
  });
});
