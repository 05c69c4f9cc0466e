/**
 * Feeds the policy rules what the real program asks for: resources recorded under Pulumi's
 * mocks (cli/mock-run.ts), as the rules' views, with URNs built the way the engine builds them.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { SECRET_MASK } from "../../cli/mock-run";
import type { ResourceView, RuleResult, Violation } from "../../policy/view";
import { isNotApplicable } from "../../policy/view";

export const ROOT = path.join(__dirname, "..", "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
export const PROJECT = "hybrid-inference";

export interface Recorded {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  /** Under runProgramUnderMocks: inputs with secrets as `{ secret: value }`. */
  readonly rawInputs?: Record<string, unknown>;
  readonly parent?: string;
}

/** `urn:pulumi:<stack>::<project>::<ancestor types>$<type>::<name>`, as the engine writes it. */
export function urnOf(r: Recorded, byKey: ReadonlyMap<string, Recorded>, stack: string): string {
  const types = [r.type];
  let parent = r.parent ? byKey.get(r.parent) : undefined;
  while (parent && parent.type !== "pulumi:pulumi:Stack") {
    types.unshift(parent.type);
    parent = parent.parent ? byKey.get(parent.parent) : undefined;
  }
  return `urn:pulumi:${stack}::${PROJECT}::${types.join("$")}::${r.name}`;
}

/** Masked inputs (`[secret]`) back to the secret wrappers the rules read. */
export function unmask(v: unknown): unknown {
  if (v === SECRET_MASK) return { secret: SECRET_MASK };
  if (Array.isArray(v)) return v.map(unmask);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unmask(x)]));
  return v;
}

export function toViews(resources: readonly Recorded[], stack: string, props: (r: Recorded) => Record<string, unknown> = (r) => r.inputs): ResourceView[] {
  const byKey = new Map(resources.map((r) => [`${r.type}::${r.name}`, r]));
  return resources.map((r) => ({ type: r.type, name: r.name, urn: urnOf(r, byKey, stack), props: props(r) }));
}

/** Resources of a shipped stack from `npm run plan -- --json` (its own process: mock state is per process). */
export function planResources(stack: string): Recorded[] {
  const out = mkdtempSync(path.join(tmpdir(), "hi-policy-plan-"));
  try {
    const r = spawnSync(TSX, [path.join(ROOT, "cli", "plan.ts"), "--stack", stack, "--json", "--out", out], { cwd: ROOT, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`plan --stack ${stack} failed (${r.status}): ${r.stderr}`);
    return (JSON.parse(r.stdout) as { resources: Recorded[] }).resources;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** The violations of a result, failing the test if the rule was not applicable. */
export function violations(result: RuleResult): readonly Violation[] {
  if (isNotApplicable(result)) throw new Error(`rule not applicable: ${result.notApplicable}`);
  return result;
}

export function messages(result: RuleResult): string[] {
  return violations(result).map((v) => v.message);
}

/** A resource view from literals. */
export function resource(type: string, name: string, props: Record<string, unknown>, opts: { stack?: string; parents?: string[] } = {}): ResourceView {
  const chain = [...(opts.parents ?? []), type].join("$");
  return { type, name, urn: `urn:pulumi:${opts.stack ?? "prod"}::${PROJECT}::${chain}::${name}`, props };
}
