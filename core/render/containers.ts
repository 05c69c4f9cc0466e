/**
 * Container specifications as plain data: what the engine and router containers run,
 * with which GPUs, mounts, ports and health checks. The Docker components translate
 * these one to one; the Kubernetes target reads the same specs.
 */
import { ENGINE_API_KEY_ENV, HF_TOKEN_ENV, ROUTER_ENGINE_KEY_ENV, ROUTER_MASTER_KEY_ENV } from "../plan/env";
import type { EngineKind } from "../catalog/types";
import type { DeploymentPlan, DockerHostTarget, DockerTargetPlan, HostPlan, ImageRef } from "../plan/types";
import { EDGE_CERT_PATH, EDGE_HEALTH_PORT, EDGE_KEY_PATH, renderCaddyfile } from "./caddyfile";
import { engineArgs } from "./engine-args";
import { routerMetricsArgs } from "./monitoring/router-metrics";
import { LORAX_HUB_CACHE } from "./lorax";

/** A secret the container receives as env; the value comes from Pulumi, never from this spec. */
export type SecretSource =
  | { readonly kind: "config"; readonly configKey: string }
  | { readonly kind: "engine-api-key" }
  | { readonly kind: "router-master-key" };

export interface ContainerSpec {
  readonly name: string;
  readonly image: ImageRef;
  /** Arguments to the image's entrypoint. */
  readonly command: readonly string[];
  /** Plain env; secrets are listed in `secretEnv` only. */
  readonly env: Readonly<Record<string, string>>;
  readonly secretEnv: Readonly<Record<string, SecretSource>>;
  /** `all`, a count, or none. */
  readonly gpus: "all" | number | null;
  readonly shmSizeMb?: number;
  readonly volumes: readonly { readonly hostPath: string; readonly containerPath: string; readonly readOnly: boolean }[];
  /** Published ports; empty for anything but the router and cross-host engines. */
  readonly ports: readonly { readonly internal: number; readonly external: number; readonly ip?: string }[];
  readonly healthcheck: {
    readonly test: readonly string[];
    readonly interval: string;
    readonly timeout: string;
    readonly retries: number;
    /** Grace period before failures count: the engine's port only opens after the model is downloaded and loaded. */
    readonly startPeriod: string;
  };
  readonly files: readonly { readonly path: string; readonly content: string }[];
  /** Files whose content is a secret (uploaded from a Pulumi secret, never rendered). */
  readonly secretFiles: readonly { readonly path: string; readonly source: SecretSource }[];
}

export const HF_CACHE_IN_CONTAINER = "/root/.cache/huggingface";

/**
 * Where an engine container keeps the model cache. Both engines keep Hugging Face's hub
 * layout (`models--<org>--<name>/...`) in `<cache_dir>/hub` on the host, so weights downloaded
 * by one engine, or by the prefetch step (core/render/prefetch.ts), serve the other.
 * - vLLM: `cache_dir` at `HF_HOME=/root/.cache/huggingface`; the hub cache is its `hub/`.
 * - LoRAX: the image sets `HUGGINGFACE_HUB_CACHE=/data` (Dockerfile:171), which wins over
 *   HF_HOME for its launcher, router and server (core/render/lorax.ts), so `<cache_dir>/hub`
 *   is mounted at `/data`; the variable is set again so the mount and the variable cannot part.
 */
export interface ModelCacheMount {
  readonly hostPath: string;
  readonly containerPath: string;
  /** The Hugging Face hub cache inside the container. */
  readonly hubCache: string;
  /** The env that makes the engine use it. */
  readonly env: Readonly<Record<string, string>>;
}

export function modelCacheMount(kind: EngineKind, cacheDir: string): ModelCacheMount {
  switch (kind) {
    case "vllm":
      return { hostPath: cacheDir, containerPath: HF_CACHE_IN_CONTAINER, hubCache: `${HF_CACHE_IN_CONTAINER}/hub`, env: { HF_HOME: HF_CACHE_IN_CONTAINER } };
    case "lorax":
      return { hostPath: `${cacheDir.replace(/\/+$/, "")}/hub`, containerPath: LORAX_HUB_CACHE, hubCache: LORAX_HUB_CACHE, env: { HUGGINGFACE_HUB_CACHE: LORAX_HUB_CACHE } };
    default: {
      const unreachable: never = kind;
      throw new Error(`unknown engine ${String(unreachable)}`);
    }
  }
}
export const ROUTER_CONFIG_PATH = "/app/config.yaml";
export const ROUTER_INTERNAL_PORT = 4000;

/** Docker's json-file log rotation for every container we run. */
export const LOG_OPTIONS = { "max-size": "100m", "max-file": "5" } as const;

/** A health probe that needs nothing but the Python every engine and router image ships. */
function httpProbe(url: string): string[] {
  return ["CMD", "python3", "-c", `import urllib.request; urllib.request.urlopen(${JSON.stringify(url)}, timeout=5)`];
}

/**
 * One engine container (docker) or pod template (kubernetes): its name, the cards it holds and
 * how they are split, and where its port is published (docker, cross-host only).
 */
export interface EngineInstance {
  readonly name: string;
  readonly tensorParallel: number;
  /** vLLM data-parallel replicas inside the one container. */
  readonly dataParallel: number;
  /** The cards it gets: all of the host's, or a count. */
  readonly gpus: "all" | number;
  readonly publishOn?: { readonly address: string; readonly port: number };
}

/** A docker host's engine container: every replica the host holds, in one vLLM data-parallel server. */
export function dockerEngineInstance(host: HostPlan, target: DockerHostTarget): EngineInstance {
  const usedCards = host.tensorParallel * host.replicas;
  return {
    name: target.engineContainerName,
    tensorParallel: host.tensorParallel,
    dataParallel: host.replicas,
    gpus: usedCards === host.gpuCount ? "all" : usedCards,
    ...(target.endpoint.publishOn ? { publishOn: target.endpoint.publishOn } : {}),
  };
}

/** A duration of whole minutes, as Docker and the Kubernetes renderers read it (`10m`). */
function minutes(seconds: number): string {
  return `${Math.ceil(seconds / 60)}m`;
}

export function engineContainer(plan: DeploymentPlan, instance: EngineInstance): ContainerSpec {
  const { engine } = plan;
  const usedCards = instance.tensorParallel * instance.dataParallel;
  const adapterMounts = (engine.lora?.adapters ?? [])
    .filter((a) => a.hostPath !== undefined)
    .map((a) => ({ hostPath: a.hostPath!, containerPath: a.hostPath!, readOnly: true }));
  // vLLM and LoRAX both answer GET /health once the model is loaded.
  const health = `http://127.0.0.1:${engine.port}/health`;
  const cache = modelCacheMount(engine.kind, plan.spec.access.cache_dir);
  const hfToken = plan.spec.access.hf_token_secret;
  return {
    name: instance.name,
    image: engine.image,
    command: engineArgs(engine, instance),
    env: {
      ...cache.env,
      // Never phone home from a private host (vllm/usage/usage_lib.py honours this).
      VLLM_NO_USAGE_STATS: "1",
      DO_NOT_TRACK: "1",
      ...(instance.tensorParallel > 1 ? { NCCL_P2P_DISABLE: "1" } : {}),
    },
    secretEnv: {
      // LoRAX 0.12.1's launcher has no API key option: it relies on the private network alone.
      ...(engine.kind === "vllm" ? { [ENGINE_API_KEY_ENV]: { kind: "engine-api-key" } as const } : {}),
      ...(hfToken ? { [HF_TOKEN_ENV]: { kind: "config", configKey: hfToken } as const } : {}),
      // LoRAX's router reads the token only under its legacy name (router/src/main.rs:199),
      // to fetch the tokenizer and chat template of gated models.
      ...(hfToken && engine.kind === "lorax" ? { HUGGING_FACE_HUB_TOKEN: { kind: "config", configKey: hfToken } as const } : {}),
    },
    gpus: instance.gpus,
    // Tensor and data parallel workers exchange tensors through /dev/shm.
    shmSizeMb: usedCards > 1 ? 16384 : 4096,
    volumes: [{ hostPath: cache.hostPath, containerPath: cache.containerPath, readOnly: false }, ...adapterMounts],
    ports: instance.publishOn
      ? [{ internal: engine.port, external: instance.publishOn.port, ip: instance.publishOn.address }]
      : [],
    healthcheck: { test: httpProbe(health), interval: "30s", timeout: "10s", retries: 3, startPeriod: minutes(engine.startupSeconds) },
    files: [],
    secretFiles: [],
  };
}

export function routerContainer(plan: DeploymentPlan, configYaml: string): ContainerSpec {
  const { router } = plan;
  const secretEnv: Record<string, SecretSource> = {
    [ROUTER_MASTER_KEY_ENV]: { kind: "router-master-key" },
    [ROUTER_ENGINE_KEY_ENV]: { kind: "engine-api-key" },
  };
  for (const s of router.secretEnv) secretEnv[s.env] = { kind: "config", configKey: s.configKey };
  return {
    name: routerContainerName(plan),
    image: router.image,
    command: ["--config", ROUTER_CONFIG_PATH, "--port", String(ROUTER_INTERNAL_PORT), "--num_workers", String(router.numWorkers), ...routerMetricsArgs(plan)],
    env: {
      // Start offline: use the cost map bundled with the pinned version instead of fetching it.
      LITELLM_LOCAL_MODEL_COST_MAP: "True",
      // LiteLLM 1.108.7 fetches a Llama tokenizer from Hugging Face to count stream tokens;
      // offline it falls back to tiktoken, which is what we want on a private router.
      HF_HUB_OFFLINE: "1",
      // The switch 1.108.7 actually reads (litellm/__init__.py); telemetry is opt-in anyway.
      LITELLM_TELEMETRY_DISABLED: "True",
      // No .env file loading from the working directory.
      LITELLM_MODE: "PRODUCTION",
      // The admin UI and API docs are attack surface a config-only proxy does not need,
      // unless the stack asks for them (router.admin_ui).
      ...(router.adminUi ? {} : { DISABLE_ADMIN_UI: "True", NO_DOCS: "True", NO_REDOC: "True" }),
    },
    secretEnv,
    gpus: null,
    volumes: [],
    // Behind a TLS edge the router is reached on the private network only.
    ports: router.tls ? [] : [{ internal: ROUTER_INTERNAL_PORT, external: router.port }],
    healthcheck: { test: httpProbe(`http://127.0.0.1:${ROUTER_INTERNAL_PORT}/health/liveliness`), interval: "15s", timeout: "5s", retries: 3, startPeriod: "60s" },
    files: [{ path: ROUTER_CONFIG_PATH, content: configYaml }],
    secretFiles: [],
  };
}

export function routerContainerName(plan: DeploymentPlan): string {
  return `${plan.spec.stack}-router`;
}

/** The Caddy container terminating TLS in front of the router; null without `router.tls`. */
export function edgeContainer(plan: DeploymentPlan, target: DockerTargetPlan): ContainerSpec | null {
  const tls = plan.router.tls;
  if (!tls) return null;
  return {
    name: `${plan.spec.stack}-edge`,
    image: tls.image,
    command: ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"],
    env: {},
    secretEnv: {},
    gpus: null,
    // Certificates and the ACME account survive a replaced container (Let's Encrypt rate-limits re-issues).
    volumes: [{ hostPath: tls.dataDir, containerPath: "/data", readOnly: false }],
    ports: target.publishedPorts.map((p) => ({ internal: p, external: p })),
    // The caddy image is Alpine-based: busybox wget, no Python.
    healthcheck: { test: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${EDGE_HEALTH_PORT}/healthz`], interval: "15s", timeout: "5s", retries: 3, startPeriod: "30s" },
    files: [{ path: "/etc/caddy/Caddyfile", content: renderCaddyfile(tls, `${routerContainerName(plan)}:${ROUTER_INTERNAL_PORT}`) }],
    secretFiles: tls.certificate
      ? [
          { path: EDGE_CERT_PATH, source: { kind: "config", configKey: tls.certificate.certificateKey } },
          { path: EDGE_KEY_PATH, source: { kind: "config", configKey: tls.certificate.privateKeyKey } },
        ]
      : [],
  };
}

/** `repository:tag`, with `@digest` when pinned. */
export function imageName(image: ImageRef): string {
  return `${image.repository}:${image.tag}${image.digest ? `@${image.digest}` : ""}`;
}
