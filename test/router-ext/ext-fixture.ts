/**
 * The real LiteLLM proxy (pinned, ../router-harness) running OUR rendered config for a
 * stack plan plus the router extension (core/render/router-extension.ts): exactly
 * `routerExtension(input).apply(litellmConfig(plan, overrides))`, the extension's package
 * and settings mounted beside the config as the router container mounts them, the plan's
 * own `--num_workers`, and the extension's extra arguments. The only changes from what
 * is deployed: every upstream's api_base points at a stub on 127.0.0.1, and the state
 * files live in a temporary directory.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import * as path from "node:path";
import { ROUTER_ENGINE_KEY_ENV, ROUTER_MASTER_KEY_ENV } from "../../core/plan/env";
import type { DeploymentPlan } from "../../core/plan/types";
import { type LiteLlmConfig, type UpstreamOverrides, litellmConfig } from "../../core/render/litellm-config";
import {
  type RouterExtension,
  type RouterExtensionInput,
  type RouterExtensionOptions,
  SETTINGS_FILE_NAME,
  routerExtension,
  routerExtensionInput,
} from "../../core/render/router-extension";
import { renderRouter } from "../../core/render/router-config";
import { type HttpResult, type LiteLlmProxy, type StreamResult, liteLlmExecutable, startLiteLlmProxy } from "../router-harness/litellm-proxy";
import { type QueueModel, type StubKind, type StubUpstream, closeAll, startStub } from "../router-harness/stub-upstreams";

export interface ExtRouterOptions {
  readonly extension?: RouterExtensionOptions;
  /** Queue model per engine (host name); engines without one answer at once. */
  readonly queues?: Readonly<Record<string, QueueModel>>;
  /** Managed fine-tune stubs per adapter name (adapters with policy `managed`). */
  readonly adapterManaged?: readonly string[];
  /** Override the plan's worker count (only to compare; tests use the plan's). */
  readonly numWorkers?: number;
  /** false: today's rendered config alone, without the extension (benchmarks compare the two). */
  readonly withExtension?: boolean;
}

export interface ExtRouter {
  readonly plan: DeploymentPlan;
  readonly input: RouterExtensionInput;
  readonly extension: RouterExtension;
  readonly config: LiteLlmConfig;
  readonly proxy: LiteLlmProxy;
  readonly engines: Readonly<Record<string, StubUpstream>>;
  readonly managed: StubUpstream | undefined;
  readonly frontier: readonly StubUpstream[];
  /** Stubs of the adapters' managed fine-tunes, by adapter name. */
  readonly adapterManaged: Readonly<Record<string, StubUpstream>>;
  readonly stubs: readonly StubUpstream[];
  readonly credentials: Readonly<Record<string, string>>;
  readonly masterKey: string;
  readonly stateDir: string;
  chat(body: Record<string, unknown>, headers?: Readonly<Record<string, string>>, timeoutMs?: number): Promise<HttpResult>;
  chatStream(body: Record<string, unknown>, headers?: Readonly<Record<string, string>>, timeoutMs?: number): Promise<StreamResult>;
  /** Rows of the shared state, read with the venv's Python (sqlite3). */
  query(sql: string): unknown[][];
  counters(): Record<string, number>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export function stubKindFor(provider: string): StubKind {
  if (provider === "anthropic") return "anthropic";
  if (provider === "gemini") return "gemini";
  if (provider === "replicate") throw new Error("replicate/ ignores api_base and cannot be pointed at a stub");
  return "openai";
}

/** Distinct, recognisable values; the master key must start with `sk-` (proxy_server.py). */
function canary(env: string): string {
  return `${env === ROUTER_MASTER_KEY_ENV ? "sk-" : ""}canary-${env.toLowerCase().replace(/_/g, "-")}-5e2b17`;
}

export async function startExtRouter(plan: DeploymentPlan, options: ExtRouterOptions = {}): Promise<ExtRouter> {
  const stubs: StubUpstream[] = [];
  const track = async (kind: StubKind, name: string, queue?: QueueModel): Promise<StubUpstream> => {
    const stub = await startStub(kind, { name, reply: `hello from ${name}`, models: [plan.engine.servedModelName], ...(queue ? { queue } : {}) });
    stubs.push(stub);
    return stub;
  };
  const stateDir = mkdtempSync(path.join(os.tmpdir(), "hybrid-router-state-"));
  try {
    const engines: Record<string, StubUpstream> = {};
    for (const host of plan.hosts) engines[host.name] = await track("openai", `engine-${host.name}`, options.queues?.[host.name]);
    const managed = plan.router.managed ? await track(stubKindFor(plan.router.managed.provider), `managed-${plan.router.managed.provider}`) : undefined;
    const frontier: StubUpstream[] = [];
    for (const [i, tier] of plan.router.frontier.entries()) frontier.push(await track(stubKindFor(tier.provider), `frontier-${i + 1}-${tier.provider}`));
    const adapterManaged: Record<string, StubUpstream> = {};
    for (const adapter of options.adapterManaged ?? []) adapterManaged[adapter] = await track("openai", `managed-finetune-${adapter}`);

    const overrides: UpstreamOverrides = {
      engines: Object.fromEntries(Object.entries(engines).map(([host, stub]) => [host, stub.apiBase])),
      ...(managed ? { managed: managed.apiBase } : {}),
      frontier: frontier.map((s) => s.apiBase),
    };
    const input = routerExtensionInput(plan, options.extension ?? {}, overrides);
    // Without test options: exactly what ships (core/render/router-config.ts).
    const shipped = options.extension === undefined ? renderRouter(plan, overrides) : null;
    const extension = shipped?.extension ?? routerExtension(input);
    const withExtension = options.withExtension ?? true;
    const base = withExtension ? (shipped?.config ?? extension.apply(litellmConfig(plan, overrides))) : litellmConfig(plan, overrides);
    // Adapters' managed fine-tunes are the extension's own deployments: aim them at their stubs.
    const config: LiteLlmConfig = {
      ...base,
      model_list: base.model_list.map((d) => {
        const adapter = Object.keys(adapterManaged).find((a) => d.model_name === `${a}-managed`);
        return adapter ? { ...d, litellm_params: { ...d.litellm_params, api_base: adapterManaged[adapter]!.apiBase } } : d;
      }),
    };
    const settings = { ...extension.settings, state_path: path.join(stateDir, "state.db"), spend_path: path.join(stateDir, "spend.db") };
    const files = extension.files.map((f) => (f.path === SETTINGS_FILE_NAME ? { path: f.path, content: JSON.stringify(settings, null, 2) } : f));

    const envNames = [
      ROUTER_MASTER_KEY_ENV,
      ROUTER_ENGINE_KEY_ENV,
      ...plan.router.secretEnv.map((s) => s.env),
      ...input.adapters.flatMap((a) => (a.managed ? [a.managed.apiKeyEnv] : [])),
    ];
    const credentials = Object.fromEntries(envNames.map((name) => [name, canary(name)]));
    const masterKey = credentials[ROUTER_MASTER_KEY_ENV]!;
    const workers = options.numWorkers ?? plan.router.numWorkers;
    const proxy = await startLiteLlmProxy({
      config,
      env: { ...credentials, ...(withExtension ? extension.env : {}) },
      ...(withExtension ? { files } : {}),
      // The extension's worker health-check allowance is needed by any multi-worker proxy here.
      extraArgs: ["--num_workers", String(workers), ...extension.args],
      startupTimeoutMs: 300_000,
    });
    if (withExtension) await waitForWorkers(proxy, workers);
    for (const stub of stubs) stub.clearRequests();

    const python = liteLlmExecutable().python;
    const query = (sql: string): unknown[][] => {
      const script = "import json, sqlite3, sys\ndb = sqlite3.connect(sys.argv[1])\nprint(json.dumps(db.execute(sys.argv[2]).fetchall()))";
      const dbFile = /\bspend\b/.test(sql) ? settings.spend_path : settings.state_path;
      return JSON.parse(execFileSync(python, ["-c", script, dbFile, sql], { encoding: "utf8" })) as unknown[][];
    };
    return {
      plan,
      input,
      extension,
      config,
      proxy,
      engines,
      managed,
      frontier,
      adapterManaged,
      stubs,
      credentials,
      masterKey,
      stateDir,
      chat: (body, headers = {}, timeoutMs = 60_000) => proxy.chat(body, { key: masterKey, headers, timeoutMs }),
      chatStream: (body, headers = {}, timeoutMs = 60_000) => proxy.chatStream(body, { key: masterKey, headers, timeoutMs }),
      query,
      counters: () => Object.fromEntries(query("SELECT name, value FROM counters").map((r) => [String(r[0]), Number(r[1])])),
      reset: async () => {
        for (const stub of stubs) {
          await stub.setMode("ok");
          stub.errorStatus = 500;
          stub.logprob = -0.05;
          stub.finishReason = "stop";
          stub.delayMs = 0;
          stub.chunkDelayMs = 0;
          stub.breakAfterChunks = 2;
          stub.metricsAvailable = true;
          stub.setReply(`hello from ${stub.name}`);
          stub.clearRequests();
        }
      },
      stop: async () => {
        await proxy.stop();
        await closeAll(stubs);
        rmSync(stateDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await closeAll(stubs);
    rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * /health/liveliness answers as soon as one worker is up; wait until every worker has
 * loaded the extension (each prints one line when it does), so traffic meets them all.
 */
async function waitForWorkers(proxy: LiteLlmProxy, workers: number, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const loaded = (proxy.output().match(/hybrid_router: loaded/g) ?? []).length;
    if (loaded >= workers) return;
    if (Date.now() > deadline) throw new Error(`only ${loaded} of ${workers} workers loaded the extension within ${timeoutMs} ms\n${proxy.output().slice(-6000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Sends `perWorker x workers` plain and streamed requests to the served model, each on a
 * new connection (a kept-alive one stays with one worker), so that every worker process
 * has served a request of each kind before a test times anything. (The extension loads
 * LiteLLM's tokenizers at start; this covers what else a process does the first time.)
 */
export async function warmUp(r: ExtRouter, perWorker = 6): Promise<void> {
  const n = perWorker * (r.plan.router.numWorkers || 1);
  const served = r.plan.engine.servedModelName;
  const fresh = { connection: "close" };
  for (let i = 0; i < n; i += 4) {
    await Promise.all([0, 1, 2, 3].map((j) => (j % 2 === 0 ? r.chat({ model: served, messages: MESSAGES }, fresh) : r.chatStream({ model: served, messages: MESSAGES }, fresh))));
  }
}

/** Chat completion requests a stub received (Anthropic: /v1/messages). */
export function chatCalls(stub: StubUpstream | undefined): number {
  if (stub === undefined) return 0;
  return stub.requests.filter((r) => r.method === "POST" && (r.path.endsWith("/chat/completions") || r.path === "/v1/messages")).length;
}

export const MESSAGES = [{ role: "user", content: "say hello" }] as const;

export function answerText(res: HttpResult): unknown {
  const body = res.body as { choices?: { message?: { content?: unknown } }[] };
  return body.choices?.[0]?.message?.content;
}
