/**
 * A stand-in vLLM server on 127.0.0.1 for the monitoring tests: OpenAI chat completions through a
 * queue (`slots` requests run at once for `serviceMs` each; the rest wait in order), and GET
 * /metrics in Prometheus text format with vLLM v0.33.0's names (vllm/v1/metrics/loggers.py):
 * the scheduler gauges, the token and request counters, and the TTFT, inter-token latency, e2e and
 * queue-time histograms with vLLM's own bucket bounds (vllm/v1/metrics/buckets.py). Every series
 * carries `model_name` and `engine`, as vLLM's do. It can also answer 500 (`failing`).
 *
 * It is not vLLM: no tokens are generated and latencies are the queue model's. What it proves is
 * that the names and types the monitoring reads are the ones vLLM serves, scraped by a real
 * Prometheus through the real LiteLLM proxy's traffic.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0];
const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0];
const LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];

class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(readonly name: string, private readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }
  observe(v: number): void {
    this.bounds.forEach((b, i) => { if (v <= b) this.counts[i]! += 1; });
    this.sum += v;
    this.count += 1;
  }
  text(labels: string): string[] {
    const l = labels.slice(1, -1);
    return [
      `# TYPE ${this.name} histogram`,
      ...this.bounds.map((b, i) => `${this.name}_bucket{${l},le="${b}"} ${this.counts[i]}`),
      `${this.name}_bucket{${l},le="+Inf"} ${this.count}`,
      `${this.name}_sum${labels} ${this.sum}`,
      `${this.name}_count${labels} ${this.count}`,
    ];
  }
}

export interface VllmEngineStubOptions {
  readonly model: string;
  readonly slots: number;
  readonly serviceMs: number;
  /** Output tokens per answer (the counters and the inter-token latency use it). */
  readonly outputTokens?: number;
  readonly promptTokens?: number;
}

export class VllmEngineStub {
  failing = false;
  /** Milliseconds each request holds its slot; a test may lengthen it to make a queue last. */
  serviceMs: number;
  private running = 0;
  private readonly waiters: (() => void)[] = [];
  private promptTokens = 0;
  private generationTokens = 0;
  private preemptions = 0;
  private readonly success = new Map<string, number>();
  private readonly ttft = new Histogram("vllm:time_to_first_token_seconds", TTFT_BUCKETS);
  private readonly itl = new Histogram("vllm:inter_token_latency_seconds", ITL_BUCKETS);
  private readonly e2e = new Histogram("vllm:e2e_request_latency_seconds", LATENCY_BUCKETS);
  private readonly queue = new Histogram("vllm:request_queue_time_seconds", LATENCY_BUCKETS);
  private readonly server: http.Server;
  port = 0;
  host = "127.0.0.1";

  constructor(private readonly options: VllmEngineStubOptions) {
    this.serviceMs = options.serviceMs;
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  get apiBase(): string {
    return `http://${this.host}:${this.port}/v1`;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Listens on `host` (a loopback address) and `port` (default: a free one). */
  async start(host = "127.0.0.1", port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, resolve);
    });
    this.host = host;
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(this.metrics());
      return;
    }
    if (req.method === "GET" && path === "/health") {
      res.writeHead(200).end();
      return;
    }
    if (req.method === "GET" && path === "/v1/models") {
      json(res, 200, { object: "list", data: [{ id: this.options.model, object: "model", created: 0, owned_by: "vllm" }] });
      return;
    }
    if (req.method !== "POST" || path !== "/v1/chat/completions") {
      json(res, 404, { error: { message: "not found" } });
      return;
    }
    if (this.failing) {
      json(res, 500, { error: { message: "stub engine failing", type: "server_error" } });
      return;
    }
    const arrived = Date.now();
    await this.acquire();
    const started = Date.now();
    const serviceMs = this.serviceMs;
    await new Promise((r) => setTimeout(r, serviceMs));
    this.release();
    const out = this.options.outputTokens ?? 20;
    const inp = this.options.promptTokens ?? 10;
    const total = (Date.now() - arrived) / 1000;
    const queued = (started - arrived) / 1000;
    this.queue.observe(queued);
    this.ttft.observe(queued + serviceMs / 1000 / 4);
    for (let i = 0; i < out - 1; i++) this.itl.observe((serviceMs / 1000) * 0.75 / Math.max(1, out - 1));
    this.e2e.observe(total);
    this.promptTokens += inp;
    this.generationTokens += out;
    this.success.set("stop", (this.success.get("stop") ?? 0) + 1);
    json(res, 200, {
      id: `chatcmpl-stub-${started}`, object: "chat.completion", created: Math.floor(started / 1000), model: this.options.model,
      choices: [{ index: 0, message: { role: "assistant", content: "stub answer" }, finish_reason: "stop", logprobs: null }],
      usage: { prompt_tokens: inp, completion_tokens: out, total_tokens: inp + out },
    });
  }

  private acquire(): Promise<void> {
    if (this.running < this.options.slots) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.running--;
  }

  /** vLLM v0.33.0's exposition (one engine, data-parallel rank 0). */
  metrics(): string {
    const labels = `{model_name="${this.options.model}",engine="0"}`;
    const lines = [
      "# TYPE vllm:num_requests_running gauge", `vllm:num_requests_running${labels} ${this.running}`,
      "# TYPE vllm:num_requests_waiting gauge", `vllm:num_requests_waiting${labels} ${this.waiters.length}`,
      "# TYPE vllm:kv_cache_usage_perc gauge", `vllm:kv_cache_usage_perc${labels} ${Math.min(1, (0.4 * this.running) / this.options.slots)}`,
      "# TYPE vllm:num_preemptions_total counter", `vllm:num_preemptions_total${labels} ${this.preemptions}`,
      "# TYPE vllm:prompt_tokens_total counter", `vllm:prompt_tokens_total${labels} ${this.promptTokens}`,
      "# TYPE vllm:generation_tokens_total counter", `vllm:generation_tokens_total${labels} ${this.generationTokens}`,
      "# TYPE vllm:request_success_total counter",
      ...["stop", "length", "abort", "error"].map((r) => `vllm:request_success_total{model_name="${this.options.model}",engine="0",finished_reason="${r}"} ${this.success.get(r) ?? 0}`),
      ...this.ttft.text(labels), ...this.itl.text(labels), ...this.e2e.text(labels), ...this.queue.text(labels),
    ];
    return `${lines.join("\n")}\n`;
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** A metrics-only endpoint serving fixed text (stand-in exporters: DCGM, the router extension), on `host`:`port` (default: 127.0.0.1, a free port). */
export async function startTextEndpoint(text: () => string, host = "127.0.0.1", port = 0): Promise<{ address: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(text());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  return { address: `${host}:${bound}`, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}
