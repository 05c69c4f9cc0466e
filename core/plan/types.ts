/**
 * The deployment plan: every decision the deployment makes, as plain data.
 *
 * It has a target-neutral part (model, engine, adapters, the hosts' fits and capacity, the
 * router with its upstreams and limits, computed once) and a per-target part (`target`: the
 * Docker hosts' containers, endpoints and bootstrap, or the Kubernetes placement). Renderers of
 * one target read the neutral part and their own target's part, never the other's.
 */
import type { EngineKind, GpuSpec, ModelSpec, ModelVariant, Quantization } from "../catalog/types";
import type { ConfigIssue } from "../config/issues";
import type { KubernetesConfig, StackSpec } from "../config/schema";
import type { CapacityReport } from "./capacity";
import type { MeasuredBasis } from "./measured";
import type { MemoryBreakdown } from "./memory";

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

/** Engine settings shared by every replica on every target; per-host parallelism lives in `HostPlan`. */
export interface EnginePlan {
  readonly kind: EngineKind;
  readonly image: ImageRef;
  readonly servedModelName: string;
  readonly hfRepo: string;
  readonly quantization: Quantization;
  /** Bytes of the checkpoint's weights: the one figure every size, download and disk estimate reads. */
  readonly weightBytes: number;
  readonly maxModelLen: number;
  readonly gpuMemoryUtilization: number;
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  readonly enablePrefixCaching: boolean;
  readonly kvCacheDtype: "auto" | "fp8";
  /** Port the engine listens on inside its container. */
  readonly port: number;
  readonly lora: LoraPlan | null;
  /** Seconds an engine may take from a cold start to serving: the weights' download plus the load. */
  readonly startupSeconds: number;
}

/** What the bootstrap of one GPU host is given: the data `templates/host/*.sh` run with. */
export interface HostBootstrapParams {
  /** Name of the host in the stack; used in error messages only. */
  readonly hostName: string;
  /** Login the GpuHost component and the Docker provider use over SSH (added to the docker group). */
  readonly sshUser: string;
  /** Port sshd listens on; the firewall allows it from `adminCidrs` only. Default 22. */
  readonly sshPort?: number;
  readonly gpu: {
    /** Exact name `nvidia-smi --query-gpu=name` prints, e.g. "NVIDIA GeForce RTX 4090". */
    readonly smiName: string;
    /** Number of cards the host must have. */
    readonly count: number;
    /** Nominal memory per card in MiB; the verify step rejects cards more than 5% below or 2% above it. */
    readonly memoryMiB?: number;
    /** Minimum NVIDIA driver branch, e.g. 580; the driver step installs this branch. */
    readonly minDriverBranch: number;
    /** Use NVIDIA's open kernel modules (required for Blackwell, RTX 50xx). */
    readonly openKernelModules: boolean;
  };
  /**
   * The driver branch the nvidia-driver step installs and holds (at least `gpu.minDriverBranch`)
   * and the stack's refresh label; default: `gpu.minDriverBranch`, no refresh.
   */
  readonly driver?: { readonly branch: number; readonly refresh?: string };
  /**
   * The engine image the host will run and its `NVIDIA_REQUIRE_CUDA` when the plan knows it
   * (core/versions.json, pinned tags); verify-gpus checks the driver against it.
   */
  readonly engineImage?: { readonly image: ImageRef; readonly cudaRequirement: string | null };
  /** Model cache directory on local disk, mounted into the engines as the Hugging Face cache. */
  readonly cacheDir: string;
  /** Free space (GiB) the preflight step requires on the filesystem holding `cacheDir`. */
  readonly minFreeDiskGB: number;
  /** CIDRs (or addresses) allowed to SSH in; must not be empty. */
  readonly adminCidrs: readonly string[];
  /** Set when this host runs the router: its published ports and who may reach them. */
  readonly router: { readonly ports: readonly number[]; readonly allowedCidrs: readonly string[] } | null;
  /**
   * Set when this host's engine port is published for another host's router; `exporterPorts`: the
   * monitoring's exporters on this host, published for the same sources (the router host's Prometheus).
   */
  readonly engine: { readonly port: number; readonly allowedSources: readonly string[]; readonly exporterPorts?: readonly number[] } | null;
  /**
   * Set when this host is in the engine tunnel (WireGuard): its interface, its address in the
   * tunnel, the UDP port, its peers and who may send to that port. The keys are not here: they
   * are made at deploy time and reach the host on the step's stdin (components/hybrid-inference.ts).
   */
  readonly tunnel?: HostTunnel;
}

/** One host's side of the engine tunnel. */
export interface HostTunnel {
  /** The WireGuard interface (and wg-quick@ unit) name. */
  readonly interfaceName: string;
  /** Its address with the tunnel's prefix, e.g. 10.213.0.2/24. */
  readonly address: string;
  readonly port: number;
  readonly peers: readonly TunnelMember[];
  /** Sources the firewall admits to the UDP port: the peers' public addresses. */
  readonly allowedSources: readonly string[];
}

/** A host of the stack and what one engine replica on it holds and serves: the same on both targets. */
export interface HostPlan {
  readonly name: string;
  readonly address: string;
  /** Address on the provider's private network, when the stack gives one. */
  readonly privateAddress?: string;
  readonly sshUser: string;
  readonly sshPort: number;
  readonly datacenter: string;
  readonly gpu: GpuSpec;
  readonly gpuCount: number;
  /** Cards per engine replica. */
  readonly tensorParallel: number;
  /** Engine replicas the host holds: whole groups of `tensorParallel` cards. */
  readonly replicas: number;
  /** Per-GPU memory of one replica. */
  readonly memory: MemoryBreakdown;
  /** Sequences of the full `maxModelLen` the KV cache holds at once, per replica. */
  readonly concurrencyAtMaxContext: number;
  /** What one replica serves: its latency–throughput curve and the operating point the SLO allows. */
  readonly replicaCapacity: CapacityReport;
  /** What the host serves with all its replicas. */
  readonly capacity: CapacityReport;
  /** Set when the stack's `measured` block has an entry for this host: what of it is used, and the estimate it replaced. */
  readonly measured?: MeasuredBasis;
}

/** A host in the engine tunnel. */
export interface TunnelMember {
  readonly host: string;
  /** Its address inside the tunnel, e.g. 10.213.0.2. */
  readonly address: string;
  /** Where peers send the tunnel's UDP packets: the host's public address. */
  readonly endpoint: string;
}

/**
 * The encrypted tunnel (WireGuard) between the router host and the hosts it would otherwise reach
 * over a public address; null when every engine is on the router's host or a private network.
 */
export interface TunnelPlan {
  /** `access.tunnel.cidr`. */
  readonly cidr: string;
  readonly port: number;
  readonly interfaceName: string;
  /** The router host first, then the hosts it reaches through the tunnel, in stack order. */
  readonly members: readonly TunnelMember[];
}

/** How the router reaches one host's engine on the docker target. */
export interface EngineEndpoint {
  /**
   * `docker-network`: the router's own host, by container name; `private`: the host's private
   * address (both hosts on the provider's private network); `tunnel`: the host's address in the
   * engine tunnel. Never a public address.
   */
  readonly via: "docker-network" | "private" | "tunnel";
  /** `http://<container>:<port>/v1` on the router host's private network, the private address or the tunnel address. */
  readonly apiBase: string;
  /** Set when the engine's port is published for a router on another host: bound to this address only. */
  readonly publishOn?: { readonly address: string; readonly port: number };
}

/** One host's part of the docker target: its containers, how the router reaches it, its bootstrap. */
export interface DockerHostTarget {
  readonly name: string;
  readonly runsRouter: boolean;
  readonly engineContainerName: string;
  readonly endpoint: EngineEndpoint;
  readonly bootstrap: HostBootstrapParams;
}

export interface DockerTargetPlan {
  readonly kind: "docker";
  /** Name of the private Docker network on the router host. */
  readonly networkName: string;
  /** The host running the router (the stack's first host). */
  readonly routerHost: string;
  /** Ports published on the router host: the router's, or the TLS edge's 80 and 443. */
  readonly publishedPorts: readonly number[];
  readonly hosts: readonly DockerHostTarget[];
  /** The engine tunnel, when a host's engine is reached over neither Docker's network nor a private one. */
  readonly tunnel: TunnelPlan | null;
}

/* ---- kubernetes placement (core/plan/placement.ts) ---- */

export interface NodePlacement {
  readonly node: string;
  /** Catalog GPU id of the node's cards. */
  readonly gpu: string;
  readonly gpuCount: number;
  /** The engine group whose pods run here. */
  readonly group: string;
  readonly tensorParallel: number;
  /** Replica slots: whole groups of `tensorParallel` cards. */
  readonly slots: number;
  /** Replicas the placement expects here (slots, less a reserved surge slot). */
  readonly replicas: number;
  /** Cards the expected replicas hold. */
  readonly gpusUsed: number;
  /** Per-GPU memory of one replica on this node. */
  readonly memory: MemoryBreakdown;
}

/** `spec.strategy.rollingUpdate` of a group's Deployment. */
export interface RolloutStrategy {
  readonly maxSurge: number;
  readonly maxUnavailable: number;
}

export interface EngineGroup {
  /** Name of the group's Deployment, Service and PodDisruptionBudget, e.g. `engine-rtx-4090`. */
  readonly name: string;
  readonly gpu: GpuSpec;
  readonly tensorParallel: number;
  /** Pods of the Deployment. */
  readonly replicas: number;
  /** Pods the group's nodes could hold. */
  readonly slots: number;
  readonly nodes: readonly string[];
  /** Per-GPU memory of one replica. */
  readonly memory: MemoryBreakdown;
  /** What one replica serves. */
  readonly perReplica: CapacityReport;
  /** Requests/s and tokens/month of the whole group. */
  readonly requestsPerSecond: number;
  readonly tokensPerMonth: number;
  /** Surge into a free slot when there is one; otherwise replace one pod at a time. */
  readonly rollout: RolloutStrategy;
}

export interface Placement {
  readonly nodes: readonly NodePlacement[];
  readonly groups: readonly EngineGroup[];
}

export interface KubernetesTargetPlan {
  readonly kind: "kubernetes";
  readonly settings: KubernetesConfig;
  /** Engine replicas per node and per GPU group. */
  readonly placement: Placement;
  /** `cluster: k3s`: each node's GPU host bootstrap (its firewall admits SSH only; k3s adds its ports). */
  readonly nodes: readonly { readonly name: string; readonly bootstrap: HostBootstrapParams }[];
}

export type TargetPlan = DockerTargetPlan | KubernetesTargetPlan;

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

/**
 * One self-hosted upstream of the router: a host's engine (docker) or an engine group's Service
 * (kubernetes), with its planned limits. LiteLLM counts requests in each router process on its
 * own (no shared store), so each process enforces `…PerProcess`.
 */
export interface EngineUpstream {
  /** Host or engine group name; part of the LiteLLM deployment id. */
  readonly name: string;
  readonly apiBase: string;
  /** Engine replicas behind the upstream. */
  readonly replicas: number;
  /** Requests and tokens per minute the whole upstream is planned for. */
  readonly rpm: number;
  readonly tpm: number;
  readonly rpmPerProcess: number;
  readonly tpmPerProcess: number;
}

/** What an adapter's request gets when its engines cannot take it (`adapters[].fallback`). */
export type AdapterFallbackPolicy = "none" | "base" | "managed";

export interface AdapterFallbackPlan {
  readonly adapter: string;
  readonly policy: AdapterFallbackPolicy;
  /** `managed`: the same fine-tune at a provider that serves LoRA on the base model. */
  readonly managed: ApiTierPlan | null;
}

/** The router extension's policy (core/plan/router-policy.ts); rendered by core/render/router-extension.ts. */
export interface RouterPolicyPlan {
  readonly adapterFallbacks: readonly AdapterFallbackPlan[];
  readonly escalation: {
    readonly enabled: boolean;
    readonly minMeanLogprob: number | null;
    readonly onLength: boolean;
    readonly onEmpty: boolean;
    readonly onRefusal: boolean;
    /** null: the extension's default phrases. */
    readonly refusalPrefixes: readonly string[] | null;
    readonly streamPrefixTokens: number;
  };
  /** USD per UTC day per frontier provider (the whole stack's; split between router instances when rendered). */
  readonly frontierBudgetUsdPerDay: Readonly<Record<string, number>>;
  readonly budgetOverrideTag: string;
  readonly midStream: "error" | "continue";
  /** `router.engine_first_token_s`; null: derived from the plan (10 s + prefill, at most 20 s). */
  readonly engineFirstTokenS: number | null;
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
  /** The port clients use (docker: published on the router host; kubernetes: the Service's). */
  readonly port: number;
  readonly numWorkers: number;
  /** Router instances that each run `numWorkers` processes: 1 on docker, the minimum pods on kubernetes. */
  readonly instances: number;
  readonly allowedCidrs: readonly string[];
  /** Model names clients can ask for. */
  readonly modelNames: readonly string[];
  /** Provider credentials the router receives as env, from Pulumi secrets. */
  readonly secretEnv: readonly RouterSecretEnv[];
  /** The engines, as the router reaches them. */
  readonly upstreams: readonly EngineUpstream[];
  /** The router extension's policy: adapter fallbacks, escalation, frontier budgets, mid-stream, first-token limit. */
  readonly policy: RouterPolicyPlan;
}

export interface DeploymentPlan {
  readonly spec: StackSpec;
  readonly model: ModelSpec;
  readonly variant: ModelVariant;
  readonly engine: EnginePlan;
  readonly hosts: readonly HostPlan[];
  readonly router: RouterPlan;
  readonly target: TargetPlan;
  readonly warnings: readonly ConfigIssue[];
}

export type PlanResult =
  | { readonly ok: true; readonly plan: DeploymentPlan }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };
