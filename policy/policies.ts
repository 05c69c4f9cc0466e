/**
 * The policies of the hybrid-inference pack: each adapts @pulumi/policy's arguments to the
 * rules' plain view (policy/view.ts) and reports what a rule in policy/rules/ finds. Every
 * policy is mandatory: a violation stops `pulumi preview` and `pulumi up`.
 * Policy config (`pulumi preview --policy-pack policy --policy-pack-config <file>`) can turn
 * one down for a stack, e.g. `{ "prod-resilience": "advisory" }`.
 */
import type { Policies, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { checkCredentials, isCredentialBearing } from "./rules/credentials";
import { checkEnginePorts } from "./rules/engine-ports";
import { checkPinnedImages } from "./rules/pinned-images";
import { DEFAULT_PROD_RESILIENCE, type ProdResilienceConfig, checkProdResilience } from "./rules/prod-resilience";
import { checkResidency } from "./rules/residency";
import { secretsObservable, toViewProps } from "./secret-view";
import { type ResourceView, type RuleResult, isNotApplicable } from "./view";

export const POLICY_PACK_NAME = "hybrid-inference";

interface ViewSource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly props: Record<string, unknown>;
}

export function viewOf(r: ViewSource): ResourceView {
  return { type: r.type, name: r.name, urn: r.urn, props: toViewProps(r.props) };
}

function report(result: RuleResult, args: { notApplicable(reason?: string): never }, reportViolation: ReportViolation): void {
  if (isNotApplicable(result)) args.notApplicable(result.notApplicable);
  for (const v of result) reportViolation(v.message, v.urn);
}

function resourcePolicy(name: string, description: string, rule: (r: ResourceView) => RuleResult): ResourceValidationPolicy {
  return {
    name,
    description,
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => report(rule(viewOf(args)), args, reportViolation),
  };
}

export const SECRETS_UNOBSERVABLE =
  "cannot tell Pulumi secrets from plain text with this version of @pulumi/policy (policy/secret-view.ts found no secret markers): " +
  "pin @pulumi/policy 1.21.x or update policy/secret-view.ts";

const credentialsPolicy: ResourceValidationPolicy = {
  name: "credentials-as-secrets",
  description: "Credentials reach containers and hosts only as Pulumi secrets: credential env vars, SSH keys and registry passwords are secrets; no literal credential in argv or an uploaded config.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (!isCredentialBearing(args.type)) return;
    // Fail closed: a mandatory check that cannot see secrets must not pass silently.
    if (!secretsObservable()) {
      reportViolation(SECRETS_UNOBSERVABLE);
      return;
    }
    report(checkCredentials(viewOf(args)), args, reportViolation);
  },
};

function prodConfig(args: StackValidationArgs): ProdResilienceConfig {
  const c = args.getConfig<Partial<ProdResilienceConfig>>();
  return {
    prodEnvironments: c.prodEnvironments ?? DEFAULT_PROD_RESILIENCE.prodEnvironments,
    minHostsOrReplicas: c.minHostsOrReplicas ?? DEFAULT_PROD_RESILIENCE.minHostsOrReplicas,
  };
}

const prodResiliencePolicy: StackValidationPolicy = {
  name: "prod-resilience",
  description: "A production stack has a frontier fallback in its router config and at least two engine hosts or router replicas.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      prodEnvironments: {
        type: "array",
        items: { type: "string" },
        default: [...DEFAULT_PROD_RESILIENCE.prodEnvironments],
        description: "Environment (or stack) names that count as production.",
      },
      minHostsOrReplicas: {
        type: "integer",
        minimum: 1,
        default: DEFAULT_PROD_RESILIENCE.minHostsOrReplicas,
        description: "The fewest engine hosts, or router replicas, a production stack may run.",
      },
    },
  },
  validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) =>
    report(checkProdResilience(args.resources.map(viewOf), prodConfig(args)), args, reportViolation),
};

export const policies: Policies = [
  resourcePolicy(
    "uk-residency",
    "Under residency uk, every GPU host is in a UK datacenter (read from the HybridInference component's inputs).",
    checkResidency,
  ),
  resourcePolicy(
    "no-public-engine-port",
    "Engine containers publish no port, except on a private address (RFC 1918, IPv6 ULA) or loopback; no host networking.",
    checkEnginePorts,
  ),
  resourcePolicy(
    "pinned-images",
    "Every image is pinned to a version tag or a digest, never latest.",
    checkPinnedImages,
  ),
  credentialsPolicy,
  prodResiliencePolicy,
];
