/**
 * A plan compared with the plan of the same stack at another git ref (`plan --against <ref>`):
 * which rendered files changed, which resources are added, removed or changed (and which of
 * their inputs), and what that means on the servers: containers replaced, steps re-run,
 * Deployments rolled. Pure: the caller renders both sides and hands the results in.
 */
import { type FilesDiff, diffFiles } from "./diff";
import type { ResourceRow } from "./resources";

export interface InputChange {
  readonly key: string;
  /** JSON of the value before and after (undefined: not set), secrets already masked. */
  readonly before: string | undefined;
  readonly after: string | undefined;
}

export interface ResourceChange {
  readonly type: string;
  readonly name: string;
  readonly kind: "added" | "removed" | "changed";
  readonly inputs: readonly InputChange[];
  /** The resource's own `name` input (a container's name on the host), when it has one. */
  readonly nameInput?: string;
}

/** One side of the comparison: what `plan` rendered at the base. */
export type BaseRendering =
  | { readonly status: "planned"; readonly files: Readonly<Record<string, string>>; readonly resources: readonly ResourceRow[] }
  /** The stack file did not exist at the base: everything is new. */
  | { readonly status: "absent" }
  /** The base's own `plan` refused the stack (its problems) or failed to run: compared with nothing. */
  | { readonly status: "failed"; readonly reason: string };

export interface PlanComparison {
  /** The ref as given and the commit it names. */
  readonly ref: string;
  readonly commit: string;
  readonly base: BaseRendering;
  readonly files: FilesDiff;
  readonly resources: readonly ResourceChange[];
  /** How the base was rendered, where it differs from this checkout (its lock file, say). */
  readonly notes: readonly string[];
}

const key = (r: ResourceRow) => `${r.type}::${r.name}`;
const nameOf = (r: ResourceRow) => (typeof r.inputs["name"] === "string" ? { nameInput: r.inputs["name"] } : {});

export function diffResources(before: readonly ResourceRow[], after: readonly ResourceRow[]): ResourceChange[] {
  const old = new Map(before.map((r) => [key(r), r]));
  const now = new Map(after.map((r) => [key(r), r]));
  const out: ResourceChange[] = [];
  for (const r of after) {
    const was = old.get(key(r));
    if (!was) {
      out.push({ type: r.type, name: r.name, kind: "added", inputs: [], ...nameOf(r) });
      continue;
    }
    const keys = [...new Set([...Object.keys(was.inputs), ...Object.keys(r.inputs)])].sort();
    const inputs = keys.flatMap((k): InputChange[] => {
      const a = was.inputs[k] === undefined ? undefined : JSON.stringify(was.inputs[k]);
      const b = r.inputs[k] === undefined ? undefined : JSON.stringify(r.inputs[k]);
      return a === b ? [] : [{ key: k, before: a, after: b }];
    });
    if (inputs.length > 0) out.push({ type: r.type, name: r.name, kind: "changed", inputs, ...nameOf(r) });
  }
  for (const r of before) if (!now.has(key(r))) out.push({ type: r.type, name: r.name, kind: "removed", inputs: [], ...nameOf(r) });
  return out;
}

/** Compares the head's rendering with the base's. Files the plan derives from everything else (its reports) are left out. */
export function comparePlans(ref: string, commit: string, base: BaseRendering, files: Readonly<Record<string, string>>, resources: readonly ResourceRow[], notes: readonly string[] = []): PlanComparison {
  const rendered = (f: Readonly<Record<string, string>>) => Object.fromEntries(Object.entries(f).filter(([p]) => !REPORT_FILES.has(p)));
  const before = base.status === "planned" ? base : { files: {}, resources: [] };
  return {
    ref, commit, base, notes,
    files: diffFiles(rendered(before.files), rendered(files)),
    resources: diffResources(before.resources, resources),
  };
}

/** The plan's own reports: not rendered deployment files, and summarised elsewhere in the diff. */
export const REPORT_FILES: ReadonlySet<string> = new Set(["plan.txt", "plan.md", "plan.diff", "resources.json"]);

const CONTAINER = "docker:index/container:Container";
const REMOTE_COMMAND = "command:remote:Command";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

/** What the changed resources do to running servers, one sentence each. */
export function consequences(c: PlanComparison): string[] {
  const out: string[] = [];
  for (const r of c.resources) {
    const changed = r.inputs.map((i) => i.key).join(", ");
    if (r.type === CONTAINER) {
      const name = r.nameInput ?? r.name;
      if (r.kind === "changed") out.push(`container ${name} is replaced (stopped, then started anew: its ${changed} changed)`);
      else if (r.kind === "added") out.push(`container ${name} is created`);
      else out.push(`container ${name} is removed`);
    } else if (r.type === REMOTE_COMMAND) {
      if (r.kind === "changed") out.push(`step ${r.name} runs again (its ${changed} changed)`);
      else if (r.kind === "added") out.push(`step ${r.name} runs (new)`);
      else out.push(`step ${r.name} is dropped (its delete command, if any, runs)`);
    } else if (r.type === DEPLOYMENT) {
      if (r.kind === "changed") out.push(`Deployment ${r.name} rolls its pods (its ${changed} changed)`);
      else if (r.kind === "added") out.push(`Deployment ${r.name} is created`);
      else out.push(`Deployment ${r.name} is deleted`);
    }
  }
  return out;
}

/** Short JSON for a report line: long values (scripts) are cut, their files are diffed in full. */
function short(v: string | undefined, width = 140): string {
  if (v === undefined) return "(not set)";
  return v.length > width ? `${v.slice(0, width - 3)}...` : v;
}

/** The whole comparison as the text `plan --against` prints and writes to out/<stack>/plan.diff. */
export function comparisonText(stack: string, c: PlanComparison): string {
  const out: string[] = [];
  out.push(`hybrid-inference plan diff: stack ${stack}, ${c.ref} (${c.commit.slice(0, 12)}) -> this checkout`);
  if (c.base.status === "absent") out.push(`The stack file does not exist at ${c.ref}: everything below is new.`);
  if (c.base.status === "failed") out.push(`The stack did not plan at ${c.ref}, so everything below is compared with nothing: ${c.base.reason}`);
  for (const n of c.notes) out.push(`Note: ${n}.`);
  const count = (kind: string, xs: readonly { kind: string }[]) => xs.filter((x) => x.kind === kind).length;
  out.push("", `Resources: ${count("added", c.resources)} added, ${count("removed", c.resources)} removed, ${count("changed", c.resources)} changed`);
  for (const r of c.resources) {
    out.push(`  ${r.kind === "added" ? "+" : r.kind === "removed" ? "-" : "~"} ${r.type} ${r.name}`);
    for (const i of r.inputs) out.push(`      ${i.key}: ${short(i.before)} -> ${short(i.after)}`);
  }
  const effects = consequences(c);
  if (effects.length > 0) {
    out.push("", "On the servers:");
    for (const e of effects) out.push(`  - ${e}`);
  }
  out.push("", `Rendered files: ${count("added", c.files.changes)} added, ${count("removed", c.files.changes)} removed, ${count("changed", c.files.changes)} changed`);
  for (const f of c.files.changes) out.push(`  ${f.kind === "added" ? "+" : f.kind === "removed" ? "-" : "~"} ${f.path} (+${f.added} -${f.removed})`);
  if (c.files.text !== "") out.push("", c.files.text.trimEnd());
  return `${out.join("\n")}\n`;
}
