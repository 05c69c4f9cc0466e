/**
 * A stand-in for a LoRAX 0.12.1 engine on 127.0.0.1, started from the launcher argv we render
 * and the container's mounts, that answers requests the way LoRAX's source says it does
 * (github.com/predibase/lorax at v0.12.1; core/render/lorax.ts has the file:line of each rule):
 *
 * - the argv is parsed as the launcher's clap 4 `Args` parses it, from the flag list read off
 *   its source (core/render/lorax-flags-v0.12.1.json): an unknown flag, a missing or invalid
 *   value, a non-repeatable flag given twice, or `--dtype` with `--quantize` stop the start;
 * - the preloaded adapters (`--preloaded-adapter-ids`, one id per occurrence) are resolved at
 *   start with the preload source; one that cannot be found stops the start;
 * - `/v1/chat/completions` and `/v1/completions`: `model` equal to `--model-id` (or empty) is
 *   the base model; any other `model` is an adapter id, resolved with the request's
 *   `adapter_source` or the default source: `hub` against the repos the test says exist on
 *   the Hub, `local` against adapter directories on the host seen through the container's
 *   mounts (an absolute path as is, a relative one under the hub cache); a preloaded id is
 *   served from memory whatever the source. An adapter that does not resolve is a 424
 *   "Request failed during generation"; a body that is not JSON a 400, one that does not
 *   match LoRAX's request struct a 422;
 * - no `/v1/models` (nor any other route): 404.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import path from "node:path";
import flagList from "../../core/render/lorax-flags-v0.12.1.json";

const LOCALHOST = "127.0.0.1";

/** One launcher flag as read from the source (test/lorax/read-launcher-flags.ts). */
export interface LauncherFlag {
  readonly flag: string;
  readonly field: string;
  readonly type: string;
  readonly line: number;
  readonly takesValue: boolean;
  readonly repeatable: boolean;
  readonly short?: string;
  readonly env?: string;
  readonly default?: string;
  readonly values?: readonly string[];
}

export const LAUNCHER_FLAGS: readonly LauncherFlag[] = flagList.flags;
export const LAUNCHER_VERSION: string = flagList.version;

/** A launcher argv clap would refuse, or settings the launcher or server refuse at start. */
export class LauncherStartError extends Error {}

/** Parsed launcher arguments: field name -> values (one per occurrence), switches -> ["true"]. */
export type LauncherArgs = ReadonlyMap<string, readonly string[]>;

const UNSIGNED = /^(usize|u16|u32|u64)$/;

function checkValue(f: LauncherFlag, value: string): void {
  const inner = /^(?:Option|Vec)<(.+)>$/.exec(f.type)?.[1] ?? f.type;
  if (f.values && !f.values.includes(value)) {
    throw new LauncherStartError(`invalid value '${value}' for '${f.flag}': possible values: ${f.values.join(", ")}`);
  }
  if (UNSIGNED.test(inner) && !/^\d+$/.test(value)) throw new LauncherStartError(`invalid value '${value}' for '${f.flag}': not an unsigned integer`);
  if (inner === "f32" && !Number.isFinite(Number(value))) throw new LauncherStartError(`invalid value '${value}' for '${f.flag}': not a number`);
}

/**
 * Parses `lorax-launcher` argv like clap 4 with the launcher's `Args`: long flags (`--x v` or
 * `--x=v`) and their shorts, env fallbacks for flags not given (clap's `env`), then defaults.
 * Throws {@link LauncherStartError} with clap's wording for what clap refuses.
 */
export function parseLauncherArgv(argv: readonly string[], env: Readonly<Record<string, string>> = {}): LauncherArgs {
  const byName = new Map<string, LauncherFlag>();
  for (const f of LAUNCHER_FLAGS) {
    byName.set(f.flag, f);
    if (f.short) byName.set(f.short, f);
  }
  const given = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const f = byName.get(name);
    if (!f) throw new LauncherStartError(arg.startsWith("-") ? `unexpected argument '${arg}' found` : `unexpected argument '${arg}' found (the launcher takes no positional arguments)`);
    const seen = given.get(f.field) ?? [];
    if (seen.length > 0 && !f.repeatable) throw new LauncherStartError(`the argument '${f.flag}' cannot be used multiple times`);
    let value = "true";
    if (f.takesValue) {
      const next = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (next === undefined || (eq < 0 && next.startsWith("--"))) throw new LauncherStartError(`a value is required for '${f.flag}' but none was supplied`);
      value = next;
      checkValue(f, value);
    } else if (eq > 0) {
      throw new LauncherStartError(`unexpected value '${arg.slice(eq + 1)}' for '${f.flag}' found; no more were expected`);
    }
    given.set(f.field, [...seen, value]);
  }
  const out = new Map<string, readonly string[]>();
  for (const f of LAUNCHER_FLAGS) {
    const values = given.get(f.field);
    const fromEnv = f.env !== undefined ? env[f.env] : undefined;
    if (values) out.set(f.field, values);
    else if (fromEnv !== undefined && f.takesValue) {
      checkValue(f, fromEnv);
      out.set(f.field, [fromEnv]);
    } else if (f.default !== undefined) out.set(f.field, [f.default]);
  }
  return out;
}

/** What the launcher, router and server make of the argv (checks they make at start included). */
export interface LoraxSettings {
  readonly modelId: string;
  readonly port: number;
  readonly hostname: string;
  /** The router's default source for requests without `adapter_source`. */
  readonly defaultAdapterSource: string;
  readonly preloadedIds: readonly string[];
  readonly preloadedSource: string;
  readonly quantize?: string;
  readonly dtype?: string;
  readonly numShard?: number;
  readonly maxInputLength?: number;
  readonly maxTotalTokens?: number;
  readonly args: LauncherArgs;
}

export function loraxSettings(argv: readonly string[], env: Readonly<Record<string, string>> = {}): LoraxSettings {
  const args = parseLauncherArgv(argv, env);
  const one = (field: string): string | undefined => args.get(field)?.[0];
  const num = (field: string): number | undefined => (one(field) === undefined ? undefined : Number(one(field)));
  const adapterSource = one("adapter_source") ?? "hub";
  const quantize = one("quantize");
  const dtype = one("dtype");
  // server/lorax_server/cli.py:87-91
  if (quantize !== undefined && dtype !== undefined) {
    throw new LauncherStartError("Only 1 can be set between `dtype` and `quantize`, as they both decide how the final model is initialized.");
  }
  // launcher/src/main.rs:1056-1094 (find_num_shards)
  const sharded = one("sharded");
  const numShard = num("num_shard");
  if (sharded === "true" && numShard !== undefined && numShard <= 1) throw new LauncherStartError("`sharded` is true but `num_shard` <= 1");
  if (numShard !== undefined && numShard < 1) throw new LauncherStartError("`num_shard` cannot be < 1");
  // main.rs:1667-1671 and router/src/main.rs:438-439
  const maxInputLength = num("max_input_length");
  const maxTotalTokens = num("max_total_tokens");
  const prefill = num("max_batch_prefill_tokens");
  if (maxInputLength !== undefined && maxTotalTokens !== undefined && maxInputLength >= maxTotalTokens) {
    throw new LauncherStartError("`max_input_length` must be < `max_total_tokens`");
  }
  if (prefill !== undefined && maxInputLength !== undefined && prefill < maxInputLength) {
    throw new LauncherStartError(`\`max_batch_prefill_tokens\` must be >= \`max_input_length\`. Given: ${prefill} and ${maxInputLength}`);
  }
  return {
    modelId: one("model_id")!,
    port: num("port")!,
    hostname: one("hostname")!,
    defaultAdapterSource: one("default_adapter_source") ?? adapterSource,
    preloadedIds: args.get("preloaded_adapter_ids") ?? [],
    preloadedSource: one("preloaded_adapter_source") ?? adapterSource,
    ...(quantize !== undefined ? { quantize } : {}),
    ...(dtype !== undefined ? { dtype } : {}),
    ...(numShard !== undefined ? { numShard } : {}),
    ...(maxInputLength !== undefined ? { maxInputLength } : {}),
    ...(maxTotalTokens !== undefined ? { maxTotalTokens } : {}),
    args,
  };
}

/** A bind mount of the engine container. */
export interface StubMount {
  readonly hostPath: string;
  readonly containerPath: string;
}

export interface LoraxStubOptions {
  readonly name?: string;
  /** The launcher argv, as the container would run it. */
  readonly argv: readonly string[];
  /** The container's env (image ENV and ours): clap reads flags it is not given from it. */
  readonly env?: Readonly<Record<string, string>>;
  /** The container's bind mounts. */
  readonly mounts?: readonly StubMount[];
  /** Repo ids that exist on the Hugging Face Hub. */
  readonly hubRepos?: readonly string[];
  /** Host directories that hold an adapter (adapter_config.json and *.safetensors). */
  readonly hostAdapterDirs?: readonly string[];
}

/** How the stub resolved one generation request. */
export type Resolution =
  | { readonly kind: "base" }
  | { readonly kind: "adapter"; readonly id: string; readonly source: string; readonly preloaded: boolean };

export interface LoraxRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<http.IncomingHttpHeaders>;
  readonly body: unknown;
  readonly status: number;
  readonly resolution?: Resolution;
}

const SOURCES = new Set(["hub", "s3", "local", "pbase"]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function within(child: string, parent: string): string | undefined {
  const p = parent.replace(/\/+$/, "");
  if (child === p) return "";
  return child.startsWith(`${p}/`) ? child.slice(p.length) : undefined;
}

export class LoraxStub {
  readonly name: string;
  readonly settings: LoraxSettings;
  /** Every request, oldest first. */
  readonly requests: LoraxRequest[] = [];
  private readonly env: Readonly<Record<string, string>>;
  private readonly mounts: readonly StubMount[];
  private readonly hubRepos: ReadonlySet<string>;
  private readonly hostAdapterDirs: ReadonlySet<string>;
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;

  /** Parses the argv and resolves the preloaded adapters: throws what would stop LoRAX from starting. */
  constructor(options: LoraxStubOptions) {
    this.name = options.name ?? "lorax";
    this.env = options.env ?? {};
    this.mounts = options.mounts ?? [];
    this.hubRepos = new Set(options.hubRepos ?? []);
    this.hostAdapterDirs = new Set((options.hostAdapterDirs ?? []).map((d) => d.replace(/\/+$/, "")));
    this.settings = loraxSettings(options.argv, this.env);
    // server/lorax_server/server.py:342-382: preloaded adapters are downloaded before the server starts.
    for (const id of this.settings.preloadedIds) {
      const problem = this.resolveProblem(id, this.settings.preloadedSource);
      if (problem) throw new LauncherStartError(`Failed to download all adapters: ${problem}`);
    }
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
        res.end(`stub failure: ${String(err)}`);
      });
    });
    this.server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  get url(): string {
    return `http://${LOCALHOST}:${this.boundPort}`;
  }

  /** What the router's `api_base` for this engine is: LoRAX's OpenAI routes live under /v1. */
  get apiBase(): string {
    return `${this.url}/v1`;
  }

  /** The requests that reached the generation routes, with how each was resolved. */
  generations(): LoraxRequest[] {
    return this.requests.filter((r) => r.resolution !== undefined);
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  start(): Promise<this> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, LOCALHOST, () => {
        this.boundPort = (this.server.address() as AddressInfo).port;
        resolve(this);
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Why an adapter id does not resolve with a source; undefined when it does. */
  resolveProblem(id: string, source: string): string | undefined {
    if (!SOURCES.has(source)) return `Invalid source '${source}' when downloading adapter '${id}'`;
    switch (source) {
      case "hub":
        return this.hubRepos.has(id) ? undefined : `Repository Not Found for url: https://huggingface.co/api/models/${id}`;
      case "local": {
        if (id.length < 5) return `model_id '${id}' is too short for prefix filtering`;
        const hubCache = this.env["HUGGINGFACE_HUB_CACHE"] ?? "/root/.cache/huggingface/hub";
        const inContainer = path.isAbsolute(id) ? id : path.join(hubCache, id);
        for (const m of this.mounts) {
          const rest = within(inContainer, m.containerPath);
          if (rest !== undefined && this.hostAdapterDirs.has(`${m.hostPath.replace(/\/+$/, "")}${rest}`)) return undefined;
        }
        return `No local weights found in ${id} with extension .safetensors`;
      }
      default:
        return `the stub has no ${source} store for adapter '${id}'`;
    }
  }

  private record(req: http.IncomingMessage, pathname: string, body: unknown, status: number, resolution?: Resolution): void {
    this.requests.push({ method: req.method ?? "GET", path: pathname, headers: { ...req.headers }, body, status, ...(resolution ? { resolution } : {}) });
  }

  private send(res: http.ServerResponse, status: number, body: unknown): void {
    const text = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, body === undefined ? {} : { "content-type": "application/json" });
    res.end(text);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const pathname = new URL(req.url ?? "/", this.url).pathname;
    const route = `${req.method ?? "GET"} ${pathname}`;
    if (route === "GET /health" || route === "GET /ping") {
      this.record(req, pathname, undefined, 200);
      return this.send(res, 200, undefined);
    }
    if (route === "GET /info") {
      this.record(req, pathname, undefined, 200);
      return this.send(res, 200, { model_id: this.settings.modelId, version: "0.1.0" });
    }
    const chat = route === "POST /v1/chat/completions";
    if (!chat && route !== "POST /v1/completions") {
      // axum's router: no route, no body (router/src/server.rs:1475-1497 define no /v1/models).
      this.record(req, pathname, raw, 404);
      return this.send(res, 404, undefined);
    }
    let body: unknown;
    try {
      body = JSON.parse(raw) as unknown;
    } catch {
      this.record(req, pathname, raw, 400);
      return this.send(res, 400, { error: "Failed to parse the request body as JSON", error_type: "json" });
    }
    const invalid = this.shapeProblem(body, chat);
    if (invalid || !isRecord(body)) {
      this.record(req, pathname, body, 422);
      return this.send(res, 422, { error: `Failed to deserialize the JSON body into the target type: ${invalid ?? "expected an object"}`, error_type: "validation" });
    }
    const model = body["model"] as string;
    const resolution = this.resolve(model, body["adapter_source"] as string | undefined);
    if ("problem" in resolution) {
      this.record(req, pathname, body, 424);
      return this.send(res, 424, { error: `Request failed during generation: ${resolution.problem}`, error_type: "generation" });
    }
    this.record(req, pathname, body, 200, resolution);
    const text = resolution.kind === "base" ? `base ${this.settings.modelId}` : `adapter ${resolution.id} via ${resolution.source}${resolution.preloaded ? " (preloaded)" : ""}`;
    if (body["stream"] === true) return this.stream(res, text, chat);
    const created = Math.floor(Date.now() / 1000);
    // LoRAX answers with its --model-id as `model`, whatever adapter served (server.rs:376-382).
    const usage = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 };
    if (chat) {
      return this.send(res, 200, {
        id: "null", object: "chat.completion", created, model: this.settings.modelId, system_fingerprint: "0.1.0-stub",
        choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop", logprobs: null }], usage,
      });
    }
    return this.send(res, 200, {
      id: "null", object: "text_completion", created, model: this.settings.modelId, system_fingerprint: "0.1.0-stub",
      choices: [{ index: 0, text, finish_reason: "stop", logprobs: null }], usage,
    });
  }

  /** The fields of LoRAX's ChatCompletionRequest / CompletionRequest a client can get wrong (router/src/lib.rs:667-720, 971-1003). */
  private shapeProblem(body: unknown, chat: boolean): string | undefined {
    if (!isRecord(body)) return "invalid type: expected struct";
    if (typeof body["model"] !== "string") return "missing field `model` or not a string";
    if (chat && !Array.isArray(body["messages"])) return "missing field `messages`";
    if (!chat && typeof body["prompt"] !== "string") return "`prompt` must be a string";
    for (const f of ["adapter_source", "api_token"]) {
      if (body[f] !== undefined && body[f] !== null && typeof body[f] !== "string") return `\`${f}\` must be a string`;
    }
    if (body["stop"] !== undefined && !Array.isArray(body["stop"])) return "`stop` must be a sequence";
    if (body["stream"] !== undefined && body["stream"] !== null && typeof body["stream"] !== "boolean") return "`stream` must be a boolean";
    return undefined;
  }

  private resolve(model: string, requested: string | undefined): Resolution | { problem: string } {
    // server.rs:157-161, 243-247; lib.rs:749-752
    if (model === this.settings.modelId || model === "") return { kind: "base" };
    const source = requested ?? this.settings.defaultAdapterSource;
    // Preloaded adapters are keyed by id alone (router/src/infer.rs:219-230).
    if (this.settings.preloadedIds.includes(model)) return { kind: "adapter", id: model, source, preloaded: true };
    const problem = this.resolveProblem(model, source);
    return problem ? { problem } : { kind: "adapter", id: model, source, preloaded: false };
  }

  private stream(res: http.ServerResponse, text: string, chat: boolean): void {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const created = Math.floor(Date.now() / 1000);
    const words = text.split(/(?= )/);
    for (const [i, w] of words.entries()) {
      const last = i === words.length - 1;
      const choice = chat
        ? { index: 0, delta: i === 0 ? { role: "assistant", content: w } : { content: w }, finish_reason: last ? "stop" : null }
        : { index: 0, text: w, finish_reason: last ? "stop" : null };
      res.write(`data: ${JSON.stringify({ id: "null", object: chat ? "chat.completion.chunk" : "text_completion", created, model: this.settings.modelId, choices: [choice] })}\n\n`);
    }
    res.write("data: [DONE]\n\n");
    res.end();
  }
}

/** Starts a LoRAX stub; throws {@link LauncherStartError} when LoRAX would not start. */
export async function startLoraxStub(options: LoraxStubOptions): Promise<LoraxStub> {
  return new LoraxStub(options).start();
}
