/**
 * Defaults of the stack file, in one place. The schema applies them to a stack file, and
 * everything that plans without a stack file (`recommend`'s GPU tiers) reads the same
 * values, so `plan` and `recommend` cannot drift apart.
 */

/** `engine:` defaults (vLLM's own names; see README, "Stack file reference"). */
export const ENGINE_DEFAULTS = {
  kind: "vllm",
  /** vLLM's own default (vllm/config/cache.py, v0.33.0). */
  gpu_memory_utilization: 0.9,
  max_num_seqs: 64,
  enable_prefix_caching: true,
  kv_cache_dtype: "auto",
  port: 8000,
} as const;

/** `model:` defaults. */
export const MODEL_DEFAULTS = {
  /** The least context `quantization: auto` accepts (capped at the model's own maximum). */
  min_context: 8192,
} as const;

/** LoRA slots held on the GPU when `engine.max_loras` is not set: one per adapter, at most this many. */
export const DEFAULT_MAX_LORAS_CAP = 4;

/** The adapter rank `recommend` assumes for a fine-tune it is told about but not shown. */
export const ASSUMED_FINE_TUNE_RANK = 16;

/** `traffic:` defaults. */
export const TRAFFIC_DEFAULTS = {
  avg_input_tokens: 1000,
  avg_output_tokens: 300,
  utilisation: 0.5,
} as const;

/** `router:` defaults. */
/** Ports the TLS edge publishes on the router host: HTTP (ACME challenges, redirect) and HTTPS. */
export const EDGE_PORTS = [80, 443] as const;

export const ROUTER_DEFAULTS = {
  port: 4000,
  num_workers: 2,
  hard_tag: "hard",
  request_timeout_s: 120,
  num_retries: 1,
  allowed_fails: 3,
  cooldown_time_s: 30,
} as const;

/**
 * The router extension's policy keys (templates/router/hybrid_router; README, "The router
 * extension"). An adapter's default fallback is `none`: its callers asked for the fine-tune,
 * and a clear 503 is safer than a silent change of model.
 */
export const ROUTER_POLICY_DEFAULTS = {
  adapter_fallback: "none",
  mid_stream: "error",
  budget_override_tag: "budget-override",
  escalation: { enabled: false, on_length: true, on_empty: true, on_refusal: true, stream_prefix_tokens: 0 },
} as const;

/** `access:` defaults. */
export const ACCESS_DEFAULTS = {
  ssh_private_key_secret: "sshPrivateKey",
  cache_dir: "/var/lib/hybrid-inference/models",
  bastion_port: 22,
  /**
   * The engine tunnel (WireGuard): a block from RFC 1918 space that cloud and rental providers'
   * private networks rarely use, and WireGuard's conventional port (wg-quick(8) examples).
   */
  tunnel: { cidr: "10.213.0.0/24", port: 51820 },
} as const;

/** `hosts[]` defaults. */
export const HOST_DEFAULTS = {
  ssh_user: "ubuntu",
  ssh_port: 22,
  gpu_count: 1,
} as const;

/**
 * `monitoring:` defaults. Monitoring is on where someone is paged (staging, prod) and off in dev,
 * where the extra containers cost memory on a single card's host and nobody watches the alerts.
 */
export const MONITORING_DEFAULTS = {
  enabled: { dev: false, staging: true, prod: true },
  /** Prometheus `--storage.tsdb.retention.time`, days. */
  retention_days: 15,
  /** Seconds between scrapes; rule windows are derived from it. */
  scrape_interval_s: 15,
  grafana: false,
  prometheus_operator: false,
  /** kube-prometheus-stack's usual namespace. */
  operator_namespace: "monitoring",
} as const;

/**
 * `driver:` defaults: no keys set. The branch then defaults to the catalog's minimum for the
 * stack's cards (core/plan/bootstrap.ts), and no refresh is requested.
 */
export const DRIVER_DEFAULTS = {} as const;

/**
 * `benchmark:` defaults: the post-deploy `vllm bench serve` run on the docker target. On by
 * default where measuring is cheap and a wrong estimate is found before production.
 */
export const BENCHMARK_DEFAULTS = {
  /** Environments where `benchmark.enabled` defaults to true. */
  enabled_in: ["staging"] as readonly string[],
  /** Requests in flight per level: one stream, a few, and a busy engine. */
  concurrency: [1, 4, 16] as readonly number[],
  /** Requests per level when `num_prompts` is not set: this many per client, at least `min_prompts`. */
  prompts_per_client: 4,
  min_prompts: 16,
} as const;
