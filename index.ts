/**
 * The Pulumi program: stack config -> validated spec -> plan -> rendering -> resources.
 * Every decision is made in `core/`; this file only wires Pulumi to it.
 */
import * as pulumi from "@pulumi/pulumi";
import { HybridInference } from "./components/hybrid-inference";
import { HybridInferenceK8s } from "./components/kubernetes/hybrid-inference-k8s";
import { pulumiStackConfig } from "./components/pulumi-config";
import { StackConfigError } from "./core/config/issues";
import { loadPlan } from "./core/load";
import { renderTarget } from "./core/render/target";

const { plan, issues } = loadPlan(pulumiStackConfig());
if (!plan) {
  // RunError: Pulumi prints the message without a stack trace, and nothing is deployed.
  throw new pulumi.RunError(new StackConfigError(issues).message);
}
// Pulumi labels these as warnings itself.
for (const w of issues) pulumi.log.warn(`${w.path}: ${w.message}\n    fix: ${w.fix}`);

const config = new pulumi.Config();
const secret = (key: string): pulumi.Output<string> => config.requireSecret(key);
// The same rendering `npm run plan` writes to out/<stack>/; one component per target, same outputs.
const rendering = renderTarget(plan);
const deployment = rendering.kind === "kubernetes"
  ? new HybridInferenceK8s(pulumi.getStack(), { plan, secret, rendering })
  : new HybridInference(pulumi.getStack(), { plan, secret, rendering });

export const routerUrl = deployment.routerUrl;
export const modelNames = deployment.modelNames;
export const gpuInventory = deployment.inventory;
export const masterKey = deployment.masterKey;
/** docker target with `benchmark.enabled`: what vLLM's own benchmark measured per host (`npm run calibrate --from`). */
export const measuredCapacity = deployment instanceof HybridInference ? deployment.measuredCapacity : undefined;
/** kubernetes target only: the cluster's kubeconfig (secret: `pulumi stack output --show-secrets kubeconfig`). */
export const kubeconfig = deployment instanceof HybridInferenceK8s ? deployment.kubeconfig : undefined;
