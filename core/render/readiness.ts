/**
 * The readiness gate of the docker target (templates/engine/readiness.sh): after each engine
 * container and after the router, a step on the host that succeeds only once the container
 * serves what the plan says, within the plan's deadline (core/plan/rollout.ts). Rendered here
 * as plain data: which container, which check, what must be listed, which variables hold
 * secrets (their values are redacted from the logs a failure prints; the check reads the engine
 * key inside the container, by name).
 */
import * as path from "node:path";
import { ENGINE_API_KEY_ENV, ROUTER_ENGINE_KEY_ENV } from "../plan/env";
import { readinessPlan } from "../plan/rollout";
import type { DeploymentPlan } from "../plan/types";
import { httpUrl } from "../net/address";
import { type ContainerSpec, ROUTER_INTERNAL_PORT } from "./containers";
import { type BootstrapStep, makeStep } from "./host-bootstrap";
import { loraxRequestFields } from "./lorax";
import { renderScript } from "./script";

export const READINESS_STEP = "readiness";

/** What the check inside the container reads (HI_PROBES). */
export type ReadinessProbes =
  | { readonly url: string; readonly key_env: string; readonly models: readonly string[] }
  | { readonly url: string; readonly requests: readonly { readonly name: string; readonly model: string; readonly adapter_source?: string }[] }
  | {
    readonly url: string;
    readonly upstreams: readonly { readonly name: string; readonly kind: "vllm" | "lorax"; readonly api_base: string; readonly key_env?: string; readonly models: readonly string[] }[];
  };

const PROBE_START = "read -r -d '' PROBE <<'PY' || true\n";

/**
 * The check's Python program, as templates/engine/readiness.sh carries it (argv: mode, probes
 * JSON; prints what is served and exits 0, or why not yet and exits 1). The docker gate runs it
 * in the container with `docker exec`; the kubernetes target runs the same program as the
 * engine's readiness probe (core/render/kubernetes/workloads.ts), so both targets call an
 * engine ready by one rule.
 */
export function readinessProbeProgram(): string {
  const script = renderScript(path.join("engine", `${READINESS_STEP}.sh`));
  const from = script.indexOf(PROBE_START);
  const to = script.indexOf("\nPY\n", from);
  if (from < 0 || to < 0) throw new Error("templates/engine/readiness.sh has no PROBE program");
  return script.slice(from + PROBE_START.length, to + 1);
}

/** The names clients call: the served model, then each adapter. */
function servedNames(plan: DeploymentPlan): string[] {
  return [plan.engine.servedModelName, ...(plan.engine.lora?.adapters.map((a) => a.name) ?? [])];
}

function step(container: ContainerSpec, check: "vllm" | "lorax" | "router", probes: ReadinessProbes, timeoutS: number, settleS: number, plan: DeploymentPlan): BootstrapStep {
  const r = readinessPlan(plan);
  return makeStep(READINESS_STEP, renderScript(path.join("engine", `${READINESS_STEP}.sh`)), {
    HI_CONTAINER: container.name,
    HI_CHECK: check,
    HI_PROBES: JSON.stringify(probes),
    HI_SECRET_ENV: Object.keys(container.secretEnv).sort().join(","),
    HI_TIMEOUT_S: String(timeoutS),
    HI_POLL_S: String(r.pollS),
    HI_LOG_LINES: String(r.logLines),
    HI_SETTLE_S: String(settleS),
  });
}

/**
 * The gate after one host's engine container; `settleS` (core/plan/rollout.ts `HostRollout`) is
 * how long it waits after the engine serves, so the router has taken it back before the next
 * host of the rollout changes.
 */
export function engineReadinessStep(plan: DeploymentPlan, engine: ContainerSpec, settleS = 0): BootstrapStep {
  const { check, probes } = engineReadinessCheck(plan);
  return step(engine, check, probes, readinessPlan(plan).engineTimeoutS, settleS, plan);
}

/**
 * What serving means for the plan's engine, checked from inside its container: vLLM lists the
 * served name and every adapter on `/v1/models` (with the engine key); LoRAX answers `/health`
 * and one token for each name (it loads adapters on first use and has no models route).
 */
export function engineReadinessCheck(plan: DeploymentPlan): { check: "vllm" | "lorax"; probes: ReadinessProbes } {
  const url = httpUrl("http", "127.0.0.1", plan.engine.port);
  switch (plan.engine.kind) {
    case "vllm":
      return { check: "vllm", probes: { url, key_env: ENGINE_API_KEY_ENV, models: servedNames(plan) } };
    case "lorax": {
      const requests = servedNames(plan).map((name) => {
        const f = loraxRequestFields(plan.engine, name);
        return { name, model: f.model, ...(f.adapterSource ? { adapter_source: f.adapterSource } : {}) };
      });
      return { check: "lorax", probes: { url, requests } };
    }
    default: {
      const unreachable: never = plan.engine.kind;
      throw new Error(`unknown engine ${String(unreachable)}`);
    }
  }
}

/** The gate after the router: its own readiness, then every engine as the router reaches it. */
export function routerReadinessStep(plan: DeploymentPlan, router: ContainerSpec): BootstrapStep {
  const kind = plan.engine.kind;
  const upstreams = plan.router.upstreams.map((u) => ({
    name: u.name, kind, api_base: u.apiBase, ...(kind === "vllm" ? { key_env: ROUTER_ENGINE_KEY_ENV } : {}), models: servedNames(plan),
  }));
  return step(router, "router", { url: httpUrl("http", "127.0.0.1", ROUTER_INTERNAL_PORT), upstreams }, readinessPlan(plan).routerTimeoutS, 0, plan);
}

