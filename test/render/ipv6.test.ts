/**
 * IPv6 hosts: every place an address meets a port renders a valid URL or host:port (the
 * literal in brackets), from core/net/address.ts; places that take a bare address (a Docker
 * port binding, a firewall source) get it bare.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type MockRunResult, runProgramUnderMocks } from "../../cli/mock-run";
import { loadPlan } from "../../core/load";
import type { DeploymentPlan } from "../../core/plan/types";
import { dockerPart } from "../../core/plan/docker";
import { k3sClusterPlan } from "../../core/render/kubernetes/k3s-bootstrap";
import { kubernetesRouterUrl } from "../../core/render/kubernetes/workloads";
import { litellmConfig } from "../../core/render/litellm-config";
import { rawConfig, validValues } from "../fixtures";

const HOSTS = [
  { name: "gpu-1", address: "2001:db8::31", private_address: "fd00:20::31", datacenter: "uk-london", gpu: "rtx-4090" },
  { name: "gpu-2", address: "2001:db8::32", private_address: "fd00:20::32", datacenter: "uk-london", gpu: "rtx-4090" },
];

function planOf(values: Record<string, unknown>): DeploymentPlan {
  const { plan, issues } = loadPlan(rawConfig(values, undefined, "v6"));
  if (!plan) throw new Error(JSON.stringify(issues, null, 2));
  return plan;
}

describe("an IPv6 docker stack", () => {
  const values = { ...validValues(), hosts: HOSTS, access: { admin_cidrs: ["2001:db8:100::/48"] }, router: { ...(validValues()["router"] as object), allowed_cidrs: ["::/0"] } };
  const plan = planOf(values);
  let run: MockRunResult;
  beforeAll(async () => {
    run = await runProgramUnderMocks(rawConfig(values, undefined, "v6"), plan);
  });

  it("points the router at the other host's engine on its bracketed private address", () => {
    const bases = litellmConfig(plan).model_list.filter((d) => d.litellm_params.model.startsWith("hosted_vllm/")).map((d) => d.litellm_params.api_base);
    expect(new Set(bases)).toEqual(new Set(["http://gpu-1-engine:8000/v1", "http://[fd00:20::32]:8000/v1"]));
    for (const b of bases) expect(() => new URL(b!)).not.toThrow();
  });

  it("publishes the second engine on the bare private address and admits the router host by /128", () => {
    const second = dockerPart(plan).hosts[1]!;
    expect(second.endpoint.publishOn).toEqual({ address: "fd00:20::32", port: 8000 });
    expect(second.bootstrap.engine?.allowedSources).toEqual(["fd00:20::31/128", "2001:db8::31/128"]);
    const container = run.resources.find((r) => r.name === "v6-gpu-2-engine-container")!;
    expect(container.inputs["ports"]).toEqual([{ internal: 8000, external: 8000, ip: "fd00:20::32" }]);
  });

  it("dials Docker over ssh:// with the literal in brackets, and reports a router URL that parses", () => {
    const providers = run.resources.filter((r) => r.type === "pulumi:providers:docker").map((r) => r.inputs["host"]);
    expect(providers.sort()).toEqual(["ssh://ubuntu@[2001:db8::31]:22", "ssh://ubuntu@[2001:db8::32]:22"]);
    expect(run.outputs["routerUrl"]).toBe("http://[2001:db8::31]:4000");
    expect(new URL(String(run.outputs["routerUrl"])).port).toBe("4000");
  });

  it("hands the SSH connection and the reboot wait the bare address (the command provider and ssh take it so)", () => {
    const wait = run.resources.find((r) => r.name === "v6-gpu-1-wait-for-reboot")!;
    expect(JSON.stringify(wait.rawInputs["environment"])).toContain('"HI_HOST":"2001:db8::31"');
  });
});

describe("an IPv6 kubernetes stack on k3s", () => {
  const plan = planOf({
    ...validValues(), target: "kubernetes", hosts: HOSTS, access: { admin_cidrs: ["2001:db8:100::/48"] },
    router: { ...(validValues()["router"] as object), allowed_cidrs: ["::/0"] },
  });

  it("joins agents to the server's bracketed private address and serves the API and router on bracketed URLs", () => {
    const cluster = k3sClusterPlan(plan);
    expect(cluster.serverUrl).toBe("https://[fd00:20::31]:6443");
    expect(cluster.apiUrl).toBe("https://[2001:db8::31]:6443");
    expect(kubernetesRouterUrl(plan)).toBe("http://[2001:db8::31]:4000");
    expect(cluster.nodes[0]!.config).toContain("node-ip: fd00:20::31");
  });
});
