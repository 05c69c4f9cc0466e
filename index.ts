/**
 * The Pulumi program: stack config -> validated spec -> plan -> resources.
 * Every decision is made in `core/`; this file only wires Pulumi to it.
 */
import * as pulumi from "@pulumi/pulumi";
import { HybridInference } from "./components/hybrid-inference";
import { HybridInferenceK8s } from "./components/kubernetes/hybrid-inference-k8s";
import { StackConfigError } from "./core/config/issues";
import { pulumiStackConfig } from "./core/config/pulumi-config";
import { loadPlan } from "./core/load";

const { plan, issues } = loadPlan(pulumiStackConfig());
if (!plan) {
  // RunError: Pulumi prints the message without a stack trace, and nothing is deployed.
  throw new pulumi.RunError(new StackConfigError(issues).message);
}
// Pulumi labels these as warnings itself.
for (const w of issues) pulumi.log.warn(`${w.path}: ${w.message}\n    fix: ${w.fix}`);

const config = new pulumi.Config();
const args = { plan, secret: (key: string) => config.requireSecret(key) };
// One component per target; both take the same plan and expose the same outputs.
const deployment = plan.spec.target === "kubernetes"
  ? new HybridInferenceK8s(pulumi.getStack(), args)
  : new HybridInference(pulumi.getStack(), args);

export const routerUrl = deployment.routerUrl;
export const modelNames = deployment.modelNames;
export const gpuInventory = deployment.inventory;
export const masterKey = deployment.masterKey;
/** kubernetes target only: the cluster's kubeconfig (secret: `pulumi stack output --show-secrets kubeconfig`). */
export const kubeconfig = deployment instanceof HybridInferenceK8s ? deployment.kubeconfig : undefined;
