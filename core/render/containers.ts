/**
 * Container specifications as plain data: what the engine and router containers run,
 * with which GPUs, mounts, ports and health checks. The Docker components translate
 * these one to one; the Kubernetes target reads the same specs.
 */
import * as path from "node:path";
import { ENGINE_API_KEY_ENV, HF_TOKEN_ENV, ROUTER_ENGINE_KEY_ENV, ROUTER_MASTER_KEY_ENV } from "../plan/env";
import type { EngineKind } from "../catalog/types";
import type { DeploymentPlan, DockerHostTarget, DockerTargetPlan, HostPlan, ImageRef } from "../plan/types";
import { EDGE_CERT_PATH, EDGE_HEALTH_PORT, EDGE_KEY_PATH, renderCaddyfile } from "./caddyfile";
import { engineArgs } from "./engine-args";
import { routerMetricsArgs } from "./monitoring/router-metrics";
import { LORAX_HUB_CACHE } from "./lorax";
import type { RouterRendering } from "./router-config";

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
  /**
   * Host directories mounted into the container. `cache: "compile"` marks a compile cache
   * (kept across restarts; the Kubernetes target mounts it like the model cache).
   * `named: true`: `hostPath` is the name of a Docker volume instead. Docker fills a new named
   * volume from the image's own directory, owner included, which an image running as a non-root
   * user needs to write its data (a bind-mounted directory Docker creates belongs to root).
   */
  readonly volumes: readonly { readonly hostPath: string; readonly containerPath: string; readonly readOnly: boolean; readonly cache?: "compile"; readonly named?: true }[];
  /** Docker labels: which stack and role the container has, and the engine watchdog's policy ({@link engineWatchdog}). */
  readonly labels: Readonly<Record<string, string>>;
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
  /**
   * Files whose content is a secret (uploaded from a Pulumi secret, never rendered). Uploaded
   * files belong to root: mode 0600 unless `mode` says otherwise (an image running as a non-root
   * user must be let read its own config: 0644, inside a container of its own).
   */
  readonly secretFiles: readonly { readonly path: string; readonly source: SecretSource; readonly mode?: "0600" | "0644" }[];
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
/** The router host's directory for the extension's lasting state (the day's frontier spend). */
export const ROUTER_STATE_HOST_DIR = "/var/lib/hybrid-inference/router";
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

/**
 * The engine's Docker health check: a probe every 30 s that may take 10 s, unhealthy after 3
 * failures in a row, not counted during the start period (the download and load).
 */
export const ENGINE_HEALTH = { intervalS: 30, timeoutS: 10, retries: 3 } as const;

/** Labels every container of a stack carries, and the label the engine watchdog selects on. */
export const LABEL_PREFIX = "hybrid-inference";
export const WATCHDOG_LABEL = `${LABEL_PREFIX}.watchdog`;
/** Seconds the watchdog waits beyond Docker's own verdict (interval x retries) before a restart [estimate]. */
export const WATCHDOG_MARGIN_S = 60;
/** Restarts per hour after which the watchdog stops and leaves the engine to an operator. */
export const WATCHDOG_MAX_RESTARTS_PER_HOUR = 3;
/** How often the watchdog looks (templates/host/engine-watchdog.sh installs its timer). */
export const WATCHDOG_INTERVAL_S = 30;

export interface WatchdogPolicy {
  /** Restart once the health check has been failing this long. */
  readonly restartAfterS: number;
  /** Never restart this soon after the container (re)started: the model is still loading. */
  readonly startPeriodS: number;
  readonly maxRestartsPerHour: number;
}

/**
 * When the engine watchdog (templates/engine/engine-watchdog.sh) restarts a hung engine: once its
 * health check has failed for interval x retries (when Docker marks it unhealthy) plus
 * {@link WATCHDOG_MARGIN_S}, so a brief stall recovers on its own; never within the start period
 * the health check already grants (the engine's planned start-up time). With the shipped check
 * (30 s x 3) that is 150 s of failing probes; the watchdog looks every {@link WATCHDOG_INTERVAL_S} s,
 * so a hung engine is restarted 150-180 s after its first failed probe.
 */
export function engineWatchdog(startupSeconds: number): WatchdogPolicy {
  return {
    restartAfterS: ENGINE_HEALTH.intervalS * ENGINE_HEALTH.retries + WATCHDOG_MARGIN_S,
    startPeriodS: wholeMinutes(startupSeconds) * 60,
    maxRestartsPerHour: WATCHDOG_MAX_RESTARTS_PER_HOUR,
  };
}

/** The engine container's labels: stack, role, and the watchdog's policy (read by the watchdog on the host). */
export function engineLabels(stack: string, policy: WatchdogPolicy): Record<string, string> {
  return {
    [`${LABEL_PREFIX}.stack`]: stack,
    [`${LABEL_PREFIX}.role`]: "engine",
    [WATCHDOG_LABEL]: "restart",
    [`${WATCHDOG_LABEL}.restart-after-s`]: String(policy.restartAfterS),
    [`${WATCHDOG_LABEL}.start-period-s`]: String(policy.startPeriodS),
    [`${WATCHDOG_LABEL}.max-restarts-per-hour`]: String(policy.maxRestartsPerHour),
  };
}

/**
 * Compile caches vLLM writes at start and reuses when they are there: on a host directory under
 * the model cache, so a restarted or recreated engine skips the compilation (minutes on a cold
 * start, slowest on sm_120). The cache-dir bootstrap step creates the directories.
 * - vLLM's cache root, `VLLM_CACHE_ROOT`, default `~/.cache/vllm` (vllm/envs.py, v0.33.0): its
 *   torch.compile artefacts live in `torch_compile_cache/<hash>` with the Inductor and Triton
 *   caches inside (vllm/compilation/backends.py, compiler_interface.py); the hash covers the
 *   vLLM version, model and settings, so engines of other versions or models never reuse it.
 * - FlashInfer's JIT kernels and downloaded cubins: `$FLASHINFER_WORKSPACE_BASE/.cache/flashinfer`,
 *   the base defaulting to the home directory (flashinfer/jit/env.py in flashinfer-python
 *   0.7.2.post1, the version vllm 0.33.0 requires), with per-version, per-architecture folders.
 * The images run as root, so home is /root.
 */
export const VLLM_COMPILE_CACHES = [
  { subdir: "compile-cache/vllm", containerPath: "/root/.cache/vllm" },
  { subdir: "compile-cache/flashinfer", containerPath: "/root/.cache/flashinfer" },
] as const;

/** Host directory of a compile cache: under the model cache directory. */
export function compileCacheHostPath(cacheDir: string, subdir: string): string {
  return `${cacheDir.replace(/\/+$/, "")}/${subdir}`;
}

/** Whole minutes covering `seconds`. */
function wholeMinutes(seconds: number): number {
  return Math.ceil(seconds / 60);
}

/** A duration of whole minutes, as Docker and the Kubernetes renderers read it (`10m`). */
function minutes(seconds: number): string {
  return `${wholeMinutes(seconds)}m`;
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
    volumes: [
      { hostPath: cache.hostPath, containerPath: cache.containerPath, readOnly: false },
      ...adapterMounts,
      // LoRAX keeps no such caches at these paths.
      ...(engine.kind === "vllm"
        ? VLLM_COMPILE_CACHES.map((c) => ({ hostPath: compileCacheHostPath(plan.spec.access.cache_dir, c.subdir), containerPath: c.containerPath, readOnly: false, cache: "compile" as const }))
        : []),
    ],
    labels: engineLabels(plan.spec.stack, engineWatchdog(engine.startupSeconds)),
    ports: instance.publishOn
      ? [{ internal: engine.port, external: instance.publishOn.port, ip: instance.publishOn.address }]
      : [],
    healthcheck: {
      test: httpProbe(health),
      interval: `${ENGINE_HEALTH.intervalS}s`,
      timeout: `${ENGINE_HEALTH.timeoutS}s`,
      retries: ENGINE_HEALTH.retries,
      startPeriod: minutes(engine.startupSeconds),
    },
    files: [],
    secretFiles: [],
  };
}

/**
 * The LiteLLM proxy: its config, and the router extension beside it (the package and its
 * settings in the config's directory, where LiteLLM imports `callbacks` from; its env and
 * arguments; the daily frontier spend on a host volume, kept across restarts).
 */
export function routerContainer(plan: DeploymentPlan, rendered: RouterRendering): ContainerSpec {
  const { router } = plan;
  const { extension } = rendered;
  const configDir = path.posix.dirname(ROUTER_CONFIG_PATH);
  const secretEnv: Record<string, SecretSource> = {
    [ROUTER_MASTER_KEY_ENV]: { kind: "router-master-key" },
    [ROUTER_ENGINE_KEY_ENV]: { kind: "engine-api-key" },
  };
  for (const s of router.secretEnv) secretEnv[s.env] = { kind: "config", configKey: s.configKey };
  return {
    name: routerContainerName(plan),
    image: router.image,
    command: ["--config", ROUTER_CONFIG_PATH, "--port", String(ROUTER_INTERNAL_PORT), "--num_workers", String(router.numWorkers), ...routerMetricsArgs(plan), ...extension.args],
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
      ...extension.env,
    },
    secretEnv,
    gpus: null,
    volumes: [{ hostPath: ROUTER_STATE_HOST_DIR, containerPath: extension.stateVolume, readOnly: false }],
    labels: {},
    // Behind a TLS edge the router is reached on the private network only.
    ports: router.tls ? [] : [{ internal: ROUTER_INTERNAL_PORT, external: router.port }],
    healthcheck: { test: httpProbe(`http://127.0.0.1:${ROUTER_INTERNAL_PORT}/health/liveliness`), interval: "15s", timeout: "5s", retries: 3, startPeriod: "60s" },
    files: [{ path: ROUTER_CONFIG_PATH, content: rendered.yaml }, ...extension.files.map((f) => ({ path: path.posix.join(configDir, f.path), content: f.content }))],
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
    labels: {},
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
