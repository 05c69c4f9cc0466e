/** The shipped stacks' plans, for the monitoring tests. */
import { readdirSync } from "node:fs";
import path from "node:path";
import { MASKED_SECRET, readStackFile } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import type { DeploymentPlan } from "../../core/plan/types";

const STACK_DIR = path.join(__dirname, "..", "..", "stacks");
export const STACKS = readdirSync(STACK_DIR).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter((s): s is string => s !== undefined);

/** A shipped stack's plan; `patch` edits its raw values first; `secrets` adds config keys set as Pulumi secrets. */
export function planOf(stack: string, patch?: (v: Record<string, unknown>) => void, secrets: readonly string[] = []): DeploymentPlan {
  const file = readStackFile(path.join(STACK_DIR, `Pulumi.${stack}.yaml`), stack);
  const raw = { ...file, secretKeys: new Set([...file.secretKeys, ...secrets]) };
  for (const key of secrets) (raw.values as Record<string, unknown>)[key] = MASKED_SECRET;
  patch?.(raw.values as Record<string, unknown>);
  const r = loadPlan(raw);
  if (!r.plan) throw new Error(`stack ${stack}: ${JSON.stringify(r.issues)}`);
  return r.plan;
}
