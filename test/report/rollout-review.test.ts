/**
 * plan.md tells a reviewer what the rollout does: the engine tunnel's step in words, the steps
 * that interrupt serving in bold (the same rule the rollout orders hosts by), and the order and
 * readiness deadline that plan.txt prints.
 */
import { describe, expect, it } from "vitest";
import { MASKED_SECRET } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import { planRollout, readinessPlan } from "../../core/plan/rollout";
import type { DeploymentPlan } from "../../core/plan/types";
import { renderTarget } from "../../core/render/target";
import { planMarkdown } from "../../core/review/markdown";
import { serverChanges } from "../../core/review/servers";
import { rawConfig } from "../fixtures";

const host = (n: number) => ({ name: `gpu-${n}`, address: `203.0.113.${10 + n}`, datacenter: "uk-london", gpu: "rtx-4090", gpu_count: 1 });

/** Three hosts, no private network: the router host reaches the other two engines through the tunnel. */
function tunnelPlan(): DeploymentPlan {
  const { plan, issues } = loadPlan(rawConfig({
    environment: "staging",
    residency: "uk",
    hosts: [host(1), host(2), host(3)],
    model: { id: "qwen2.5-7b-instruct", quantization: "auto" },
    router: { allowed_cidrs: ["198.51.100.0/24"], managed: { provider: "together_ai", api_key_secret: "togetherApiKey" } },
    access: { admin_cidrs: ["198.51.100.0/24"] },
    benchmark: { enabled: false },
    sshPrivateKey: MASKED_SECRET,
    togetherApiKey: MASKED_SECRET,
  }, undefined, "tun"));
  if (!plan) throw new Error(`the tunnel stack does not plan: ${JSON.stringify(issues)}`);
  return plan;
}

describe("plan.md on a rolling, tunnelled stack", () => {
  const plan = tunnelPlan();
  const rendering = renderTarget(plan);
  const changes = serverChanges(plan, rendering);

  it("describes the tunnel step with the host's address and its peers, not as an unknown step", () => {
    const router = changes[0]!.actions.find((a) => a.step === "wireguard")!;
    expect(router.text).toMatch(/encrypted engine tunnel \(WireGuard, hi-engines\) at 10\.213\.0\.1\/24, UDP port 51820 open to its peers only/);
    expect(router.text).toContain("gpu-2 at 10.213.0.2");
    expect(router.text).toContain("gpu-3 at 10.213.0.3");
    const third = changes[2]!.actions.find((a) => a.step === "wireguard")!;
    expect(third.text).toContain("at 10.213.0.3/24");
    expect(third.text).toContain("gpu-1 at 10.213.0.1");
    expect(third.text).not.toContain("gpu-2");
  });

  it("marks in bold every step the rollout holds back for the previous host (it interrupts serving)", () => {
    if (rendering.kind !== "docker") throw new Error("docker target expected");
    for (const [i, h] of rendering.hosts.entries()) {
      const disrupting = h.steps.filter((s) => s.disruptsServing).map((s) => s.name);
      expect(disrupting).toEqual(expect.arrayContaining(["nvidia-driver", "reboot-if-required", "docker"]));
      const bold = changes[i]!.actions.filter((a) => a.disruptive).map((a) => a.step);
      expect(bold).toEqual(expect.arrayContaining(disrupting));
    }
  });

  it("states the order and the gate's deadline that the deployment applies", () => {
    const md = planMarkdown({ plan, issues: [], resources: [], rendering });
    const order = planRollout(plan);
    expect(order.map((h) => h.waitsFor)).toEqual([null, "gpu-1", "gpu-2"]);
    expect(md).toContain("1. gpu-1 (router host)");
    expect(md).toContain(`2. gpu-2: after gpu-1 serves again and the router has taken it back (${plan.router.cooldownTimeS} s, its cooldown_time)`);
    expect(md).toContain("3. gpu-3: after gpu-2 serves again");
    expect(md).toContain(`within ${readinessPlan(plan).engineTimeoutS / 60} min`);
  });
});
