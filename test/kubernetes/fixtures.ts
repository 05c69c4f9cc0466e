/** Stack values and plans for the kubernetes target's tests. */
import * as path from "node:path";
import { MASKED_SECRET, readStackFile } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import type { DeploymentPlan } from "../../core/plan/types";
import { DEFAULT_SECRETS, rawConfig, withValues } from "../fixtures";

/** Two London hosts of different cards, as in stacks/Pulumi.prod-k8s.yaml. */
export const MIXED_HOSTS = [
  { name: "gpu-4090", address: "203.0.113.41", private_address: "10.20.0.41", datacenter: "uk-london", gpu: "rtx-4090", gpu_count: 2 },
  { name: "gpu-5090", address: "203.0.113.42", private_address: "10.20.0.42", datacenter: "uk-london", gpu: "rtx-5090", gpu_count: 1 },
];

/** A valid kubernetes-target stack (Qwen 2.5 32B AWQ on the mixed hosts) with `patch` merged in. */
export function k8sValues(patch: Record<string, unknown> = {}): Record<string, unknown> {
  return withValues({
    target: "kubernetes",
    hosts: MIXED_HOSTS,
    model: { id: "qwen2.5-32b-instruct", quantization: "awq", max_model_len: 16384 },
    engine: { gpu_memory_utilization: 0.92, max_num_seqs: 32, kv_cache_dtype: "fp8" },
    ...patch,
  });
}

export function planOf(values: Record<string, unknown>, secrets: readonly string[] = DEFAULT_SECRETS, stack = "k8s-test"): DeploymentPlan {
  const { plan, issues } = loadPlan(rawConfig(values, secrets, stack));
  if (!plan) throw new Error(`does not plan: ${JSON.stringify(issues, null, 2)}`);
  return plan;
}

export function shippedPlan(stack: string): DeploymentPlan {
  const raw = readStackFile(path.join(__dirname, "..", "..", "stacks", `Pulumi.${stack}.yaml`), stack);
  const { plan, issues } = loadPlan(raw);
  if (!plan) throw new Error(`stack ${stack} does not plan: ${JSON.stringify(issues)}`);
  return plan;
}

export { MASKED_SECRET };
