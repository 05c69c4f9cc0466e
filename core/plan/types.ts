import type { EngineKind, GpuSpec, ModelSpec, ModelVariant, Quantization } from "../catalog/types";
import type { ConfigIssue } from "../config/issues";
import type { StackSpec } from "../config/schema";
import type { HostBootstrapParams } from "../render/host-bootstrap";
import type { CapacityEstimate } from "./capacity";
import type { MemoryBreakdown } from "./memory";
import type { Placement } from "./placement";

export interface ImageRef {
  readonly repository: string;
  readonly tag: string;
  readonly digest?: string;
}

export interface AdapterPlan {
  readonly name: string;
  /** What the engine loads: a Hugging Face repo id, or a path inside the container. */
  readonly enginePath: string;
  /** Host directory to mount read-only at the same path, for adapters on local disk. */
  readonly hostPath?: string;
  readonly rank: number;
}

export interface LoraPlan {
  readonly maxLoras: number;
  /** The smallest rank vLLM allows that holds every adapter. */
  readonly maxLoraRank: number;
  readonly maxCpuLoras: number;
  readonly adapters: readonly AdapterPlan[];
}

/** Engine settings shared by every host; per-host parallelism lives in `HostPlan`. */
export interface EnginePlan {
  readonly kind: EngineKind;
  readonly image: ImageRef;
  readonly servedModelName: string;
  readonly hfRepo: string;
  readonly quantization: Quantization;
  readonly maxModelLen: number;
  readonly gpuMemoryUtilization: number;
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  readonly enablePrefixCaching: boolean;
  readonly kvCacheDtype: "auto" | "fp8";
  /** Port the engine listens on inside its container. */
  readonly port: number;
  readonly lora: LoraPlan | null;
}

/** How the router reaches one host's engine. */
export interface EngineEndpoint {
  /** `http://<container>:<port>/v1` on the router host's private network, or the host's private address. */
  readonly apiBase: string;
  /** Set when the engine's port is published for a router on another host: bound to this address only. */
  readonly publishOn?: { readonly address: string; readonly port: number };
}

export interface HostPlan {
  readonly name: string;
  readonly address: string;
  readonly sshUser: string;
  readonly sshPort: number;
  readonly datacenter: string;
  readonly gpu: GpuSpec;
  readonly gpuCount: number;
  readonly tensorParallel: number;
  readonly replicas: number;
  readonly memory: MemoryBreakdown;
  /** Sequences of the full `maxModelLen` the KV cache holds at once, per replica. */
  readonly concurrencyAtMaxContext: number;
  readonly capacity: CapacityEstimate;
  readonly runsRouter: boolean;
  readonly engineContainerName: string;
  readonly endpoint: EngineEndpoint;
  readonly bootstrap: HostBootstrapParams;
}

export interface RouterSecretEnv {
  /** Env var in the router container. */
  readonly env: string;
  /** Pulumi config key (without project prefix) holding the value. */
  readonly configKey: string;
}

/** One API tier deployment at the router. */
export interface ApiTierPlan {
  readonly provider: string;
  /** LiteLLM model string, prefix included, e.g. `together_ai/Qwen/Qwen2.5-7B-Instruct-Turbo`. */
  readonly litellmModel: string;
  /** Env var in the router container that holds this tier's key. */
  readonly apiKeyEnv: string;
}

/** HTTPS at the edge: a Caddy container terminates TLS and proxies to the router. */
export interface TlsPlan {
  readonly image: ImageRef;
  readonly domain: string;
  readonly email?: string;
  /** Config keys of a provided certificate and key; absent = automatic (ACME) certificates. */
  readonly certificate?: { readonly certificateKey: string; readonly privateKeyKey: string };
  /** Host directory for Caddy's certificates and ACME account, kept across container replacements. */
  readonly dataDir: string;
}

export interface RouterPlan {
  readonly image: ImageRef;
  readonly tls: TlsPlan | null;
  readonly managed: ApiTierPlan | null;
  /** In fallback order: the first serves "hard" requests. */
  readonly frontier: readonly ApiTierPlan[];
  readonly hardTag: string;
  readonly requestTimeoutS: number;
  readonly numRetries: number;
  readonly allowedFails: number;
  readonly cooldownTimeS: number;
  /** Serve LiteLLM's admin UI and API docs. */
  readonly adminUi: boolean;
  readonly hostName: string;
  readonly port: number;
  readonly numWorkers: number;
  readonly allowedCidrs: readonly string[];
  /** Model names clients can ask for. */
  readonly modelNames: readonly string[];
  /** Provider credentials the router receives as env, from Pulumi secrets. */
  readonly secretEnv: readonly RouterSecretEnv[];
}

export interface DeploymentPlan {
  readonly spec: StackSpec;
  readonly model: ModelSpec;
  readonly variant: ModelVariant;
  readonly engine: EnginePlan;
  readonly hosts: readonly HostPlan[];
  readonly router: RouterPlan;
  /** Name of the private Docker network on the router host. */
  readonly networkName: string;
  /** `target: kubernetes` only: engine replicas per node and per GPU group (core/plan/placement.ts). */
  readonly placement?: Placement;
  readonly warnings: readonly ConfigIssue[];
}

export type PlanResult =
  | { readonly ok: true; readonly plan: DeploymentPlan }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };
