/**
 * The router: its image, tiers, credentials, model names, and its engine upstreams with their
 * limits, computed once from the target's engines (a host's engine on docker, an engine group's
 * Service on kubernetes). Every renderer of the router config reads `upstreams`.
 */
import { FRONTIER_PROVIDERS, MANAGED_PROVIDERS } from "../catalog/providers";
import type { ModelSpec } from "../catalog/types";
import type { StackSpec } from "../config/schema";
import { httpUrl } from "../net/address";
import versions from "../versions.json";
import { FRONTIER_MODEL_NAME } from "./env";
import { serviceHost } from "./kubernetes";
import { routerPolicy } from "./router-policy";
import type { CapacityEstimate } from "./capacity";
import type { ApiTierPlan, EngineUpstream, HostPlan, RouterPlan, RouterSecretEnv, TargetPlan, TlsPlan } from "./types";

/** Host directory of the TLS edge's certificates and ACME account. */
export const EDGE_DATA_DIR = "/var/lib/hybrid-inference/caddy";

/** Router instances, each running `num_workers` processes: one container on docker, the minimum pods on kubernetes. */
export function routerInstances(spec: StackSpec): number {
  return spec.target === "kubernetes" ? spec.kubernetes.router_replicas : 1;
}

/**
 * One process's share of a limit. LiteLLM counts requests in each worker process of each router
 * instance on its own (no shared store), so N processes would admit N times the limit.
 */
export function perProcess(limit: number, processes: number): number {
  return Math.max(1, Math.floor(limit / Math.max(1, processes)));
}

/** An upstream of `replicas` engine replicas that each serve `replica`, shared by `processes` router processes. */
export function engineUpstream(name: string, apiBase: string, replica: CapacityEstimate, replicas: number, processes: number): EngineUpstream {
  const rpm = replica.routerRpm * replicas;
  const tpm = replica.routerTpm * replicas;
  return { name, apiBase, replicas, rpm, tpm, rpmPerProcess: perProcess(rpm, processes), tpmPerProcess: perProcess(tpm, processes) };
}

/** The router's engine upstreams: each docker host's engine, or each kubernetes engine group's Service. */
function upstreams(spec: StackSpec, hosts: readonly HostPlan[], target: TargetPlan, processes: number): EngineUpstream[] {
  switch (target.kind) {
    case "docker":
      return target.hosts.map((t) => {
        const host = hosts.find((h) => h.name === t.name)!;
        return engineUpstream(host.name, t.endpoint.apiBase, host.replicaCapacity, host.replicas, processes);
      });
    case "kubernetes":
      return target.placement.groups.map((g) => engineUpstream(
        g.name,
        httpUrl("http", serviceHost(g.name, target.settings.namespace), spec.engine.port, "/v1"),
        g.perReplica,
        g.replicas,
        processes,
      ));
    default: {
      const unreachable: never = target;
      throw new Error(`unknown target ${JSON.stringify(unreachable)}`);
    }
  }
}

export function routerPlan(
  spec: StackSpec,
  model: ModelSpec,
  servedModelName: string,
  hosts: readonly HostPlan[],
  target: TargetPlan,
): RouterPlan {
  const secretEnv: RouterSecretEnv[] = [];
  /** One env var per distinct credential: two entries of one provider with different keys get `_2`, `_3`. */
  const envFor = (base: string, configKey: string): string => {
    const existing = secretEnv.find((s) => s.configKey === configKey && s.env.startsWith(base));
    if (existing) return existing.env;
    const taken = secretEnv.filter((s) => s.env === base || s.env.startsWith(`${base}_`)).length;
    const env = taken === 0 ? base : `${base}_${taken + 1}`;
    secretEnv.push({ env, configKey });
    return env;
  };
  const m = spec.router.managed;
  const managed: ApiTierPlan | null = m
    ? {
        provider: m.provider,
        litellmModel: `${MANAGED_PROVIDERS[m.provider].litellmPrefix}${m.model ?? model.managedIds[m.provider]!}`,
        apiKeyEnv: envFor(MANAGED_PROVIDERS[m.provider].apiKeyEnv, m.api_key_secret),
      }
    : null;
  const frontier: ApiTierPlan[] = spec.router.frontier.map((f) => ({
    provider: f.provider,
    litellmModel: `${FRONTIER_PROVIDERS[f.provider].litellmPrefix}${f.model}`,
    apiKeyEnv: envFor(FRONTIER_PROVIDERS[f.provider].apiKeyEnv, f.api_key_secret),
  }));
  const modelNames = [servedModelName, ...spec.adapters.map((a) => a.name), ...(frontier.length > 0 ? [FRONTIER_MODEL_NAME] : [])];
  const t = spec.router.tls;
  const tls: TlsPlan | null = t
    ? {
        image: { repository: versions.caddy.image, tag: versions.caddy.tag },
        domain: t.domain,
        ...(t.email ? { email: t.email } : {}),
        ...(t.certificate_secret && t.private_key_secret ? { certificate: { certificateKey: t.certificate_secret, privateKeyKey: t.private_key_secret } } : {}),
        dataDir: EDGE_DATA_DIR,
      }
    : null;
  const instances = routerInstances(spec);
  const processes = instances * spec.router.num_workers;
  return {
    image: { repository: versions.litellm.image, tag: versions.litellm.tag },
    tls,
    managed,
    frontier,
    hardTag: spec.router.hard_tag,
    requestTimeoutS: spec.router.request_timeout_s,
    numRetries: spec.router.num_retries,
    allowedFails: spec.router.allowed_fails,
    cooldownTimeS: spec.router.cooldown_time_s,
    adminUi: spec.router.admin_ui,
    port: spec.router.port,
    numWorkers: spec.router.num_workers,
    instances,
    allowedCidrs: spec.router.allowed_cidrs,
    modelNames,
    secretEnv,
    upstreams: upstreams(spec, hosts, target, processes),
    policy: routerPolicy(spec, frontier, envFor),
  };
}
