import { findGpu, findModel } from "./catalog";
import { type ConfigIssue, PROJECT, hasErrors } from "./config/issues";
import { STACK_KEYS, type StackKey, type StackSpec } from "./config/schema";
import type { RawStackConfig } from "./config/source";
import { type ParsedParts, validateStackConfig } from "./config/validate";
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
  if (!validated.spec) return { issues: [...validated.issues, ...planWhatParsed(raw.stack, validated.parts, validated.failed, validated.issues)] };
  const result = plan(validated.spec);
  if (!result.ok) return { issues: [...validated.issues, ...result.issues] };
  return { plan: result.plan, issues: [...validated.issues, ...result.plan.warnings] };
}

/** The keys the fit of the model on the hosts depends on: without all of them, no fit is checked. */
const FIT_KEYS: readonly StackKey[] = ["model", "hosts", "engine", "adapters"];

/**
 * Stand-ins for required keys the fit does not depend on, so a stack whose router or access is
 * broken still gets its fit checked. Nothing planned from a stand-in is reported.
 */
const STAND_INS: Partial<Record<StackKey, unknown>> = {
  environment: "dev",
  router: { allowed_cidrs: ["0.0.0.0/0"] },
  access: { admin_cidrs: ["0.0.0.0/0"] },
};

/**
 * When a stack has errors, plans what it can from the keys that parsed, so every independent
 * problem shows in one run: a model that does not fit is reported next to, say, a missing token
 * or a broken router. Only when the model, the hosts and the engine settings all parsed and name
 * catalog entries; other broken keys stand in with defaults, and issues about them (or anything
 * planned from them) are left out, as are issues the validation already reported.
 */
function planWhatParsed(stack: string, parts: ParsedParts, failed: ReadonlySet<StackKey>, known: readonly ConfigIssue[]): ConfigIssue[] {
  if (FIT_KEYS.some((k) => failed.has(k))) return [];
  if (!parts.model || !findModel(parts.model.id) || !parts.hosts || parts.hosts.some((h) => !findGpu(h.gpu))) return [];
  const values: Record<string, unknown> = { stack };
  for (const key of Object.keys(STACK_KEYS) as StackKey[]) {
    const parsed = parts[key];
    values[key] = parsed !== undefined ? parsed : STACK_KEYS[key].schema.parse(STAND_INS[key]);
  }
  const result = plan(values as unknown as StackSpec);
  const issues = result.ok ? result.plan.warnings : result.issues;
  const stoodIn = (i: ConfigIssue) => [...failed].some((k) => i.path === `${PROJECT}:${k}` || i.path.startsWith(`${PROJECT}:${k}.`) || i.path.startsWith(`${PROJECT}:${k}[`));
  const seen = new Set(known.map((i) => `${i.path}\n${i.message}`));
  // With traffic stood in, capacity warnings would describe made-up traffic.
  return issues.filter((i) => !stoodIn(i) && !seen.has(`${i.path}\n${i.message}`) && (hasErrors([i]) || !failed.has("traffic")));
}
