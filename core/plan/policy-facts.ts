import type { DeploymentPlan } from "./types";

/**
 * What policy packs need to see of a stack (the UK-residency and prod-resilience rules),
 * passed as the top component's inputs and outputs: plain, non-secret facts from the plan.
 */
export function policyFacts(plan: DeploymentPlan) {
  return {
    environment: plan.spec.environment,
    residency: plan.spec.residency,
    hosts: plan.hosts.map((h) => ({ name: h.name, address: h.address, datacenter: h.datacenter })),
  };
}
