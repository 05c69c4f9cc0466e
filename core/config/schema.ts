/**
 * The stack file, one zod schema per Pulumi config key (`hybrid-inference:<key>`).
 *
 * Keys inside each object are snake_case, as in LiteLLM's config and vLLM's engine
 * arguments, so a user who knows those tools recognises them (`gpu_memory_utilization`,
 * `max_model_len`, `kv_cache_dtype`, ...). Objects are strict: a misspelt key is an
 * error, not a silently ignored setting.
 */
import { z } from "zod";
import { ENGINES, QUANTIZATIONS } from "../catalog/types";
import { addressProblem, cidrProblem } from "../net/address";
import { ACCESS_DEFAULTS, BENCHMARK_DEFAULTS, DRIVER_DEFAULTS, ENGINE_DEFAULTS, HOST_DEFAULTS, MONITORING_DEFAULTS, ROUTER_DEFAULTS, ROUTER_POLICY_DEFAULTS, TRAFFIC_DEFAULTS } from "./defaults";
import type { FrontierProvider, ManagedProvider } from "../catalog/types";

const MANAGED = ["together_ai", "fireworks_ai", "deepinfra", "replicate"] as const satisfies readonly ManagedProvider[];
const FRONTIER = ["openai", "anthropic", "gemini"] as const satisfies readonly FrontierProvider[];

/** vLLM's allowed `--max-lora-rank` values (vllm/config/lora.py, v0.33.0). */
export const VLLM_LORA_RANKS = [1, 8, 16, 32, 64, 128, 256, 320, 512] as const;

/** A host name in the stack: it names Pulumi resources, containers and Kubernetes nodes. */
const name = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/, {
    message: "must be 2-40 characters of lowercase letters, digits and '-', starting with a letter",
  });

/**
 * A model name clients send to the router (`model` in the request): the served model or an
 * adapter. Model ids such as `qwen2.5-7b-instruct` contain dots, so dots are allowed; no
 * spaces, slashes or quotes, since the name also reaches vLLM's `--served-model-name` and
 * `--lora-modules` and LiteLLM's deployment ids.
 */
const modelName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
    message: "must be 1-64 characters of letters, digits, '.', '_' and '-', starting with a letter or digit",
  });

/** A Pulumi config key name holding a secret, e.g. `togetherApiKey`. */
const secretKeyName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, {
  message: "must be the name of a config key (letters, digits, '_'), e.g. togetherApiKey",
});

/** Adds a zod issue with the problem `rule` finds in a string (core/net/address.ts). */
function ruled(rule: (v: string) => string | null, fix: string) {
  return z.string().superRefine((v, ctx) => {
    const problem = rule(v);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem, params: { fix } });
  });
}

/** IPv4/IPv6 literal or DNS name; the host is reached over SSH at this address. */
const address = ruled(addressProblem, "write an IPv4 address (203.0.113.10), an IPv6 address (2001:db8::10) or a DNS name");

/** A CIDR block (or one address) with no host bits set: the firewall scripts read it strictly. */
const cidr = ruled(cidrProblem, "write the network address of the block, e.g. 203.0.113.0/24, or one address such as 203.0.113.7/32");

/**
 * `<country>-<site>`, the country as a two-letter code (`uk`/`gb` for the United
 * Kingdom), e.g. `uk-london`, `uk-manchester`, `de-frankfurt`.
 */
const datacenter = z.string().regex(/^[a-z]{2}-[a-z0-9-]+$/, {
  message: "must be <country>-<site> with a two-letter country code, e.g. uk-london",
});

export const hostSchema = z.strictObject({
  /** Unique within the stack; names the Pulumi resources of this host. */
  name,
  /** Public address the deployment reaches over SSH. */
  address,
  /** Private address (provider VLAN) other hosts use to reach this host's engine. */
  private_address: address.optional(),
  ssh_user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { message: "must be a Unix user name such as ubuntu" }).default(HOST_DEFAULTS.ssh_user),
  ssh_port: z.number().int().min(1).max(65535).default(HOST_DEFAULTS.ssh_port),
  datacenter,
  /** Catalog GPU id, e.g. `rtx-4090`. */
  gpu: z.string(),
  gpu_count: z.number().int().min(1).max(8).default(HOST_DEFAULTS.gpu_count),
});

export const modelSchema = z.strictObject({
  /** Catalog model id, e.g. `qwen2.5-7b-instruct`. */
  id: z.string(),
  /** `auto` picks the highest-precision weights that fit every host. */
  quantization: z.enum([...QUANTIZATIONS, "auto"]).default("auto"),
  /** vLLM `--max-model-len`; default: the longest context that fits, up to the model's maximum. */
  max_model_len: z.number().int().min(256).optional(),
  /** Name clients use at the router; default: the model id. */
  served_model_name: modelName.optional(),
  /**
   * With `quantization: auto`, the shortest context a quantization must still fit to
   * be chosen (default 8192 or the model's maximum if smaller).
   */
  min_context: z.number().int().min(256).optional(),
});

export const engineSchema = z.strictObject({
  kind: z.enum(ENGINES).default(ENGINE_DEFAULTS.kind),
  /** Image tag override; default: the tested version in core/versions.json. */
  version: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, { message: "must be a Docker image tag" }).optional(),
  /** Pin the image to a digest as well as a tag. */
  image_digest: z.string().regex(/^sha256:[a-f0-9]{64}$/, { message: "must look like sha256:<64 hex digits>" }).optional(),
  gpu_memory_utilization: z.number().gt(0.5).max(0.98).default(ENGINE_DEFAULTS.gpu_memory_utilization),
  max_num_seqs: z.number().int().min(1).max(1024).default(ENGINE_DEFAULTS.max_num_seqs),
  enable_prefix_caching: z.boolean().default(ENGINE_DEFAULTS.enable_prefix_caching),
  kv_cache_dtype: z.enum(["auto", "fp8"]).default(ENGINE_DEFAULTS.kv_cache_dtype),
  /** Adapters held in GPU memory at once; default: all declared adapters, at most 4. */
  max_loras: z.number().int().min(1).max(32).optional(),
  port: z.number().int().min(1024).max(65535).default(ENGINE_DEFAULTS.port),
});

export const adapterSchema = z.strictObject({
  /** The model name clients ask the router for. */
  name: modelName,
  /** `hf://<org>/<repo>` (downloaded by the engine) or an absolute path on every host. */
  source: z.string().regex(/^(hf:\/\/[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*|\/[A-Za-z0-9_./-]+)$/, {
    message: "must be hf://<org>/<repo> or an absolute path such as /srv/adapters/support-bot",
  }),
  rank: z.number().int().min(1),
  /** The catalog model id the adapter was trained on; must be the served model. */
  base_model: z.string(),
  /**
   * When its engines cannot take a request: `none` (a 503 naming the adapter, 429 when they
   * are full), `base` (the base model's managed and frontier tiers), `managed` (the same
   * fine-tune at a provider, `fallback_managed`).
   */
  fallback: z.enum(["none", "base", "managed"]).default(ROUTER_POLICY_DEFAULTS.adapter_fallback),
  /** `fallback: managed` only: the fine-tune at a provider that serves LoRA adapters on the base model. */
  fallback_managed: z.strictObject({
    provider: z.enum(MANAGED),
    /** The provider's id of the fine-tune (e.g. a Fireworks `accounts/<you>/models/<name>`). */
    model: z.string().min(1),
    api_key_secret: secretKeyName,
  }).optional(),
});

export const managedTierSchema = z.strictObject({
  provider: z.enum(MANAGED),
  /** Provider's model id; default: the catalog's id for the same weights at this provider. */
  model: z.string().min(1).optional(),
  api_key_secret: secretKeyName,
});

export const frontierTierSchema = z.strictObject({
  provider: z.enum(FRONTIER),
  model: z.string().min(1),
  api_key_secret: secretKeyName,
  /** Spend guard: USD per UTC day at this provider, after which its requests get 429 (unless tagged `router.budget_override_tag`). */
  budget_usd_per_day: z.number().min(0).optional(),
});

/** Confidence-based escalation of the served model's engine answers to the frontier tier. */
export const escalationSchema = z.strictObject({
  enabled: z.boolean().default(ROUTER_POLICY_DEFAULTS.escalation.enabled),
  /** Mean token log-probability below which an answer is re-asked; unset: not judged on it. */
  min_mean_logprob: z.number().min(-100).max(-0.001, { message: "must be below 0 (log-probabilities are at most 0)" }).optional(),
  on_length: z.boolean().default(ROUTER_POLICY_DEFAULTS.escalation.on_length),
  on_empty: z.boolean().default(ROUTER_POLICY_DEFAULTS.escalation.on_empty),
  on_refusal: z.boolean().default(ROUTER_POLICY_DEFAULTS.escalation.on_refusal),
  /** Answers starting with one of these are refusals; default: a short English list. */
  refusal_prefixes: z.array(z.string().min(1)).min(1).optional(),
  /** Stream tokens held back and judged before the first byte; 0: streams are not escalated. */
  stream_prefix_tokens: z.number().int().min(0).max(512).default(ROUTER_POLICY_DEFAULTS.escalation.stream_prefix_tokens),
});

/**
 * HTTPS in front of the router (a Caddy container). Without a certificate, Caddy gets
 * one from Let's Encrypt for `domain`: the domain's DNS must point at the router host and
 * ports 80 and 443 must be reachable by the CA (so `allowed_cidrs` must be public).
 */
export const tlsSchema = z.strictObject({
  domain: z.hostname({ error: "must be a DNS name such as inference.example.co.uk" }).regex(/\./, { message: "must be a fully qualified DNS name such as inference.example.co.uk" }),
  /** ACME account e-mail for expiry notices. */
  email: z.email({ error: "must be an e-mail address" }).optional(),
  /** Config keys of a PEM certificate (chain) and its private key, both secrets; omit both for automatic certificates. */
  certificate_secret: secretKeyName.optional(),
  private_key_secret: secretKeyName.optional(),
});

/**
 * Latency targets the self-hosted tier is sized for: the router admits to an engine only the
 * load at which its time to first token and time per output token stay within these (the
 * capacity model's operating point). Default: interactive chat, 2000 ms and 100 ms.
 */
export const sloSchema = z.strictObject({
  /** Time to first token the engines keep at their planned load, in ms (a p50 target). */
  ttft_ms: z.number().int().min(50).max(600_000).optional(),
  /** Time per output token (inter-token latency), in ms. */
  tpot_ms: z.number().min(1).max(10_000).optional(),
});

export const routerSchema = z.strictObject({
  port: z.number().int().min(1).max(65535).default(ROUTER_DEFAULTS.port),
  /** Who may reach the router's port. */
  allowed_cidrs: z.array(cidr).min(1),
  /** LiteLLM `--num_workers`; LiteLLM's own benchmark advises one per CPU. */
  num_workers: z.number().int().min(1).max(64).default(ROUTER_DEFAULTS.num_workers),
  managed: managedTierSchema.optional(),
  tls: tlsSchema.optional(),
  /** Latency targets the engines' router limits are computed from. */
  slo: sloSchema.optional(),
  frontier: z.array(frontierTierSchema).default([]),
  /** Requests tagged with this go straight to the frontier tier. */
  hard_tag: z.string().regex(/^[a-z][a-z0-9-]*$/).default(ROUTER_DEFAULTS.hard_tag),
  /** Accept a prod stack with no frontier fallback (otherwise an error). */
  allow_no_frontier: z.boolean().default(false),
  /** Serve LiteLLM's admin UI and API docs (off: attack surface a config-only proxy does not need). */
  admin_ui: z.boolean().default(false),
  request_timeout_s: z.number().int().min(1).max(3600).default(ROUTER_DEFAULTS.request_timeout_s),
  num_retries: z.number().int().min(0).max(10).default(ROUTER_DEFAULTS.num_retries),
  allowed_fails: z.number().int().min(1).max(100).default(ROUTER_DEFAULTS.allowed_fails),
  cooldown_time_s: z.number().int().min(1).max(3600).default(ROUTER_DEFAULTS.cooldown_time_s),
  /** Off unless set; needs `router.frontier`. */
  escalation: escalationSchema.optional(),
  /** Requests tagged with this may exceed the frontier budgets. */
  budget_override_tag: z.string().regex(/^[a-z][a-z0-9-]*$/).default(ROUTER_POLICY_DEFAULTS.budget_override_tag),
  /** A stream whose upstream fails after its first byte: `error` (a well-formed error event) or `continue` (the next tier finishes the answer). */
  mid_stream: z.enum(["error", "continue"]).default(ROUTER_POLICY_DEFAULTS.mid_stream),
  /** Seconds an engine call may stay silent before it is cut, if the engine also fails its health checks; default: 10 s + the planned prompt's prefill, at most 20 s. */
  engine_first_token_s: z.number().int().min(5).max(600).optional(),
});

/** An OpenSSH public host key as `ssh-keyscan` and `known_hosts` print it: `<type> <base64>`. */
const hostKey = z.string().regex(/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}$/, {
  message: "must be the bastion's public host key as `ssh-keyscan -t ed25519 <bastion>` prints it after the host name, e.g. ssh-ed25519 AAAAC3Nza…",
});

/**
 * A jump host every SSH connection of the deployment goes through (the bootstrap and engine
 * steps, the Docker provider, the reboot wait): for pipelines whose runners cannot reach the
 * hosts directly. It must accept `ssh_private_key_secret`'s key for `user` and allow TCP
 * forwarding to the hosts' SSH ports.
 */
export const bastionSchema = z.strictObject({
  address,
  user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { message: "must be a Unix user name such as jump" }),
  port: z.number().int().min(1).max(65535).default(ACCESS_DEFAULTS.bastion_port),
  /** Required: the connection is refused when the bastion presents another key (no trust on first use). */
  host_key: hostKey,
});

/**
 * The encrypted tunnel (WireGuard) that carries engine traffic between the router host and any
 * host the router would otherwise reach over a public address (a host without `private_address`,
 * or a stack whose router host has none). Tunnel addresses come from `cidr`, in host order.
 */
export const tunnelSchema = z.strictObject({
  cidr: ruled(cidrProblem, "write a private IPv4 network such as 10.213.0.0/24").refine((c) => /^\d+\.\d+\.\d+\.\d+\/(1[6-9]|2[0-9])$/.test(c), {
    message: "must be an IPv4 network with a prefix from /16 to /29, e.g. 10.213.0.0/24",
  }).default(ACCESS_DEFAULTS.tunnel.cidr),
  /** UDP port WireGuard listens on, on every host of the tunnel. */
  port: z.number().int().min(1).max(65535).default(ACCESS_DEFAULTS.tunnel.port),
});

export const accessSchema = z.strictObject({
  /** Who may SSH to the hosts; required so a firewall never locks the operator out. */
  admin_cidrs: z.array(cidr).min(1),
  /**
   * Where the deployment pipeline connects from (a CI runner's egress addresses): admitted to SSH
   * like `admin_cidrs`, listed apart so reviews can tell people from pipelines.
   */
  deploy_cidrs: z.array(cidr).default([]),
  /** Reach every host through this jump host (see `bastionSchema`). */
  bastion: bastionSchema.optional(),
  /** Address block and port of the engine tunnel (WireGuard), used only where it is needed. */
  tunnel: tunnelSchema.default({ cidr: ACCESS_DEFAULTS.tunnel.cidr, port: ACCESS_DEFAULTS.tunnel.port }),
  ssh_private_key_secret: secretKeyName.default(ACCESS_DEFAULTS.ssh_private_key_secret),
  /** Config key of the Hugging Face token; required for gated models such as Llama 3.3. */
  hf_token_secret: secretKeyName.optional(),
  /** Model cache on the hosts' local disk. */
  cache_dir: z.string().regex(/^(\/[A-Za-z0-9._+@=-]+)+\/?$/, { message: "must be an absolute path of letters, digits and ._+@=-" })
    .refine((p) => !p.split("/").some((part) => part === "." || part === ".."), { message: "must not contain . or .. parts" })
    .default(ACCESS_DEFAULTS.cache_dir),
});

export const trafficSchema = z.strictObject({
  avg_input_tokens: z.number().int().min(1).default(TRAFFIC_DEFAULTS.avg_input_tokens),
  avg_output_tokens: z.number().int().min(1).default(TRAFFIC_DEFAULTS.avg_output_tokens),
  /** Share of the month the hosts are busy, for tokens/month. */
  utilisation: z.number().gt(0).max(1).default(TRAFFIC_DEFAULTS.utilisation),
  /** Expected total tokens per month (input + output), for costs. */
  tokens_per_month: z.number().min(0).optional(),
});

/** A Kubernetes object name: a DNS-1123 label (RFC 1123), as Namespaces and Services require. */
const k8sName = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, {
  message: "must be a Kubernetes name: 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit",
});

/**
 * An Ingress in front of the router (kubernetes target). HTTPS comes from a certificate you
 * provide (two Pulumi secrets, as for `router.tls`) or from cert-manager; with neither the
 * Ingress serves plain HTTP. Ingress API: https://kubernetes.io/docs/concepts/services-networking/ingress/
 */
export const ingressSchema = z.strictObject({
  host: z.hostname({ error: "must be a DNS name such as inference.example.co.uk" }).regex(/\./, { message: "must be a fully qualified DNS name such as inference.example.co.uk" }),
  /** `spec.ingressClassName`; default: the cluster's default class (Traefik on k3s). */
  class_name: k8sName.optional(),
  /** cert-manager ClusterIssuer that issues the certificate (annotation `cert-manager.io/cluster-issuer`). */
  cert_manager_cluster_issuer: k8sName.optional(),
  /** Config keys of a PEM certificate (chain) and its private key, both secrets: stored as a `kubernetes.io/tls` Secret. */
  certificate_secret: secretKeyName.optional(),
  private_key_secret: secretKeyName.optional(),
});

/**
 * Where engines keep downloaded weights. `host_path` (default): `access.cache_dir` on each
 * node's local disk (NVMe), kept across pod restarts, so a rescheduled replica on the same
 * node starts without downloading again. `empty_dir`: per pod, downloaded at every start.
 */
export const modelCacheSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("host_path") }),
  z.strictObject({
    type: z.literal("empty_dir"),
    /** emptyDir `sizeLimit` in GiB; default: 1.5 x the weights. */
    size_limit_gb: z.number().int().min(1).max(4096).optional(),
  }),
]);

/** The kubernetes target (`target: kubernetes`); ignored by the docker target. */
export const kubernetesSchema = z.strictObject({
  /** `k3s`: bootstrap k3s over SSH on the stack's hosts; `existing`: deploy into a cluster you run. */
  cluster: z.enum(["k3s", "existing"]).default("k3s"),
  /** `cluster: existing` only: config key holding the cluster's kubeconfig, a secret. */
  kubeconfig_secret: secretKeyName.optional(),
  namespace: k8sName.default("hybrid-inference"),
  /** `cluster: k3s` only: k3s release, e.g. v1.36.4+k3s1; default: the tested pin. */
  version: z.string().regex(/^v1\.[0-9]+\.[0-9]+\+k3s[0-9]+$/, { message: "must be a k3s release such as v1.36.4+k3s1" }).optional(),
  /** Router pods the HorizontalPodAutoscaler keeps at least (at least 2, so one can be drained). */
  router_replicas: z.number().int().min(2).max(50).default(2),
  /** Most router pods the autoscaler may run; default 3 x router_replicas. */
  router_max_replicas: z.number().int().min(2).max(200).optional(),
  /** RuntimeClass of the engine pods: k3s and NVIDIA's GPU Operator both create `nvidia`. */
  runtime_class: k8sName.default("nvidia"),
  ingress: ingressSchema.optional(),
  model_cache: modelCacheSchema.default({ type: "host_path" }),
  /**
   * Keep one engine slot free per GPU group so rolling updates start the new pod before
   * stopping an old one (maxSurge 1, maxUnavailable 0), at the cost of that slot's capacity.
   */
  reserve_surge_slot: z.boolean().default(false),
});

/**
 * Metrics, alerts and dashboards (README, "Observability"): Prometheus with the exporters on the
 * docker target, or its scrape configuration on kubernetes. Every UI binds to 127.0.0.1 on the
 * router host (reach it through an SSH tunnel); nothing new is reachable from outside.
 */
export const monitoringSchema = z.strictObject({
  /** Default: on in staging and prod, off in dev. */
  enabled: z.boolean().optional(),
  /** Days Prometheus keeps samples (`--storage.tsdb.retention.time`). */
  retention_days: z.number().int().min(1).max(3650).default(MONITORING_DEFAULTS.retention_days),
  /** Seconds between scrapes. */
  scrape_interval_s: z.number().int().min(5).max(300).default(MONITORING_DEFAULTS.scrape_interval_s),
  /** Run Grafana with the rendered dashboards (docker: on the router host, bound to 127.0.0.1). */
  grafana: z.boolean().default(MONITORING_DEFAULTS.grafana),
  /** Config key of Grafana's admin password, a secret; required with `grafana: true`. */
  grafana_admin_password_secret: secretKeyName.optional(),
  /** Config key of a complete alertmanager.yml (its receivers hold webhooks and tokens), a secret: runs Alertmanager with it. */
  alertmanager_config_secret: secretKeyName.optional(),
  /** kubernetes only: the cluster runs the Prometheus Operator, so render PodMonitors and a PrometheusRule instead of a Prometheus. */
  prometheus_operator: z.boolean().default(MONITORING_DEFAULTS.prometheus_operator),
  /** kubernetes, with prometheus_operator: the namespace the operator's Prometheus runs in (the NetworkPolicies admit it). */
  operator_namespace: k8sName.default(MONITORING_DEFAULTS.operator_namespace),
  /** kubernetes, with prometheus_operator: labels the cluster's Prometheus selects PodMonitors and rules by (kube-prometheus-stack: `release: <its release>`). */
  operator_labels: z.record(z.string().regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, "must be a Kubernetes label name"),
    z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, "must be a Kubernetes label value (63 characters at most)")).default({}),
}).superRefine((m, ctx) => {
  if (m.grafana && m.grafana_admin_password_secret === undefined) {
    ctx.addIssue({ code: "custom", path: ["grafana_admin_password_secret"], message: "is required with grafana: true (Grafana's default admin/admin login would be left on)",
      params: { fix: "run `pulumi config set --secret grafanaAdminPassword` and set monitoring.grafana_admin_password_secret: grafanaAdminPassword" } });
  }
});

/**
 * The NVIDIA driver every GPU host installs and holds (templates/host/nvidia-driver.sh). The
 * hosts keep it until the stack changes it: the packages are held against unattended and
 * manual upgrades, because replacing the libraries under a loaded module stops every GPU
 * container until a reboot. Changing `branch` or `refresh` is the deliberate upgrade: the
 * driver step re-runs, upgrades, and the host reboots (README, "Operations").
 */
export const driverSchema = z.strictObject({
  /** Driver branch, e.g. 580; default: the newest minimum of the stack's cards (the catalog's). */
  branch: z.number().int().min(100).max(999).optional(),
  /**
   * Any label, e.g. a date: a new value upgrades the branch's packages to the archive's latest
   * (security fixes), with the kernel when Canonical's prebuilt modules are used, then reboots.
   */
  refresh: z.union([
    z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, { message: "must be 1-64 letters, digits and ._:- such as 2026-12-01" }),
    z.number().int().min(0).transform(String),
  ]).optional(),
});

/** A calendar date, YYYY-MM-DD, that exists. */
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { message: "must be a date written YYYY-MM-DD" })
  .refine((d) => {
    const t = new Date(`${d}T00:00:00Z`);
    return !Number.isNaN(t.getTime()) && t.toISOString().startsWith(d);
  }, { message: "must be a real calendar date" });

/**
 * One level of a measured latency–throughput curve, as `vllm bench serve` reports it for the
 * whole engine container (all its replicas): requests in flight (`--max-concurrency`), request
 * and output-token throughput, median time to first token and median time per output token.
 */
export const measuredPointSchema = z.strictObject({
  concurrency: z.number().gt(0).max(65_536),
  requests_per_s: z.number().gt(0).max(100_000),
  output_tokens_per_s: z.number().gt(0).max(10_000_000),
  ttft_ms: z.number().gt(0).max(3_600_000),
  tpot_ms: z.number().gt(0).max(60_000),
});

/**
 * What a measurement was taken on, copied from the stack when `npm run calibrate` wrote it. A
 * host that no longer matches (another card, card count or checkpoint) plans from the model
 * again; a changed memory setting drops only the measured KV cache size.
 */
export const measuredWithSchema = z.strictObject({
  gpu: z.string().min(1),
  gpu_count: z.number().int().min(1).max(8),
  /** Hugging Face repo of the weights the engine served. */
  checkpoint: z.string().min(1),
  gpu_memory_utilization: z.number().gt(0).max(1),
  kv_cache_dtype: z.enum(["auto", "fp8"]),
  /** Engine replicas (vLLM data parallel) behind the benchmarked endpoint. */
  replicas: z.number().int().min(1).max(8),
});

/**
 * Capacity measured on one host, written by `npm run calibrate` from vLLM's own output; it
 * takes precedence over the capacity model's estimate (core/plan/measured.ts).
 */
export const hostMeasurementSchema = z.strictObject({
  measured_on: isoDate,
  /** Where the figures come from (tool and file names), for the reader. */
  source: z.string().min(1).max(500),
  measured_with: measuredWithSchema,
  /** vLLM's "GPU KV cache size: N tokens" for one replica. */
  kv_tokens: z.number().int().min(1).max(1_000_000_000).optional(),
  /** Per GPU, from the start-up log: "Model loading took X GiB" and "Available KV cache memory: X GiB" (for the reader). */
  weights_gib: z.number().gt(0).max(1024).optional(),
  kv_cache_gib: z.number().gt(0).max(1024).optional(),
  /** The mean request of the benchmark (tokens in, tokens out). */
  request_shape: z.strictObject({
    input_tokens: z.number().gt(0).max(10_000_000),
    output_tokens: z.number().gt(0).max(10_000_000),
  }).optional(),
  points: z.array(measuredPointSchema).min(1).max(64).optional(),
}).superRefine((m, ctx) => {
  if (m.kv_tokens === undefined && m.points === undefined) {
    ctx.addIssue({ code: "custom", message: "has neither kv_tokens nor points", params: { fix: "run `npm run calibrate` with a vLLM start-up log or a `vllm bench serve` result, or remove the entry" } });
  }
  if (m.points !== undefined && m.request_shape === undefined) {
    ctx.addIssue({ code: "custom", path: ["request_shape"], message: "is required with points (the request shape they were measured at)", params: { fix: "add request_shape: { input_tokens, output_tokens }, or re-run `npm run calibrate`" } });
  }
  const levels = (m.points ?? []).map((p) => p.concurrency);
  const dup = levels.find((c, i) => levels.indexOf(c) !== i);
  if (dup !== undefined) {
    ctx.addIssue({ code: "custom", path: ["points"], message: `has two points at concurrency ${dup}`, params: { fix: "keep one measurement per concurrency level" } });
  }
});

/**
 * The post-deploy benchmark (docker target, vLLM): `vllm bench serve` from the engine image
 * against each host's engine, random prompts of the stack's request shape, one run per level.
 */
export const benchmarkSchema = z.strictObject({
  /** Default: on in staging, off elsewhere. */
  enabled: z.boolean().optional(),
  /** Requests in flight (`--max-concurrency`), one run each. */
  concurrency: z.array(z.number().int().min(1).max(1024)).min(1).max(8).default([...BENCHMARK_DEFAULTS.concurrency])
    .refine((l) => new Set(l).size === l.length, { message: "lists a level twice" }),
  /** Requests per level (`--num-prompts`); default 4 per client, at least 16. */
  num_prompts: z.number().int().min(1).max(100_000).optional(),
});

/** One schema per Pulumi config key. `required` keys must be present. */
export const STACK_KEYS = {
  environment: { schema: z.enum(["dev", "staging", "prod"]), required: true },
  residency: { schema: z.enum(["uk", "none"]).default("uk"), required: false },
  target: { schema: z.enum(["docker", "kubernetes"]).default("docker"), required: false },
  hosts: { schema: z.array(hostSchema).min(1), required: true },
  model: { schema: modelSchema, required: true },
  engine: { schema: engineSchema.default(engineSchema.parse({})), required: false },
  adapters: { schema: z.array(adapterSchema).default([]), required: false },
  router: { schema: routerSchema, required: true },
  access: { schema: accessSchema, required: true },
  traffic: { schema: trafficSchema.default(trafficSchema.parse({})), required: false },
  /** false: bootstrap and verify the hosts (or the cluster) only, deploy no engine or router. */
  workloads: { schema: z.boolean().default(true), required: false },
  driver: { schema: driverSchema.default(DRIVER_DEFAULTS), required: false },
  kubernetes: { schema: kubernetesSchema.default(kubernetesSchema.parse({})), required: false },
  monitoring: { schema: monitoringSchema.default(monitoringSchema.parse({})), required: false },
  /** Capacity measured on the hosts, by host name (written by `npm run calibrate`). */
  measured: { schema: z.record(name, hostMeasurementSchema).default({}), required: false },
  benchmark: { schema: benchmarkSchema.default(benchmarkSchema.parse({})), required: false },
} as const;

export type StackKey = keyof typeof STACK_KEYS;

export type HostConfig = z.output<typeof hostSchema>;
export type ModelConfig = z.output<typeof modelSchema>;
export type EngineConfig = z.output<typeof engineSchema>;
export type AdapterConfig = z.output<typeof adapterSchema>;
export type ManagedTierConfig = z.output<typeof managedTierSchema>;
export type FrontierTierConfig = z.output<typeof frontierTierSchema>;
export type RouterConfig = z.output<typeof routerSchema>;
export type SloConfig = z.output<typeof sloSchema>;
export type TlsConfig = z.output<typeof tlsSchema>;
export type AccessConfig = z.output<typeof accessSchema>;
export type TrafficConfig = z.output<typeof trafficSchema>;
export type IngressConfig = z.output<typeof ingressSchema>;
export type KubernetesConfig = z.output<typeof kubernetesSchema>;
export type MonitoringConfig = z.output<typeof monitoringSchema>;
export type DriverConfig = z.output<typeof driverSchema>;
export type HostMeasurementConfig = z.output<typeof hostMeasurementSchema>;
export type MeasuredPointConfig = z.output<typeof measuredPointSchema>;
export type BenchmarkConfig = z.output<typeof benchmarkSchema>;

/** A validated stack file. */
export interface StackSpec {
  readonly stack: string;
  readonly environment: "dev" | "staging" | "prod";
  readonly residency: "uk" | "none";
  readonly target: "docker" | "kubernetes";
  readonly hosts: readonly HostConfig[];
  readonly model: ModelConfig;
  readonly engine: EngineConfig;
  readonly adapters: readonly AdapterConfig[];
  readonly router: RouterConfig;
  readonly access: AccessConfig;
  readonly traffic: TrafficConfig;
  /** Deploy engines and router (true), or bring up the hosts only (false). */
  readonly workloads: boolean;
  /** Settings of the kubernetes target (defaults when the stack has none). */
  readonly kubernetes: KubernetesConfig;
  /** Metrics, alerts and dashboards (defaults when the stack has none). */
  readonly monitoring: MonitoringConfig;
  /** The NVIDIA driver branch the hosts hold, and the refresh label (defaults when the stack has none). */
  readonly driver: DriverConfig;
  /** Capacity measured per host (empty when nothing was measured). */
  readonly measured: Readonly<Record<string, HostMeasurementConfig>>;
  /** The post-deploy benchmark's settings; whether it runs is `benchmarkEnabled(spec)`. */
  readonly benchmark: BenchmarkConfig;
}
