/**
 * Starts the real LiteLLM proxy (the pinned version in .venv/litellm, installed by
 * scripts/install-litellm.sh) on 127.0.0.1 for tests, and stops it reliably.
 *
 * Offline by construction:
 * - the child gets a clean environment (nothing inherited but PATH), so no stray provider
 *   key, LITELLM_LICENSE (which would call license.litellm.ai) or proxy setting leaks in;
 * - every remote fetch LiteLLM knows a local switch for is switched to its bundled copy
 *   (model cost map, Anthropic beta headers, blog posts, policy templates, auto-router
 *   presets; litellm/__init__.py, litellm_core_utils/get_model_cost_map.py, ...), its opt-in
 *   telemetry is vetoed (LITELLM_TELEMETRY_DISABLED, litellm/proxy/telemetry/settings.py),
 *   Hugging Face tokenizer downloads (utils._load_huggingface_tokenizer, used for model
 *   names containing "llama-3" etc.) are forced offline, and LITELLM_MODE=PRODUCTION stops
 *   proxy_cli.py from loading a .env file;
 * - HTTP(S)_PROXY points at an egress trap on 127.0.0.1 (NO_PROXY covers loopback), so an
 *   outbound call by any env-honouring client (httpx, LiteLLM's aiohttp transport, requests)
 *   is recorded by the trap and refused instead of reaching the internet:
 *   `egressAttempts()` must stay empty;
 * - the config is checked before start: every deployment needs a loopback api_base, and
 *   replicate/ (which ignores api_base, see stub-upstreams.ts) is refused.
 *
 * Cleanup: the proxy runs in its own process group and is stopped with SIGTERM, then
 * SIGKILL, to the whole group; on Linux it also gets PR_SET_PDEATHSIG so it dies with the
 * test process even when that is killed outright; an exit hook kills any proxy left over.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import net, { type AddressInfo, type Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import type { LiteLlmConfig as RenderedConfig, LiteLlmDeployment as RenderedDeployment } from "../../core/render/litellm-config";

const LOCALHOST = "127.0.0.1";
const REPO_ROOT = path.resolve(__dirname, "..", "..");
const PROMETHEUS_CLIENT_DIR = path.join(REPO_ROOT, ".venv", "prometheus-client");

/**
 * One `model_list` entry: the renderer's shape (core/render/litellm-config.ts), with
 * `model_info` optional so a test can also start a hand-written config.
 */
export type LiteLlmDeployment = Omit<RenderedDeployment, "model_info"> & {
  readonly model_info?: RenderedDeployment["model_info"];
};

/**
 * A LiteLLM proxy config: what `litellmConfig(plan)` returns, with the settings sections
 * the renderer always writes made optional for hand-written configs.
 */
export type LiteLlmConfig = { readonly model_list: readonly LiteLlmDeployment[] } & Partial<
  Omit<RenderedConfig, "model_list">
>;

export interface StartLiteLlmOptions {
  /** The proxy config, as an object (written as YAML) or as YAML text. */
  readonly config: LiteLlmConfig | string;
  /**
   * Environment for the proxy on top of the offline defaults: credentials referenced
   * from the config as `os.environ/NAME`, LITELLM_MASTER_KEY, LITELLM_LOG, ...
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Port to listen on. Default: a free ephemeral port. */
  readonly port?: number;
  /** Give up waiting for /health/liveliness after this long. Default 90 s. */
  readonly startupTimeoutMs?: number;
  /** Extra CLI arguments for `litellm`. */
  readonly extraArgs?: readonly string[];
  /** Skip the loopback/replicate check of the config (do not, unless testing the check). */
  readonly skipOfflineCheck?: boolean;
  /**
   * Files written beside the config before start, paths relative to its directory (e.g. a
   * callback module that `litellm_settings.callbacks` loads from the config's directory).
   */
  readonly files?: readonly { readonly path: string; readonly content: string }[];
}

/** An outbound request the egress trap caught. */
export interface EgressAttempt {
  readonly method: string;
  /** host:port for CONNECT (https), the absolute URL for plain http. */
  readonly target: string;
  readonly at: number;
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON, or the text when the body is not JSON. */
  readonly body: unknown;
  readonly text: string;
}

export interface StreamResult {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed `data:` payloads in order, `[DONE]` excluded. */
  readonly events: unknown[];
  /** Whether the stream ended with `data: [DONE]`. */
  readonly done: boolean;
  readonly text: string;
}

export interface RequestOptions {
  /** Sent as `Authorization: Bearer <key>`; omit to send no key. */
  readonly key?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Default 30 s. */
  readonly timeoutMs?: number;
}

export interface LiteLlmProxy {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly configPath: string;
  /** Milliseconds from spawn to the first 200 from /health/liveliness. */
  readonly startupMs: number;
  readonly version: string;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr interleaved in arrival order. */
  output(): string;
  egressAttempts(): readonly EgressAttempt[];
  /** POST a JSON body to a path of the proxy. */
  post(pathname: string, body: unknown, options?: RequestOptions): Promise<HttpResult>;
  get(pathname: string, options?: RequestOptions): Promise<HttpResult>;
  /** POST /v1/chat/completions. */
  chat(body: Record<string, unknown>, options?: RequestOptions): Promise<HttpResult>;
  /** POST /v1/chat/completions with stream: true, reading the whole SSE stream. */
  chatStream(body: Record<string, unknown>, options?: RequestOptions): Promise<StreamResult>;
  /** Stops the proxy (group SIGTERM, then SIGKILL) and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** The pinned LiteLLM version, from core/versions.json (the single source of truth). */
export function pinnedLiteLlm(): { pypiVersion: string; image: string; tag: string } {
  const raw = JSON.parse(readFileSync(path.join(REPO_ROOT, "core", "versions.json"), "utf8")) as unknown;
  const litellm = isRecord(raw) ? raw["litellm"] : undefined;
  if (
    !isRecord(litellm) ||
    typeof litellm["pypiVersion"] !== "string" ||
    typeof litellm["image"] !== "string" ||
    typeof litellm["tag"] !== "string"
  ) {
    throw new Error("core/versions.json: litellm.pypiVersion, litellm.image and litellm.tag must be strings");
  }
  return { pypiVersion: litellm["pypiVersion"], image: litellm["image"], tag: litellm["tag"] };
}

/** Path of the venv's `litellm` entry point, after checking it holds the pinned version. */
export function liteLlmExecutable(venv = path.join(REPO_ROOT, ".venv", "litellm")): { bin: string; python: string; version: string } {
  const { pypiVersion } = pinnedLiteLlm();
  const bin = path.join(venv, "bin", "litellm");
  const python = path.join(venv, "bin", "python");
  const stamp = path.join(venv, ".litellm-version");
  const fix = "run: bash scripts/install-litellm.sh";
  if (!existsSync(bin) || !existsSync(stamp)) {
    throw new Error(`LiteLLM is not installed in ${venv}; ${fix}`);
  }
  const installed = readFileSync(stamp, "utf8").trim();
  if (!installed.startsWith(`litellm[proxy]==${pypiVersion} `)) {
    throw new Error(`${venv} holds "${installed}" but core/versions.json pins litellm ${pypiVersion}; ${fix}`);
  }
  return { bin, python, version: pypiVersion };
}

/** Environment that keeps the proxy offline and quiet; see the file comment. */
export function offlineEnvironment(home: string, trapUrl: string): Record<string, string> {
  return {
    PATH: process.env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    // Temp files in the proxy's own directory: LiteLLM puts its Prometheus multiprocess files in
    // <tmp>/litellm_prometheus_multiproc and wipes that at start, which two proxies sharing /tmp
    // (parallel tests) would do to each other.
    TMPDIR: home,
    LANG: "C.UTF-8",
    PYTHONUNBUFFERED: "1",
    LITELLM_MODE: "PRODUCTION",
    LITELLM_LOCAL_MODEL_COST_MAP: "True",
    LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS: "True",
    LITELLM_LOCAL_BLOG_POSTS: "True",
    LITELLM_LOCAL_POLICY_TEMPLATES: "True",
    LITELLM_LOCAL_AUTOROUTER_PRESETS: "True",
    LITELLM_TELEMETRY_DISABLED: "True",
    LITELLM_DONT_SHOW_FEEDBACK_BOX: "True",
    DISABLE_ADMIN_UI: "True",
    NO_DOCS: "True",
    NO_REDOC: "True",
    HF_HUB_OFFLINE: "1",
    TRANSFORMERS_OFFLINE: "1",
    HF_HUB_DISABLE_TELEMETRY: "1",
    HTTP_PROXY: trapUrl,
    HTTPS_PROXY: trapUrl,
    ALL_PROXY: trapUrl,
    http_proxy: trapUrl,
    https_proxy: trapUrl,
    all_proxy: trapUrl,
    NO_PROXY: "127.0.0.1,localhost,::1",
    no_proxy: "127.0.0.1,localhost,::1",
    // prometheus_client, which the LiteLLM image ships (its `proxy-runtime` extra) and `litellm[proxy]`
    // does not: the Prometheus callback of stacks with monitoring needs it (scripts/install-prometheus.sh).
    ...(existsSync(PROMETHEUS_CLIENT_DIR) ? { PYTHONPATH: PROMETHEUS_CLIENT_DIR } : {}),
  };
}

/** Prefixes whose deployments make no upstream call, so need no api_base. */
const CALL_FREE_PREFIXES: readonly string[] = ["auto_router/"];

/**
 * Throws unless every deployment would only call loopback: a replicate/ model (its
 * api_base is ignored) or a deployment without a loopback api_base would reach the
 * real provider. `os.environ/NAME` values are resolved from `env`.
 */
export function assertOfflineConfig(config: LiteLlmConfig, env: Readonly<Record<string, string>> = {}): void {
  const problems: string[] = [];
  config.model_list.forEach((deployment, i) => {
    const where = `model_list[${i}] (${deployment.model_name})`;
    const model = deployment.litellm_params.model;
    if (model.startsWith("replicate/")) {
      problems.push(`${where}: replicate/ ignores api_base and always calls api.replicate.com`);
      return;
    }
    if (CALL_FREE_PREFIXES.some((p) => model.startsWith(p))) return;
    const raw = deployment.litellm_params.api_base;
    const base = typeof raw === "string" && raw.startsWith("os.environ/") ? env[raw.slice("os.environ/".length)] : raw;
    if (base === undefined || base === "") {
      problems.push(`${where}: no api_base, so LiteLLM would call the provider's public endpoint`);
      return;
    }
    let host: string;
    try {
      host = new URL(base).hostname;
    } catch {
      problems.push(`${where}: api_base ${JSON.stringify(base)} is not a URL`);
      return;
    }
    if (host !== LOCALHOST && host !== "localhost" && host !== "[::1]") {
      problems.push(`${where}: api_base host ${host} is not loopback`);
    }
  });
  if (problems.length > 0) {
    throw new Error(`refusing to start LiteLLM with a config that can leave 127.0.0.1:\n  ${problems.join("\n  ")}`);
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, LOCALHOST, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const liveProxies = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // group already gone
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of liveProxies) killGroup(child, "SIGKILL");
  });
}

/**
 * Python prologue run before LiteLLM on Linux: ask the kernel to SIGKILL the proxy when
 * the Node process dies (PR_SET_PDEATHSIG = 1; kept across execv), give up if the parent
 * is already gone, then exec the `litellm` entry point with the remaining arguments.
 */
const DEATH_SIGNAL_PROLOGUE = [
  "import ctypes, os, signal, sys",
  "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)",
  "os.getppid() == int(sys.argv[1]) or sys.exit(70)",
  "os.execv(sys.argv[2], sys.argv[2:])",
].join("\n");

class EgressTrap {
  readonly attempts: EgressAttempt[] = [];
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor() {
    this.server = http.createServer((req, res) => {
      this.attempts.push({ method: req.method ?? "?", target: req.url ?? "?", at: Date.now() });
      res.writeHead(403, { "content-type": "text/plain" });
      res.end("egress blocked by the LiteLLM test harness\n");
    });
    this.server.on("connect", (req: http.IncomingMessage, socket: Socket) => {
      this.attempts.push({ method: "CONNECT", target: req.url ?? "?", at: Date.now() });
      socket.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
    });
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  get url(): string {
    return `http://${LOCALHOST}:${this.port}`;
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, LOCALHOST, () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }
}

/**
 * Starts the pinned LiteLLM proxy with `config` on 127.0.0.1 and waits until
 * /health/liveliness answers. On failure the error carries the proxy's output.
 */
export async function startLiteLlmProxy(options: StartLiteLlmOptions): Promise<LiteLlmProxy> {
  const exe = liteLlmExecutable();
  const env = { ...(options.env ?? {}) };
  const configObject = typeof options.config === "string" ? (YAML.parse(options.config) as LiteLlmConfig) : options.config;
  if (options.skipOfflineCheck !== true) assertOfflineConfig(configObject, env);
  const configText = typeof options.config === "string" ? options.config : YAML.stringify(options.config);

  const dir = await mkdtemp(path.join(os.tmpdir(), "litellm-harness-"));
  const configPath = path.join(dir, "config.yaml");
  await writeFile(configPath, configText, { mode: 0o600 });
  for (const file of options.files ?? []) {
    const target = path.resolve(dir, file.path);
    if (!target.startsWith(`${dir}${path.sep}`)) throw new Error(`file ${file.path} would be written outside the proxy's directory`);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.content, { mode: 0o600 });
  }
  const trap = new EgressTrap();
  await trap.start();
  const port = options.port ?? (await freePort());

  const cliArgs = ["--config", configPath, "--port", String(port), "--host", LOCALHOST, ...(options.extraArgs ?? [])];
  const [command, args] =
    process.platform === "linux"
      ? [exe.python, ["-c", DEATH_SIGNAL_PROLOGUE, String(process.pid), exe.bin, ...cliArgs]]
      : [exe.bin, cliArgs];
  const started = Date.now();
  const child = spawn(command, args, {
    cwd: dir,
    env: { ...offlineEnvironment(dir, trap.url), ...env },
    detached: true, // own process group, so stop() can signal LiteLLM and anything it forks
    stdio: ["ignore", "pipe", "pipe"],
  });
  installExitHook();
  liveProxies.add(child);

  const stdoutParts: string[] = [];
  const stderrParts: string[] = [];
  const allParts: string[] = [];
  child.stdout?.setEncoding("utf8").on("data", (s: string) => {
    stdoutParts.push(s);
    allParts.push(s);
  });
  child.stderr?.setEncoding("utf8").on("data", (s: string) => {
    stderrParts.push(s);
    allParts.push(s);
  });
  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exitInfo = signal !== null ? `signal ${signal}` : `code ${String(code)}`;
      liveProxies.delete(child);
      resolve();
    });
    child.once("error", (err) => {
      exitInfo = `spawn error: ${err.message}`;
      liveProxies.delete(child);
      resolve();
    });
  });

  const url = `http://${LOCALHOST}:${port}`;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (exitInfo === undefined) {
      killGroup(child, "SIGTERM");
      const graceful = await settlesWithin(exited, 5_000);
      if (!graceful) {
        killGroup(child, "SIGKILL");
        await exited;
      }
    }
    killGroup(child, "SIGKILL"); // anything left in the group
    await trap.close();
    await rm(dir, { recursive: true, force: true });
  };

  const output = (): string => allParts.join("");
  const timeoutMs = options.startupTimeoutMs ?? 90_000;
  try {
    await waitForLiveliness(url, timeoutMs, () => exitInfo);
  } catch (err) {
    const tail = output().slice(-12_000);
    await stop();
    throw new Error(`${(err as Error).message}\n--- litellm ${exe.version} output (tail) ---\n${tail}`);
  }
  const startupMs = Date.now() - started;

  return {
    url,
    port,
    pid: child.pid ?? -1,
    configPath,
    startupMs,
    version: exe.version,
    stdout: () => stdoutParts.join(""),
    stderr: () => stderrParts.join(""),
    output,
    egressAttempts: () => [...trap.attempts],
    post: (pathname, body, opts) => request(url, "POST", pathname, body, opts),
    get: (pathname, opts) => request(url, "GET", pathname, undefined, opts),
    chat: (body, opts) => request(url, "POST", "/v1/chat/completions", body, opts),
    chatStream: (body, opts) => requestStream(url, "/v1/chat/completions", { ...body, stream: true }, opts),
    stop,
  };
}

async function waitForLiveliness(url: string, timeoutMs: number, exitInfo: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const exited = exitInfo();
    if (exited !== undefined) throw new Error(`litellm exited (${exited}) before /health/liveliness answered`);
    if (Date.now() > deadline) throw new Error(`litellm did not answer ${url}/health/liveliness within ${timeoutMs} ms`);
    try {
      const res = await fetch(`${url}/health/liveliness`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await delay(150);
  }
}

function headersFor(options: RequestOptions | undefined, withBody: boolean): Record<string, string> {
  return {
    ...(withBody ? { "content-type": "application/json" } : {}),
    ...(options?.key !== undefined ? { authorization: `Bearer ${options.key}` } : {}),
    ...(options?.headers ?? {}),
  };
}

async function request(base: string, method: string, pathname: string, body: unknown, options?: RequestOptions): Promise<HttpResult> {
  const res = await fetch(`${base}${pathname}`, {
    method,
    headers: headersFor(options, body !== undefined),
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(options?.timeoutMs ?? 30_000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: parseJson(text), text };
}

async function requestStream(base: string, pathname: string, body: unknown, options?: RequestOptions): Promise<StreamResult> {
  const res = await fetch(`${base}${pathname}`, {
    method: "POST",
    headers: headersFor(options, true),
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(options?.timeoutMs ?? 30_000),
  });
  const text = await res.text();
  const events: unknown[] = [];
  let done = false;
  for (const frame of text.split(/\r?\n\r?\n/)) {
    for (const line of frame.split(/\r?\n/)) {
      if (!line.startsWith("data:")) continue;
      const data = line.slice("data:".length).trim();
      if (data === "[DONE]") {
        done = true;
        continue;
      }
      events.push(parseJson(data));
    }
  }
  return { status: res.status, headers: res.headers, events, done, text };
}

/** Text of the `choices[0].delta.content` pieces of OpenAI-style stream events. */
export function streamedContent(events: readonly unknown[]): string[] {
  const pieces: string[] = [];
  for (const event of events) {
    if (!isRecord(event) || !Array.isArray(event["choices"])) continue;
    const choice: unknown = event["choices"][0];
    if (!isRecord(choice) || !isRecord(choice["delta"])) continue;
    const content = choice["delta"]["content"];
    if (typeof content === "string" && content.length > 0) pieces.push(content);
  }
  return pieces;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether `promise` settles within `ms`; the timer never outlives the race. */
function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
