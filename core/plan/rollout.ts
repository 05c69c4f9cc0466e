/**
 * How a change reaches a stack of several hosts without taking the self-hosted tier down: one
 * host at a time, each waiting until the host before it serves again.
 *
 * - The order is the stack's host order (the router's host first). Each host after the first
 *   waits for the previous host's readiness gate (its engine answering with the served model
 *   and adapters; with `workloads: false`, its card check) before its engine container is
 *   replaced and before its bootstrap steps that interrupt serving run (driver, reboot,
 *   Docker: `disruptsServing` in core/render/host-bootstrap.ts). So an image, model or flag
 *   change replaces one engine while the others serve, and a driver change reboots one host at
 *   a time.
 * - The gate's deadline is the engine's planned cold start (`engine.startupSeconds`: the
 *   weights' download at the stated bandwidth plus the load), so a broken model id, an
 *   out-of-memory start or a missing adapter fails the update instead of reaching users.
 *
 * The same waits apply on a first deployment, where nothing serves yet: a stack of N hosts then
 * comes up one host after the other (about N times one host's bootstrap and start). That is the
 * price of a dependency graph that cannot tell a first deployment from a change.
 *
 * Pure: decides, the components apply it with `dependsOn`.
 */
import { type StartupDerivation, engineStartup } from "./engine";
import type { DeploymentPlan } from "./types";

/** One host's place in the rollout. */
export interface HostRollout {
  readonly host: string;
  /** 1-based. */
  readonly position: number;
  /**
   * The host whose readiness gate must have passed before this host's engine is replaced and its
   * disruptive bootstrap steps run; null for the first host.
   */
  readonly waitsFor: string | null;
  /**
   * Seconds this host's gate waits after its engine serves, before the next host may change: the
   * router's `cooldown_time`. Requests the router sent while the engine was away failed, and it
   * took the engine out of rotation for that long; had the next host gone down meanwhile, no
   * engine would be in rotation. 0 for the last host (nothing follows it).
   */
  readonly settleS: number;
}

/** Stack order: each host waits for the one listed before it, and lets the router take it back first. */
export function rolloutOrder(hostNames: readonly string[], routerCooldownS = 0): HostRollout[] {
  if (new Set(hostNames).size !== hostNames.length) throw new Error(`rolloutOrder: duplicate host names in ${hostNames.join(", ")}`);
  return hostNames.map((host, i) => ({
    host, position: i + 1, waitsFor: i === 0 ? null : hostNames[i - 1]!, settleS: i < hostNames.length - 1 ? routerCooldownS : 0,
  }));
}

/** The plan's rollout: stack order, each host settling for the router's cooldown before the next one. */
export function planRollout(plan: Pick<DeploymentPlan, "hosts" | "router">): HostRollout[] {
  return rolloutOrder(plan.hosts.map((h) => h.name), plan.router.cooldownTimeS);
}

/** How often the readiness gate asks again. */
export const READINESS_POLL_S = 10;
/**
 * How long the router may take to answer `/health/readiness` and reach every engine after its
 * container starts [estimate]: LiteLLM starts in 10-60 s; the test harness allows 110 s on a
 * loaded 2-core machine; the rest is margin. The engines are serving by then (the router's
 * gate runs after theirs).
 */
export const ROUTER_READY_TIMEOUT_S = 300;
/** Lines of the container's log a failed gate prints (secrets redacted). */
export const READINESS_LOG_LINES = 50;

export interface ReadinessPlan {
  /** Seconds an engine's gate waits: `engine.startupSeconds`. */
  readonly engineTimeoutS: number;
  /** Where that figure comes from. */
  readonly engineStartup: StartupDerivation;
  readonly routerTimeoutS: number;
  readonly pollS: number;
  readonly logLines: number;
}

export function readinessPlan(plan: Pick<DeploymentPlan, "engine">): ReadinessPlan {
  const derivation = engineStartup(plan.engine.weightBytes);
  if (derivation.totalMinutes * 60 !== plan.engine.startupSeconds) {
    throw new Error(`readinessPlan: engine.startupSeconds ${plan.engine.startupSeconds} is not its derivation's ${derivation.totalMinutes} min`);
  }
  return { engineTimeoutS: plan.engine.startupSeconds, engineStartup: derivation, routerTimeoutS: ROUTER_READY_TIMEOUT_S, pollS: READINESS_POLL_S, logLines: READINESS_LOG_LINES };
}

const mb = (n: number): string => Math.round(n).toLocaleString("en-GB");

/** The rollout and readiness section of `plan`'s report (docker target). */
export function rolloutSummary(plan: DeploymentPlan): string[] {
  if (plan.target.kind !== "docker") return [];
  const order = planRollout(plan);
  const r = readinessPlan(plan);
  const d = r.engineStartup;
  const out = ["Rollout   one host at a time, in this order (engine replacements, driver, reboot and Docker changes):"];
  for (const h of order) {
    const router = h.host === plan.target.routerHost ? " (router host)" : "";
    const after = h.waitsFor ? `: after ${h.waitsFor} serves again and the router has taken it back (${plan.router.cooldownTimeS} s, its cooldown_time)` : "";
    out.push(`  ${h.position}. ${h.host}${router}${after}`);
  }
  if (!plan.spec.workloads) {
    out.push("Readiness each host's card check (workloads: false: no engine to wait for)");
    return out;
  }
  const names = [plan.engine.servedModelName, ...(plan.engine.lora?.adapters.map((a) => a.name) ?? [])];
  const what = plan.engine.kind === "vllm"
    ? `lists ${names.join(", ")} on /v1/models`
    : `answers /health and a one-token request for ${names.join(", ")}`;
  out.push(`Readiness pulumi up waits until each engine ${what}, within ${r.engineTimeoutS / 60} min: ` +
    `${mb(d.weightsMB)} MB of weights at ${d.downloadMBPerS} MB/s = ${d.downloadMinutes} min + ${d.loadMinutes} min to load` +
    `${d.downloadMinutes + d.loadMinutes < d.minimumMinutes ? `, at least ${d.minimumMinutes} min` : ""}; ` +
    `then until the router answers /health/readiness and reaches every engine, within ${r.routerTimeoutS / 60} min. ` +
    `A gate that fails prints the container's last ${r.logLines} log lines.`);
  return out;
}
