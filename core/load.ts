import type { ConfigIssue } from "./config/issues";
import type { RawStackConfig } from "./config/source";
import { validateStackConfig } from "./config/validate";
import { plan } from "./plan/plan";
import type { DeploymentPlan } from "./plan/types";

export interface LoadResult {
  /** Present when there is no error; warnings may still be listed in `issues`. */
  readonly plan?: DeploymentPlan;
  /** Every problem found, schema and fit alike, errors and warnings. */
  readonly issues: readonly ConfigIssue[];
}

/** Raw stack config -> validated spec -> plan, with every issue collected on the way. */
export function loadPlan(raw: RawStackConfig): LoadResult {
  const validated = validateStackConfig(raw);
  if (!validated.spec) return { issues: validated.issues };
  const result = plan(validated.spec);
  if (!result.ok) return { issues: [...validated.issues, ...result.issues] };
  return { plan: result.plan, issues: [...validated.issues, ...result.plan.warnings] };
}
