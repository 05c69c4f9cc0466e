/**
 * Every metric name the monitoring reads, in one place: the exporters' names (read off their
 * pinned sources, cited below), the router extension's names (a contract: the extension's author
 * and this module both import them from here), and the series the recording rules produce, which
 * alerts and dashboards read. A renamed metric upstream is one edit here, and the tests scrape
 * real or stand-in exporters and check every name used below against what they serve.
 */

/**
 * vLLM v0.33.0's Prometheus names (vllm/v1/metrics/loggers.py, PrometheusStatLogger). Each series
 * carries `model_name` and `engine` (the data-parallel rank inside one server). Counters get the
 * `_total` suffix from prometheus_client. `/metrics` is served without the API key
 * (vllm/entrypoints/serve/middleware/authenticate.py guards only /v1, /v2, /inference and /cohere).
 * Not in this version: `vllm:time_per_output_token_seconds` (now `vllm:inter_token_latency_seconds`)
 * and `vllm:gpu_cache_usage_perc` (now `vllm:kv_cache_usage_perc`).
 */
export const VLLM = {
  running: "vllm:num_requests_running",
  waiting: "vllm:num_requests_waiting",
  /** 1 = the KV cache is full. */
  kvCacheUsage: "vllm:kv_cache_usage_perc",
  preemptions: "vllm:num_preemptions_total",
  promptTokens: "vllm:prompt_tokens_total",
  generationTokens: "vllm:generation_tokens_total",
  /** `finished_reason` label: stop, length, abort, error, repetition. */
  requestSuccess: "vllm:request_success_total",
  /** Histograms (`_bucket`, `_sum`, `_count`); bucket bounds in vllm/v1/metrics/buckets.py. */
  ttft: "vllm:time_to_first_token_seconds",
  interTokenLatency: "vllm:inter_token_latency_seconds",
  e2eLatency: "vllm:e2e_request_latency_seconds",
  queueTime: "vllm:request_queue_time_seconds",
} as const;

/**
 * NVIDIA DCGM exporter 4.5.3-4.8.2 field names (etc/default-counters.csv; field ids in
 * NVIDIA/go-dcgm pkg/dcgm/const_fields.go). The counters file we render lists exactly these.
 * Labels: gpu, UUID, device, modelName, Hostname, DCGM_FI_DRIVER_VERSION.
 */
export const DCGM = {
  /** Percent. */
  gpuUtil: "DCGM_FI_DEV_GPU_UTIL",
  /** MiB. */
  fbUsed: "DCGM_FI_DEV_FB_USED",
  fbFree: "DCGM_FI_DEV_FB_FREE",
  /** Celsius. */
  gpuTemp: "DCGM_FI_DEV_GPU_TEMP",
  /** The card's own slowdown (thermal throttling) temperature, Celsius (field 158). */
  slowdownTemp: "DCGM_FI_DEV_GPU_TEMP_SLOWDOWN_CELSIUS",
  /** Watts. */
  power: "DCGM_FI_DEV_POWER_USAGE",
  /** Nanoseconds throttled for thermal reasons, a counter (field 241). */
  thermalViolation: "DCGM_FI_DEV_THERMAL_VIOLATION",
  /** XIDs reported in the exporter's window, per `xid` label (internal/pkg/collector/xid_collector.go). */
  xidErrors: "DCGM_EXP_XID_ERRORS_COUNT",
  /** The last XID's number (a gauge, 0 when none). */
  lastXid: "DCGM_FI_DEV_XID_ERRORS",
} as const;

/** Prometheus node exporter 1.5 names (collector/filesystem_linux.go, cpu_linux.go, meminfo.go). */
export const NODE = {
  filesystemAvail: "node_filesystem_avail_bytes",
  filesystemSize: "node_filesystem_size_bytes",
  cpuSeconds: "node_cpu_seconds_total",
  memAvailable: "node_memory_MemAvailable_bytes",
  memTotal: "node_memory_MemTotal_bytes",
} as const;

/**
 * LiteLLM 1.108.7's Prometheus callback (litellm/integrations/prometheus.py): usable without an
 * enterprise licence in this version (no premium check guards the logger), with
 * `litellm_settings.callbacks: ["prometheus"]`. `--prometheus_metrics_port` serves every worker's
 * samples, aggregated from PROMETHEUS_MULTIPROC_DIR, from one process on a port of its own
 * without auth (litellm/proxy/prometheus_metrics_server.py); /metrics on the client port needs
 * the master key (`require_auth_for_metrics_endpoint` defaults to true, litellm/__init__.py).
 */
export const LITELLM = {
  /** Labels: model_id (our deployment id), model_group, requested_model, api_provider, … */
  deploymentSuccess: "litellm_deployment_success_responses_total",
  deploymentFailure: "litellm_deployment_failure_responses_total",
  /** Labels: requested_model, fallback_model, exception_status. */
  fallbacksSucceeded: "litellm_deployment_successful_fallbacks_total",
  fallbacksFailed: "litellm_deployment_failed_fallbacks_total",
  /** USD from the pinned cost map; labels: model_id, api_provider, requested_model. */
  spend: "litellm_spend_metric_total",
  /** Histogram, seconds; labels: model, requested_model, model_id … */
  requestLatency: "litellm_request_total_latency_metric",
  /** Labels: requested_model, status_code, route, model_id. */
  proxyRequests: "litellm_proxy_total_requests_metric_total",
} as const;

/**
 * The router extension's own metrics (templates/router/hybrid_router/exporter.py): what LiteLLM
 * cannot count. The extension registers them with prometheus_client when the stack's monitoring
 * is on (its settings' `metrics.enabled`, from `monitoringEnabled`), and counts them where it
 * decides (admission refusals and failed-engine skips in callback.py's deployment filter,
 * escalations, broken streams, budget refusals; the spend gauge after each frontier answer and
 * every poll round). Its workers write them to PROMETHEUS_MULTIPROC_DIR like LiteLLM's own, and
 * they are served, summed over workers, by the router's metrics port. Every series the stack can
 * have is created at 0 when a worker starts, so dashboards and alerts find it before its first
 * event. A Counter named `x` is served as `x_total`. These names and labels are the contract
 * between exporter.py and the alerts and dashboards; test/monitoring/live-prometheus.test.ts
 * scrapes them from the shipped router.
 */
export const ROUTER_EXTENSION = {
  /**
   * Counter. engine: the host or engine group; reason: why the extension did not send a request
   * to it (admission.py verdicts: down | rate | waiting | kv | running; callback.py: failed, an
   * engine that already failed this request). Each refusal sends the request to the next tier.
   */
  engineRefusals: "hybrid_router_engine_refusals_total",
  /** Counter. reason: length | empty | refusal | logprob (confidence.py); outcome: escalated | failed. */
  escalations: "hybrid_router_escalations_total",
  /** Counter. outcome: continued | broken: streams an upstream broke mid-answer (`mid_stream` mode). */
  streamBreaks: "hybrid_router_stream_breaks_total",
  /** Gauge, USD. provider: today's (UTC) frontier spend, as the extension's budget guard counts it. */
  frontierSpendToday: "hybrid_router_frontier_spend_today_usd",
  /** Counter. provider: requests refused because the provider's daily budget was spent. */
  budgetRefusals: "hybrid_router_budget_refusals_total",
} as const;

/**
 * Kubernetes: the catalog GPU model (`rtx-4090`) of the node an exporter runs on, from its pod's
 * label; an engine group's dashboard selects its nodes' cards by it.
 */
export const GPU_MODEL_LABEL = "gpu_model";

/** Labels every target gets from our scrape configuration (never from the exporter). */
export const TARGET_LABELS = {
  /**
   * The stack's host (docker), or on kubernetes: the engine group for engine series, the node for
   * exporter series (GPU and disk problems are a node's).
   */
  host: "host",
  /** self_hosted | managed | frontier, on router series after the recording rules. */
  tier: "tier",
} as const;

/** Scrape jobs; alerts and dashboards select on `job`. */
export const JOBS = {
  engine: "vllm",
  gpu: "dcgm",
  node: "node",
  router: "litellm",
  prometheus: "prometheus",
} as const;

/**
 * Status codes the router answers a client when it could not serve it: 5xx, and 429, which
 * LiteLLM 1.108.7 answers when every deployment of the group is cooling down or at its rpm limit
 * (RouterRateLimitError, litellm/types/router.py): the stack has no per-client limits of its own.
 */
export const ROUTER_ERROR_STATUS = "5..|429";

/** Series the recording rules produce: what the dashboards and alerts read. */
export const RECORDED = {
  /** Per host: requests running / waiting in its engine (summed over data-parallel ranks). */
  engineRunning: "hybrid:engine_requests_running:sum",
  engineWaiting: "hybrid:engine_requests_waiting:sum",
  /** Per host: mean KV cache usage of its replicas (0-1). */
  engineKvUsage: "hybrid:engine_kv_cache_usage:avg",
  /** Per host: output (generation) tokens/s and prompt tokens/s over 5 minutes. */
  engineOutputTokensRate: "hybrid:engine_generation_tokens:rate5m",
  enginePromptTokensRate: "hybrid:engine_prompt_tokens:rate5m",
  /** Per host: median time to first token and inter-token latency over 5 minutes, seconds. */
  engineTtftP50: "hybrid:engine_ttft_seconds:p50_5m",
  engineItlP50: "hybrid:engine_inter_token_latency_seconds:p50_5m",
  /** Router: requests/s answered per tier (label tier), over 5 minutes. */
  routerTierRate: "hybrid:router_requests:rate5m",
  /** Router: share of self-hosted traffic (served model and adapters, not hard-tagged) answered elsewhere, over 1 hour. */
  spillShare: "hybrid:router_spill_share:ratio1h",
  /** Router: fallbacks/s over 5 minutes (label outcome: succeeded | failed). */
  fallbackRate: "hybrid:router_fallbacks:rate5m",
  /** Router: errors answered to clients per second (ROUTER_ERROR_STATUS) over 5 minutes. */
  errorRate: "hybrid:router_errors:rate5m",
  /** Router: frontier spend in USD per day at the last hour's rate (label provider). */
  frontierSpendPerDay: "hybrid:router_frontier_spend_usd:per_day_1h",
  /** Router: the median latency of answered requests over 5 minutes, seconds. */
  routerLatencyP50: "hybrid:router_latency_seconds:p50_5m",
  /** Per host and GPU: thermal throttling as a share of time, over 5 minutes. */
  gpuThermalThrottle: "hybrid:gpu_thermal_throttle:ratio5m",
} as const;
