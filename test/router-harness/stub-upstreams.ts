/**
 * Stub LLM upstreams on 127.0.0.1 for driving the real LiteLLM proxy in tests.
 *
 * Three wire formats: OpenAI-compatible (vLLM, Together, Fireworks, DeepInfra, OpenAI,
 * LoRAX), the Anthropic Messages API and the Gemini (Google AI Studio) API. Each stub
 * listens on an ephemeral port, records every request it receives, and can be switched
 * at runtime between `ok`, `error5xx`, `rate429`, `hang`, `refuse` and `midstream` (a
 * stream that breaks after its first chunks).
 *
 * An OpenAI-compatible stub can also play a vLLM engine under load (`queue`): a fixed
 * number of batch slots, a FIFO queue in front of them, a service time per request, and
 * vLLM v0.33.0's scheduler metrics on GET /metrics (vllm/v1/metrics/loggers.py:
 * vllm:num_requests_running, vllm:num_requests_waiting, vllm:kv_cache_usage_perc and the
 * token counters). Every OpenAI-compatible stub answers /metrics; without `queue` the
 * running count is the requests it is answering. It returns token log-probabilities
 * when a request asks for them (`logprobs: true`), each `logprob` (settable).
 *
 * ---------------------------------------------------------------------------------------
 * How LiteLLM reaches each provider prefix, and how to point it at a stub.
 * Read from the pinned LiteLLM source (core/versions.json: litellm 1.108.7,
 * .venv/litellm/lib/python3.11/site-packages/litellm/); chat completions only. Every
 * prefix below except replicate/ honours `litellm_params.api_base`; the proxy passes it
 * through unchanged (router -> main.completion -> the provider branch named below).
 *
 * hosted_vllm/<m>   main._complete_hosted_vllm -> BaseLLMHTTPHandler (httpx) with
 *                   HostedVLLMChatConfig, which inherits OpenAIGPTConfig.get_complete_url:
 *                   POST {api_base}/chat/completions (rstrip "/"; used as is if api_base
 *                   already contains "chat/completions"). So api_base must end in /v1
 *                   ("http://host:8000/v1"); without it the call goes to /chat/completions.
 *                   Auth: Authorization: Bearer <api_key>; key falls back to env
 *                   HOSTED_VLLM_API_KEY, then the literal "fake-api-key" (never unset).
 *                   Base falls back to env HOSTED_VLLM_API_BASE.
 *                   (llms/hosted_vllm/chat/transformation.py, llms/openai/chat/gpt_transformation.py)
 * openai/<m>        main._complete_custom_openai -> the OpenAI Python SDK with
 *                   base_url=api_base: POST {api_base}/chat/completions, so api_base ends in
 *                   /v1. Auth: Authorization: Bearer <key> (env OPENAI_API_KEY; base env
 *                   OPENAI_BASE_URL / OPENAI_API_BASE). Also sends x-stainless-* headers.
 *                   The router sets max_retries=0 on SDK clients by default (router.py
 *                   default_litellm_params), so the SDK does not retry behind the router.
 *                   Caveat: model names the cost map marks mode "responses" (o1-pro,
 *                   o3-pro, gpt-5-pro, *-codex, ...) are bridged to POST {api_base}/responses
 *                   instead (responses/bridge_check.py); stub names avoid them.
 *                   LoRAX is reached this way (openai/<adapter_id>, its /v1 base).
 * together_ai/<m>   main._complete_together_ai -> BaseLLMHTTPHandler with TogetherAIChatConfig
 *                   (OpenAIGPTConfig URL logic): POST {api_base}/chat/completions; default
 *                   base https://api.together.ai/v1, so api_base ends in /v1. Auth: Bearer;
 *                   env TOGETHER_API_KEY | TOGETHER_AI_API_KEY | TOGETHERAI_API_KEY |
 *                   TOGETHER_AI_TOKEN; base env TOGETHER_AI_API_BASE.
 *                   (litellm_core_utils/get_llm_provider_logic.py)
 * fireworks_ai/<m>  main._complete_fireworks_ai -> BaseLLMHTTPHandler with FireworksAIConfig:
 *                   POST {api_base}/chat/completions; default base
 *                   https://api.fireworks.ai/inference/v1. Auth: Bearer; env FIREWORKS_API_KEY
 *                   | FIREWORKS_AI_API_KEY | FIREWORKSAI_API_KEY | FIREWORKS_AI_TOKEN (a missing
 *                   key raises before any call); base env FIREWORKS_API_BASE. The model sent
 *                   upstream is normalised by resolve_fireworks_resource_name: "<m>" becomes
 *                   "accounts/fireworks/models/<m>", "accounts/..." is kept as is.
 *                   (llms/fireworks_ai/chat/transformation.py, llms/fireworks_ai/common_utils.py)
 * deepinfra/<m>     the OpenAI SDK path like openai/: POST {api_base}/chat/completions;
 *                   default base https://api.deepinfra.com/v1/openai. Auth: Bearer; env
 *                   DEEPINFRA_API_KEY; base env DEEPINFRA_API_BASE.
 *                   (llms/deepinfra/chat/transformation.py)
 * anthropic/<m>     main._complete_anthropic: base = api_base | ANTHROPIC_API_BASE |
 *                   ANTHROPIC_BASE_URL | https://api.anthropic.com/v1/messages, and
 *                   "/v1/messages" is appended unless the base already ends with it (or
 *                   LITELLM_ANTHROPIC_DISABLE_URL_SUFFIX is set). So api_base is the bare
 *                   origin ("http://127.0.0.1:port"); a base ending in /v1 would produce
 *                   /v1/v1/messages. Auth: x-api-key: <key> (env ANTHROPIC_API_KEY), plus
 *                   anthropic-version: 2023-06-01. Exceptions: keys starting with the OAuth
 *                   prefix go as Authorization: Bearer, and litellm_params
 *                   use_bearer_for_custom_base: true sends Bearer to non-anthropic bases.
 *                   (llms/anthropic/common_utils.py _credential_headers)
 * gemini/<m>        main._complete_vertex_ai_beta -> VertexLLM._check_custom_proxy: with an
 *                   api_base the URL is "{api_base}/models/{m}:generateContent", or
 *                   ":streamGenerateContent?alt=sse" when streaming. No API version is added,
 *                   so api_base carries it ("http://127.0.0.1:port/v1beta"). (Without
 *                   api_base: generativelanguage.googleapis.com/v1beta, or /v1alpha for
 *                   gemini-3+.) Auth: x-goog-api-key: <key>, never ?key= (kept out of URLs
 *                   on purpose); env GEMINI_API_KEY | GOOGLE_API_KEY; base env GEMINI_API_BASE.
 *                   (llms/vertex_ai/vertex_llm_base.py, llms/vertex_ai/common_utils.py)
 * replicate/<m>     api_base is IGNORED: ReplicateConfig.get_complete_url always builds
 *                   https://api.replicate.com/v1/models/<m>/predictions (or
 *                   /v1/deployments/<d>/predictions), then polls the URL the response names.
 *                   Auth: Authorization: Token <key> (env REPLICATE_API_KEY |
 *                   REPLICATE_API_TOKEN). It cannot be pointed at a stub, so the harness
 *                   refuses replicate/ deployments (litellm-proxy.ts) rather than let a test
 *                   reach the internet. (llms/replicate/chat/transformation.py)
 *
 * Chat completions run on the Python path for every provider in this version
 * (rust_bridge/catalog.py: CHAT_COMPLETIONS is PYTHON_ONLY).
 * ---------------------------------------------------------------------------------------
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * How a stub answers. `refuse` closes the listening socket: connections are refused.
 * `midstream`: a streamed answer sends `breakAfterChunks` content chunks, then the
 * connection is cut; everything else (non-streamed answers, health, metrics) is `ok`.
 */
export type StubMode = "ok" | "error5xx" | "rate429" | "hang" | "refuse" | "midstream";

/**
 * A vLLM engine's scheduler as a queue: at most `slots` requests run at once, each for
 * `serviceMs`; the rest wait in arrival order. Capacity: slots x 1000 / serviceMs requests/s.
 */
export interface QueueModel {
  readonly slots: number;
  readonly serviceMs: number;
}

/** Which wire format a stub speaks. */
export type StubKind = "openai" | "anthropic" | "gemini";

export interface RecordedRequest {
  /** The stub's name, to tell stubs apart in merged logs. */
  readonly stub: string;
  readonly method: string;
  /** Path and query exactly as received. */
  readonly url: string;
  /** Path without the query. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Header names are lower-case (node:http). */
  readonly headers: Readonly<http.IncomingHttpHeaders>;
  /** Parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  readonly body: unknown;
  /** `model` from the body, or for Gemini the model in the path. */
  readonly model: string | undefined;
  /** Whether the request asked for a streamed answer. */
  readonly stream: boolean;
  /** The stub's mode when the request arrived. */
  readonly mode: StubMode;
  readonly receivedAt: number;
}

export interface StubOptions {
  /** Name used in records and the x-stub-name response header. Default: the kind. */
  readonly name?: string;
  /** Text of a successful answer. Default: `hello from <name>`. */
  readonly reply?: string;
  /** How a streamed answer is split. Default: the reply split before each space. */
  readonly chunks?: readonly string[];
  /** Model ids listed by the models endpoint. Default: ["stub-model"]. */
  readonly models?: readonly string[];
  /** OpenAI-compatible stubs: serve chat completions through a queue model. */
  readonly queue?: QueueModel;
}

const LOCALHOST = "127.0.0.1";

/** A credential as an upstream receives it, whichever header carries it. */
export interface ReceivedCredential {
  readonly carrier: "authorization-bearer" | "authorization-token" | "x-api-key" | "x-goog-api-key" | "query-key";
  readonly value: string;
}

/** Extracts the credential a request carried, in the order providers use them. */
export function credentialOf(request: RecordedRequest): ReceivedCredential | undefined {
  const header = (name: string): string | undefined => {
    const v = request.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const auth = header("authorization");
  if (auth !== undefined) {
    const bearer = /^Bearer\s+(.*)$/i.exec(auth);
    if (bearer?.[1] !== undefined) return { carrier: "authorization-bearer", value: bearer[1] };
    const token = /^Token\s+(.*)$/i.exec(auth);
    if (token?.[1] !== undefined) return { carrier: "authorization-token", value: token[1] };
  }
  const xApiKey = header("x-api-key");
  if (xApiKey !== undefined) return { carrier: "x-api-key", value: xApiKey };
  const goog = header("x-goog-api-key");
  if (goog !== undefined) return { carrier: "x-goog-api-key", value: goog };
  const key = request.query["key"];
  if (key !== undefined) return { carrier: "query-key", value: key };
  return undefined;
}

interface Exchange {
  readonly record: RecordedRequest;
  readonly res: http.ServerResponse;
}

/**
 * One stub server. Start it with {@link startStub} (or the per-kind helpers); always
 * `close()` it (an `afterAll` is enough: close also ends hanging requests).
 */
export class StubUpstream {
  readonly kind: StubKind;
  readonly name: string;
  /** Every request received, oldest first. */
  readonly requests: RecordedRequest[] = [];
  /** Status used by `error5xx`. */
  errorStatus = 500;
  /** Milliseconds to wait before answering in `ok`, `error5xx` and `rate429`. */
  delayMs = 0;
  /** Milliseconds between streamed chunks. */
  chunkDelayMs = 0;
  /** When set, `rate429` answers carry `retry-after: <seconds>`. */
  retryAfterSeconds: number | undefined = undefined;
  /** OpenAI-compatible: the log-probability of every token, when a request asks for them. */
  logprob = -0.05;
  /** OpenAI-compatible: the finish_reason of a successful answer. */
  finishReason = "stop";
  /** `midstream`: content chunks sent before the connection is cut. */
  breakAfterChunks = 2;
  /** OpenAI-compatible: whether GET /metrics answers (false: 503, as an engine whose metrics are unreachable). */
  metricsAvailable = true;
  /** The queue model (OpenAI-compatible only); null: answer at once. */
  queue: QueueModel | null;
  /** Chat completions that finished, with how long each waited in the queue and in total. */
  readonly served: { readonly waitedMs: number; readonly totalMs: number; readonly at: number; readonly model: string | undefined }[] = [];

  private reply: string;
  private chunks: readonly string[];
  private running = 0;
  private readonly waiters: (() => void)[] = [];
  private generationTokens = 0;
  private promptTokens = 0;
  private iterations = 0;
  private readonly models: readonly string[];
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly pendingTimers = new Set<NodeJS.Timeout>();
  private currentMode: StubMode = "ok";
  private listening = false;
  private closed = false;
  private boundPort = 0;

  constructor(kind: StubKind, options: StubOptions = {}) {
    this.kind = kind;
    this.name = options.name ?? kind;
    this.reply = options.reply ?? `hello from ${this.name}`;
    this.chunks = options.chunks ?? splitIntoChunks(this.reply);
    this.models = options.models ?? ["stub-model"];
    this.queue = options.queue ?? null;
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "text/plain" });
        }
        res.end(`stub failure: ${String(err)}`);
      });
    });
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  /** Origin of the stub, e.g. http://127.0.0.1:41234. */
  get url(): string {
    return `http://${LOCALHOST}:${this.boundPort}`;
  }

  get port(): number {
    return this.boundPort;
  }

  /**
   * The `litellm_params.api_base` that makes LiteLLM call this stub at the right path
   * (see the table at the top of this file): `/v1` for OpenAI-compatible prefixes, the
   * bare origin for anthropic/, `/v1beta` for gemini/.
   */
  get apiBase(): string {
    switch (this.kind) {
      case "openai":
        return `${this.url}/v1`;
      case "anthropic":
        return this.url;
      case "gemini":
        return `${this.url}/v1beta`;
      default:
        return assertNever(this.kind);
    }
  }

  get mode(): StubMode {
    return this.currentMode;
  }

  /** Changes the answer's text (and its stream chunks, split before each space). */
  setReply(reply: string, chunks?: readonly string[]): void {
    this.reply = reply;
    this.chunks = chunks ?? splitIntoChunks(reply);
  }

  /** Chat completions in service and waiting, as /metrics reports them. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiters.length };
  }

  /** Switches the mode; `refuse` stops listening, leaving it re-listens on the same port. */
  async setMode(mode: StubMode): Promise<void> {
    if (this.closed) throw new Error(`stub ${this.name} is closed`);
    const previous = this.currentMode;
    this.currentMode = mode;
    if (mode === "refuse" && previous !== "refuse") {
      await this.stopListening();
    } else if (mode !== "refuse" && previous === "refuse") {
      await this.listen(this.boundPort);
    }
  }

  /** Requests whose path contains `pathPart` (all when omitted). */
  requestsTo(pathPart?: string): RecordedRequest[] {
    return pathPart === undefined ? [...this.requests] : this.requests.filter((r) => r.path.includes(pathPart));
  }

  /** Forgets recorded requests; the mode and settings stay. */
  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Starts listening on an ephemeral port of 127.0.0.1 (or `port`). */
  async start(port = 0): Promise<this> {
    await this.listen(port);
    return this;
  }

  /** Stops listening and ends every open connection, hanging requests included. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.pendingTimers) clearTimeout(timer);
    this.pendingTimers.clear();
    await this.stopListening();
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server.off("listening", onListening);
        reject(new Error(`stub ${this.name} cannot listen on ${LOCALHOST}:${port}: ${err.message}`));
      };
      const onListening = (): void => {
        this.server.off("error", onError);
        this.listening = true;
        this.boundPort = (this.server.address() as AddressInfo).port;
        resolve();
      };
      this.server.once("error", onError);
      this.server.once("listening", onListening);
      this.server.listen(port, LOCALHOST);
    });
  }

  private stopListening(): Promise<void> {
    if (!this.listening) {
      this.destroySockets();
      return Promise.resolve();
    }
    this.listening = false;
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.destroySockets();
    });
  }

  private destroySockets(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pendingTimers.delete(timer);
        resolve();
      }, ms);
      this.pendingTimers.add(timer);
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const parsedUrl = new URL(req.url ?? "/", this.url);
    const body = parseBody(raw);
    const query: Record<string, string> = {};
    parsedUrl.searchParams.forEach((value, key) => {
      query[key] = value;
    });
    const gemini = this.kind === "gemini" ? parseGeminiPath(parsedUrl.pathname) : undefined;
    const record: RecordedRequest = {
      stub: this.name,
      method: req.method ?? "GET",
      url: req.url ?? "/",
      path: parsedUrl.pathname,
      query,
      headers: { ...req.headers },
      body,
      model: gemini?.model ?? stringField(body, "model"),
      stream: gemini !== undefined ? gemini.action === "streamGenerateContent" : body !== undefined && isRecord(body) && body["stream"] === true,
      mode: this.currentMode,
      receivedAt: Date.now(),
    };
    this.requests.push(record);
    const exchange: Exchange = { record, res };

    switch (record.mode) {
      case "hang":
      case "refuse": // a request that raced the switch to refuse: treat it like hang
        return; // never answered; close() destroys the socket
      case "error5xx":
        await this.sleep(this.delayMs);
        this.sendError(exchange, this.errorStatus);
        return;
      case "rate429":
        await this.sleep(this.delayMs);
        this.sendError(exchange, 429);
        return;
      case "ok":
      case "midstream":
        await this.sleep(this.delayMs);
        await this.answer(exchange);
        return;
      default:
        assertNever(record.mode);
    }
  }

  private async answer(exchange: Exchange): Promise<void> {
    switch (this.kind) {
      case "openai":
        return this.answerOpenAI(exchange);
      case "anthropic":
        return this.answerAnthropic(exchange);
      case "gemini":
        return this.answerGemini(exchange);
      default:
        return assertNever(this.kind);
    }
  }

  // ---- OpenAI-compatible -------------------------------------------------------------

  private async answerOpenAI({ record, res }: Exchange): Promise<void> {
    const path = stripV1(record.path);
    if (record.method === "GET" && (path === "/health" || record.path === "/health")) {
      this.sendJson(res, 200, { status: "ok" });
      return;
    }
    if (record.method === "GET" && record.path === "/metrics") {
      if (!this.metricsAvailable) {
        this.sendError({ record, res }, 503);
        return;
      }
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(this.metricsText());
      return;
    }
    if (record.method === "GET" && path === "/models") {
      this.sendJson(res, 200, {
        object: "list",
        data: this.models.map((id) => ({ id, object: "model", created: 0, owned_by: this.name })),
      });
      return;
    }
    if (record.method !== "POST" || path !== "/chat/completions") {
      this.sendError({ record, res }, 404);
      return;
    }
    // Like vLLM, a request whose client has gone is dropped from the queue or the batch.
    let gone = false;
    const clientGone = new Promise<void>((resolve) =>
      res.once("close", () => {
        if (!res.writableEnded) {
          gone = true;
          resolve();
        }
      }),
    );
    const waitStarted = Date.now();
    if (!(await this.acquireSlot(clientGone))) return;
    const serviceStarted = Date.now();
    try {
      if (this.queue) await Promise.race([this.sleep(this.queue.serviceMs), clientGone]);
      if (gone) return;
      await this.completeOpenAI(record, res);
      this.served.push({ waitedMs: serviceStarted - waitStarted, totalMs: Date.now() - waitStarted, at: Date.now(), model: record.model });
    } finally {
      this.releaseSlot();
      this.generationTokens += this.chunks.length;
      this.promptTokens += 10;
      this.iterations += 1;
    }
  }

  private async completeOpenAI(record: RecordedRequest, res: http.ServerResponse): Promise<void> {
    const id = `chatcmpl-${this.name}-${this.requests.length}`;
    const created = Math.floor(record.receivedAt / 1000);
    const model = record.model ?? "stub-model";
    const usage = { prompt_tokens: 10, completion_tokens: this.chunks.length, total_tokens: 10 + this.chunks.length };
    const wantsLogprobs = isRecord(record.body) && record.body["logprobs"] === true;
    const logprobsOf = (pieces: readonly string[]): Record<string, unknown> | null =>
      wantsLogprobs ? { content: pieces.map((token) => ({ token, logprob: this.logprob, bytes: null, top_logprobs: [] })) } : null;
    const midstream = this.currentMode === "midstream";
    if (!record.stream) {
      this.sendJson(res, 200, {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message: { role: "assistant", content: this.reply }, finish_reason: this.finishReason, logprobs: logprobsOf(this.chunks) }],
        usage,
      });
      return;
    }
    const chunk = (delta: Record<string, unknown>, finishReason: string | null, pieces: readonly string[] = []): Record<string, unknown> => ({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: pieces.length > 0 ? logprobsOf(pieces) : null }],
    });
    this.startSse(res);
    await this.writeSse(res, undefined, chunk({ role: "assistant", content: "" }, null));
    for (const [i, piece] of this.chunks.entries()) {
      if (midstream && i >= this.breakAfterChunks) {
        res.socket?.destroy();
        return;
      }
      await this.sleep(this.chunkDelayMs);
      await this.writeSse(res, undefined, chunk({ content: piece }, null, [piece]));
    }
    await this.writeSse(res, undefined, chunk({}, this.finishReason));
    const streamOptions = isRecord(record.body) ? record.body["stream_options"] : undefined;
    if (isRecord(streamOptions) && streamOptions["include_usage"] === true) {
      await this.writeSse(res, undefined, { id, object: "chat.completion.chunk", created, model, choices: [], usage });
    }
    res.end("data: [DONE]\n\n");
  }

  /** Resolves true with a batch slot, or false if the client left while it waited. */
  private acquireSlot(clientGone: Promise<void>): Promise<boolean> {
    const queue = this.queue;
    if (queue === null || this.running < queue.slots) {
      this.running++;
      return Promise.resolve(true);
    }
    // The slot passes straight from the finishing request to this one (releaseSlot).
    return new Promise((resolve) => {
      const waiter = (): void => resolve(true);
      this.waiters.push(waiter);
      void clientGone.then(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          resolve(false);
        }
      });
    });
  }

  private releaseSlot(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.running--;
  }

  /** vLLM v0.33.0's scheduler gauges and token counters, in Prometheus text format. */
  private metricsText(): string {
    const labels = `{engine="0",model_name="${this.models[0] ?? "stub-model"}"}`;
    const slots = this.queue?.slots ?? Math.max(1, this.running);
    const kv = Math.min(1, (0.8 * this.running) / slots);
    return [
      "# HELP vllm:num_requests_running Number of requests in model execution batches.",
      "# TYPE vllm:num_requests_running gauge",
      `vllm:num_requests_running${labels} ${this.running}`,
      "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.",
      "# TYPE vllm:num_requests_waiting gauge",
      `vllm:num_requests_waiting${labels} ${this.waiters.length}`,
      "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.",
      "# TYPE vllm:kv_cache_usage_perc gauge",
      `vllm:kv_cache_usage_perc${labels} ${kv}`,
      "# TYPE vllm:prompt_tokens_total counter",
      `vllm:prompt_tokens_total${labels} ${this.promptTokens}`,
      "# TYPE vllm:generation_tokens_total counter",
      `vllm:generation_tokens_total${labels} ${this.generationTokens}`,
      "# TYPE vllm:iteration_tokens_total histogram",
      `vllm:iteration_tokens_total_count${labels} ${this.iterations}`,
      "",
    ].join("\n");
  }

  // ---- Anthropic Messages ------------------------------------------------------------

  private async answerAnthropic({ record, res }: Exchange): Promise<void> {
    if (record.method === "GET" && record.path === "/v1/models") {
      this.sendJson(res, 200, {
        data: this.models.map((id) => ({ type: "model", id, display_name: id, created_at: "2025-01-01T00:00:00Z" })),
        has_more: false,
        first_id: this.models[0] ?? null,
        last_id: this.models[this.models.length - 1] ?? null,
      });
      return;
    }
    if (record.method !== "POST" || record.path !== "/v1/messages") {
      this.sendError({ record, res }, 404);
      return;
    }
    const id = `msg_${this.name}_${this.requests.length}`;
    const model = record.model ?? "stub-model";
    if (!record.stream) {
      this.sendJson(res, 200, {
        id,
        type: "message",
        role: "assistant",
        model,
        content: [{ type: "text", text: this.reply }],
        stop_reason: "end_turn",
        stop_sequence: null,
        usage: { input_tokens: 10, output_tokens: this.chunks.length },
      });
      return;
    }
    this.startSse(res);
    await this.writeSse(res, "message_start", {
      type: "message_start",
      message: {
        id,
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 10, output_tokens: 1 },
      },
    });
    await this.writeSse(res, "content_block_start", {
      type: "content_block_start",
      index: 0,
      content_block: { type: "text", text: "" },
    });
    await this.writeSse(res, "ping", { type: "ping" });
    for (const piece of this.chunks) {
      await this.sleep(this.chunkDelayMs);
      await this.writeSse(res, "content_block_delta", {
        type: "content_block_delta",
        index: 0,
        delta: { type: "text_delta", text: piece },
      });
    }
    await this.writeSse(res, "content_block_stop", { type: "content_block_stop", index: 0 });
    await this.writeSse(res, "message_delta", {
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: this.chunks.length },
    });
    await this.writeSse(res, "message_stop", { type: "message_stop" });
    res.end();
  }

  // ---- Gemini (Google AI Studio) -----------------------------------------------------

  private async answerGemini({ record, res }: Exchange): Promise<void> {
    const target = parseGeminiPath(record.path);
    if (record.method === "GET" && /^\/v1(alpha|beta)?\/models$/.test(record.path)) {
      this.sendJson(res, 200, {
        models: this.models.map((id) => ({ name: `models/${id}`, displayName: id, supportedGenerationMethods: ["generateContent"] })),
      });
      return;
    }
    if (record.method !== "POST" || target === undefined) {
      this.sendError({ record, res }, 404);
      return;
    }
    const usageMetadata = (n: number): Record<string, number> => ({
      promptTokenCount: 10,
      candidatesTokenCount: n,
      totalTokenCount: 10 + n,
    });
    const candidate = (text: string, finished: boolean): Record<string, unknown> => ({
      content: { parts: [{ text }], role: "model" },
      ...(finished ? { finishReason: "STOP" } : {}),
      index: 0,
    });
    if (target.action === "generateContent") {
      this.sendJson(res, 200, {
        candidates: [candidate(this.reply, true)],
        usageMetadata: usageMetadata(this.chunks.length),
        modelVersion: target.model,
      });
      return;
    }
    if (record.query["alt"] !== "sse") {
      // Without alt=sse the API streams one JSON array; LiteLLM always asks for SSE.
      const parts = this.chunks.map((piece, i) => ({
        candidates: [candidate(piece, i === this.chunks.length - 1)],
        usageMetadata: usageMetadata(i + 1),
        modelVersion: target.model,
      }));
      this.sendJson(res, 200, parts);
      return;
    }
    this.startSse(res);
    for (const [i, piece] of this.chunks.entries()) {
      await this.sleep(this.chunkDelayMs);
      const last = i === this.chunks.length - 1;
      await this.writeSse(res, undefined, {
        candidates: [candidate(piece, last)],
        usageMetadata: usageMetadata(i + 1),
        modelVersion: target.model,
      });
    }
    res.end();
  }

  // ---- wire helpers ------------------------------------------------------------------

  private sendError({ res }: Exchange, status: number): void {
    const headers: Record<string, string> = {};
    if (status === 429 && this.retryAfterSeconds !== undefined) {
      headers["retry-after"] = String(this.retryAfterSeconds);
    }
    const message = status === 429 ? `stub ${this.name}: rate limited` : `stub ${this.name}: error ${status}`;
    this.sendJson(res, status, errorBody(this.kind, status, message), headers);
  }

  private sendJson(res: http.ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(payload);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      "x-stub-name": this.name,
      ...headers,
    });
    res.end(text);
  }

  private startSse(res: http.ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-stub-name": this.name,
    });
    res.flushHeaders();
  }

  private writeSse(res: http.ServerResponse, event: string | undefined, data: unknown): Promise<void> {
    const frame = `${event === undefined ? "" : `event: ${event}\n`}data: ${JSON.stringify(data)}\n\n`;
    return new Promise((resolve) => {
      if (res.destroyed || res.writableEnded) {
        resolve();
        return;
      }
      res.write(frame, () => resolve());
    });
  }
}

/** Starts a stub of the given kind on an ephemeral port of 127.0.0.1. */
export function startStub(kind: StubKind, options: StubOptions = {}): Promise<StubUpstream> {
  return new StubUpstream(kind, options).start();
}

/** OpenAI-compatible stub: hosted_vllm/, openai/, together_ai/, fireworks_ai/, deepinfra/. */
export function startOpenAIStub(options: StubOptions = {}): Promise<StubUpstream> {
  return startStub("openai", options);
}

/** Anthropic Messages API stub: anthropic/. */
export function startAnthropicStub(options: StubOptions = {}): Promise<StubUpstream> {
  return startStub("anthropic", options);
}

/** Gemini API stub: gemini/. */
export function startGeminiStub(options: StubOptions = {}): Promise<StubUpstream> {
  return startStub("gemini", options);
}

/** Closes every stub, ignoring ones already closed. */
export async function closeAll(stubs: readonly (StubUpstream | undefined)[]): Promise<void> {
  await Promise.all(stubs.map((s) => s?.close()));
}

function errorBody(kind: StubKind, status: number, message: string): unknown {
  switch (kind) {
    case "openai":
      return {
        error: {
          message,
          type: status === 429 ? "requests" : status === 404 ? "invalid_request_error" : "server_error",
          param: null,
          code: status === 429 ? "rate_limit_exceeded" : status === 404 ? "not_found" : null,
        },
      };
    case "anthropic":
      return {
        type: "error",
        error: { type: status === 429 ? "rate_limit_error" : status === 404 ? "not_found_error" : "api_error", message },
      };
    case "gemini":
      return {
        error: {
          code: status,
          message,
          status: status === 429 ? "RESOURCE_EXHAUSTED" : status === 404 ? "NOT_FOUND" : "INTERNAL",
        },
      };
    default:
      return assertNever(kind);
  }
}

function splitIntoChunks(text: string): string[] {
  const pieces = text.split(/(?= )/);
  return pieces.length > 0 ? pieces : [text];
}

function stripV1(path: string): string {
  return path.startsWith("/v1/") ? path.slice(3) : path;
}

function parseGeminiPath(path: string): { model: string; action: "generateContent" | "streamGenerateContent" } | undefined {
  const m = /^\/v1(?:alpha|beta)?\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(path);
  if (m === null || m[1] === undefined) return undefined;
  return { model: decodeURIComponent(m[1]), action: m[2] === "streamGenerateContent" ? "streamGenerateContent" : "generateContent" };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (part: Buffer) => parts.push(part));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

function parseBody(raw: string): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringField(value: unknown, key: string): string | undefined {
  if (!isRecord(value)) return undefined;
  const field = value[key];
  return typeof field === "string" ? field : undefined;
}

function assertNever(value: never): never {
  throw new Error(`unexpected value: ${String(value)}`);
}
