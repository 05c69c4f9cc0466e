/**
 * The Pulumi program: stack config -> validated spec -> plan -> resources.
 * Every decision is made in `core/`; this file only wires Pulumi to it.
 */
import * as pulumi from "@pulumi/pulumi";
import { HybridInference } from "./components/hybrid-inference";
import { StackConfigError, formatIssues } from "./core/config/issues";
import { pulumiStackConfig } from "./core/config/pulumi-config";
import { loadPlan } from "./core/load";

const { plan, issues } = loadPlan(pulumiStackConfig());
if (!plan) {
  // RunError: Pulumi prints the message without a stack trace, and nothing is deployed.
  throw new pulumi.RunError(new StackConfigError(issues).message);
}
for (const w of issues) pulumi.log.warn(formatIssues([w]));

const config = new pulumi.Config();
const deployment = new HybridInference(pulumi.getStack(), {
  plan,
  secret: (key) => config.requireSecret(key),
});

export const routerUrl = deployment.routerUrl;
export const modelNames = deployment.modelNames;
export const gpuInventory = deployment.inventory;
export const masterKey = deployment.masterKey;
