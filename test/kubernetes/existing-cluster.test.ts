/**
 * The real program for a `cluster: existing` stack under Pulumi's mocks (own process): no SSH,
 * no k3s, no device plugin; one provider from the kubeconfig secret, and nothing else.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type MockRunResult, SECRET_MASK, runProgramUnderMocks } from "../../cli/mock-run";
import { loadPlan } from "../../core/load";
import type { DeploymentPlan } from "../../core/plan/types";
import { canaryFor, plaintextOccurrences } from "../components/stack-harness";
import { rawConfig } from "../fixtures";
import { MASKED_SECRET, k8sValues } from "./fixtures";
import { validateManifest } from "./k8s-schema";

const STACK = "gpu-cluster";
const raw = rawConfig(k8sValues({
  hosts: [
    { name: "node-a", address: "10.0.0.11", datacenter: "uk-london", gpu: "rtx-4090", gpu_count: 2 },
    { name: "node-b", address: "10.0.0.12", datacenter: "uk-london", gpu: "rtx-5090", gpu_count: 1 },
  ],
  kubernetes: { cluster: "existing", kubeconfig_secret: "kubeconfig", namespace: "llm" },
  kubeconfig: MASKED_SECRET,
}), ["togetherApiKey", "kubeconfig"], STACK);

let plan: DeploymentPlan;
let run: MockRunResult;
beforeAll(async () => {
  const loaded = loadPlan(raw);
  if (!loaded.plan) throw new Error(JSON.stringify(loaded.issues));
  plan = loaded.plan;
  run = await runProgramUnderMocks(raw, plan, canaryFor);
});

describe("cluster: existing under mocks", () => {
  it("makes no SSH step, no k3s cluster and no device plugin", () => {
    const types = new Set(run.resources.map((r) => r.type));
    for (const t of ["command:remote:Command", "command:local:Command", "hybrid:k8s:K3sCluster", "hybrid:host:GpuHost", "kubernetes:apps/v1:DaemonSet"]) {
      expect(types.has(t), t).toBe(false);
    }
  });

  it("uses one provider built from the kubeconfig secret, parented to the component", () => {
    const providers = run.resources.filter((r) => r.type === "pulumi:providers:kubernetes");
    expect(providers.map((p) => [p.name, p.parent])).toEqual([[`${STACK}-provider`, `hybrid:k8s:HybridInference::${STACK}`]]);
    expect(providers[0]!.inputs["kubeconfig"]).toBe(SECRET_MASK);
    expect(providers[0]!.rawInputs["kubeconfig"]).toEqual({ secret: canaryFor("kubeconfig") });
    for (const r of run.resources.filter((x) => x.type.startsWith("kubernetes:"))) {
      expect(r.provider).toContain(`pulumi:providers:kubernetes::${STACK}-provider::`);
      expect((r.inputs["metadata"] as { namespace?: string; name: string }).namespace ?? (r.inputs["metadata"] as { name: string }).name).toBe("llm");
      if (r.type !== "kubernetes:core/v1:Secret") expect(() => validateManifest(r.inputs)).not.toThrow();
    }
  });

  it("keeps the kubeconfig and provider keys out of plain text", () => {
    for (const key of ["kubeconfig", "togetherApiKey"]) {
      expect(run.resources.flatMap((r) => plaintextOccurrences(r.rawInputs, canaryFor(key), r.name))).toEqual([]);
    }
  });

  it("reads the router's address from its LoadBalancer Service (pending under mocks)", () => {
    expect(run.outputs["routerUrl"]).toBe("(pending: kubectl -n llm get service router)");
    expect(run.outputs["gpuInventory"]).toEqual({});
  });
});
