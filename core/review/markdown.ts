/**
 * `plan.md`: the plan written for a pull request comment. It leads with what a reviewer must
 * not miss (problems and warnings), then what will happen to the servers, then what the
 * deployment downloads and how long until it serves, then what it costs. Every fact comes from
 * the plan, its rendering and (with `--against`) the comparison with the base.
 */
import type { ConfigIssue } from "../config/issues";
import { costSection } from "../costs/plan-costs";
import { frontierWorstDayLine } from "../costs/frontier-worst-day";
import { rolloutSummary } from "../plan/rollout";
import type { DeploymentPlan } from "../plan/types";
import type { TargetRendering } from "../render/target";
import { type PlanComparison, consequences } from "./compare";
import { downloadEstimate, gigabytes } from "./downloads";
import type { ResourceRow } from "./resources";
import { clusterChanges, serverChanges } from "./servers";

export interface ReviewInput {
  readonly plan: DeploymentPlan;
  readonly rendering: TargetRendering;
  readonly issues: readonly ConfigIssue[];
  readonly resources: readonly ResourceRow[];
  readonly comparison?: PlanComparison;
}

/** Text safe inside a Markdown paragraph or table cell: no HTML, no table breaks, no stray emphasis. */
export function mdText(s: string): string {
  return s.replace(/[\\`*_[\]<>|]/g, (c) => `\\${c}`).replace(/\r?\n/g, " ");
}

/** A code span that holds any text: the fence is longer than any run of backticks inside. */
export function mdCode(s: string): string {
  const longest = Math.max(0, ...[...s.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  const body = s.replace(/\r?\n/g, " ");
  return `${fence}${body.startsWith("`") || body.endsWith("`") ? ` ${body} ` : body}${fence}`;
}

/** A fenced block that holds any text. */
function fenced(text: string, info = "text"): string {
  const longest = Math.max(2, ...[...text.matchAll(/`{3,}/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${info}\n${text.trimEnd()}\n${fence}`;
}

function problems(issues: readonly ConfigIssue[]): string[] {
  if (issues.length === 0) return ["None: the stack validates and plans without a warning."];
  const sorted = [...issues].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
  return sorted.map((i) => `- **${i.severity}** ${mdCode(i.path)}: ${mdText(i.message)}. Fix: ${mdText(i.fix)}`);
}

function servers(r: ReviewInput): string[] {
  const { plan, rendering, comparison } = r;
  const out: string[] = [];
  const changes = serverChanges(plan, rendering);
  if (changes.length === 0) {
    out.push(`Nothing is run on a server: the workloads go into an existing Kubernetes cluster (namespace ${mdCode(plan.target.kind === "kubernetes" ? plan.target.settings.namespace : "")}).`);
  }
  for (const h of changes) {
    out.push(`**${mdText(h.host)}** (${mdCode(h.address)}), in this order:`, "");
    h.actions.forEach((a, i) => out.push(`${i + 1}. ${a.disruptive ? "**" : ""}${mdText(a.text)}${a.disruptive ? "**" : ""}`));
    out.push("");
  }
  if (!plan.spec.workloads) out.push("No engine or router is deployed (`workloads: false`): the hosts are bootstrapped and verified only.", "");
  // The order and the gate's deadline, as plan.txt states them (core/plan/rollout.ts).
  const rollout = rolloutSummary(plan);
  if (rollout.length > 0) out.push("Steps in bold reboot their host, interrupt what it serves or change how it is reached. The order and the readiness gate:", "", fenced(rollout.join("\n")), "");
  const cluster = plan.spec.workloads ? clusterChanges(rendering) : [];
  if (cluster.length > 0) {
    out.push(`In the cluster (namespace ${mdCode(plan.target.kind === "kubernetes" ? plan.target.settings.namespace : "")}):`, "");
    for (const c of cluster) out.push(`- ${mdText(c)}`);
    out.push("");
  }
  if (comparison) {
    const effects = consequences(comparison);
    out.push(`Compared with ${mdCode(comparison.ref)} (${mdCode(comparison.commit.slice(0, 12))}), this change:`, "");
    if (comparison.base.status === "absent") out.push("- deploys the stack for the first time: every step above runs and every container is created");
    else if (comparison.base.status === "failed") out.push(`- cannot be compared: the stack did not plan at the base (${mdText(comparison.base.reason)})`);
    else if (effects.length === 0) out.push("- changes nothing that runs on the servers");
    for (const e of effects) out.push(`- ${mdText(e)}`);
  } else {
    out.push("On a first deployment every step above runs and every container is created. Afterwards a step runs again only when its script or inputs change, " +
      "and a container is replaced when its image, command, environment or files change: `npm run plan -- --against <git ref>` lists which.");
  }
  return out;
}

function downloads(plan: DeploymentPlan): string[] {
  const d = downloadEstimate(plan);
  const out: string[] = [];
  if (d.hosts.length === 0) return ["Nothing is downloaded for the workloads (`workloads: false`)."];
  out.push("| host | weights | images | total |", "| --- | --- | --- | --- |");
  for (const h of d.hosts) {
    out.push(`| ${mdText(h.host)} | ${gigabytes(h.weightBytes)} (${mdCode(plan.engine.hfRepo)}, ${plan.engine.quantization}) | ` +
      `${h.images.map((i) => `${mdCode(i.image)} ~${gigabytes(i.bytes)}`).join(", ")} | ${gigabytes(h.totalBytes)} |`);
  }
  out.push("", `In all about ${gigabytes(d.totalBytes)} on a first deployment; the weights stay in ${mdCode(plan.spec.access.cache_dir)} across restarts. ` +
    `Image sizes are estimates: ${[...new Map(d.hosts.flatMap((h) => h.images).map((i) => [i.image, i])).values()].map((i) => `${mdCode(i.image)}: ${mdText(i.basis)}`).join("; ")}.`);
  const s = d.startup;
  const minutes = Math.round(s.seconds / 60);
  out.push("", `**Time to serve:** an engine is allowed ${minutes} min from a cold start to its first answer (${mdCode("engine.startupSeconds")}): ` +
    `the ${gigabytes(plan.engine.weightBytes)} of weights at ${s.mbPerSecond} MB/s (${s.downloadMinutes} min), then ${s.loadMinutes} min to load them into GPU memory, compile and capture CUDA graphs` +
    `${s.floorApplied ? ` (the planner never allows less than ${s.floorMinutes} min in all)` : ""}. ` +
    `Pulling the engine image at the same rate takes about ${s.imagePullMinutes} min more, and a fresh host first installs the driver and reboots. ` +
    `The health check waits that long before it counts a failure; a faster link only finishes early.`);
  return out;
}

export function planMarkdown(r: ReviewInput): string {
  const { plan } = r;
  const { spec } = plan;
  const errors = r.issues.filter((i) => i.severity === "error").length;
  const warnings = r.issues.length - errors;
  const out: string[] = [];
  out.push(`### Plan for stack ${mdCode(spec.stack)}`, "");
  out.push(`${mdCode(plan.model.id)} as ${plan.engine.quantization} with ${plan.engine.maxModelLen.toLocaleString("en-GB")} tokens of context on ` +
    `${plan.hosts.length} host${plan.hosts.length > 1 ? "s" : ""} (${[...new Set(plan.hosts.map((h) => `${h.gpuCount}x ${h.gpu.id}`))].join(", ")}), ` +
    `${spec.target} target, environment ${spec.environment}, residency ${spec.residency}.`);
  if (r.comparison) {
    const c = r.comparison;
    out.push("", `Compared with ${mdCode(c.ref)}: ${c.resources.length} resource${c.resources.length === 1 ? "" : "s"} and ${c.files.changes.length} rendered file${c.files.changes.length === 1 ? "" : "s"} change (the diff follows in ${mdCode("plan.diff")}).`);
  }
  out.push("", `#### Problems and warnings (${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"})`, "", ...problems(r.issues));
  out.push("", "#### What will happen to your servers", "", ...servers(r));
  out.push("", "#### Downloads and time to serve", "", ...downloads(plan));
  const worstDay = frontierWorstDayLine(plan);
  out.push("", "#### Costs", "", fenced([costSection(plan), ...(worstDay ? ["", worstDay] : [])].join("\n")));
  out.push("", `<sub>${mdText(`${r.resources.length} resources; the full report, every rendered file and the resource list are in out/${spec.stack}/ (npm run plan).`)}</sub>`);
  return `${out.join("\n")}\n`;
}
