/**
 * The hybrid-inference policy pack: `pulumi preview --policy-pack policy` (or `pulumi up`)
 * runs it over every resource of the stack. Rules: policy/rules/; wiring: policy/policies.ts.
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICY_PACK_NAME, policies } from "./policies";
import { preserveSecretsInAnalysis } from "./secret-view";

// Before the pack starts serving: let the credentials policy see which values are secrets.
preserveSecretsInAnalysis();

new PolicyPack(POLICY_PACK_NAME, {
  description: "Safe per-environment delivery for hybrid-inference: residency, private engine ports, pinned images, credentials as secrets, resilient prod.",
  enforcementLevel: "mandatory",
  policies,
});
