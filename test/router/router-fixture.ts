/**
 * The real LiteLLM proxy (pinned in core/versions.json, run by ../router-harness) with
 * OUR rendered config for a real stack plan, where the only change is that every
 * upstream's api_base points at a stub on 127.0.0.1 (UpstreamOverrides). Every
 * credential the plan names gets a distinct canary value, so a test can tell which
 * credential reached which upstream and that none leaked into the proxy's output.
 *
 * Needs .venv/litellm: `bash scripts/install-litellm.sh`.
 */
import * as path from "node:path";
import { type RawStackConfig, readStackFile } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import { ROUTER_ENGINE_KEY_ENV, ROUTER_MASTER_KEY_ENV } from "../../core/plan/env";
import type { DeploymentPlan } from "../../core/plan/types";
import type { LiteLlmConfig, UpstreamOverrides } from "../../core/render/litellm-config";
import { shippedRouterFiles, waitForExtension } from "../router-harness/shipped-router";
import { execFileSync } from "node:child_process";
import { type HttpResult, type LiteLlmProxy, type StreamResult, liteLlmExecutable, startLiteLlmProxy } from "../router-harness/litellm-proxy";
import { type RecordedRequest, type StubKind, type StubUpstream, closeAll, startStub } from "../router-harness/stub-upstreams";

const REPO_ROOT = path.join(__dirname, "..", "..");

/** A shipped stack file, with `router` keys patched (timeouts, cooldown) as a stack file could set them. */
export function shippedStack(stack: string, routerPatch: Readonly<Record<string, unknown>> = {}): RawStackConfig {
  const raw = readStackFile(path.join(REPO_ROOT, "stacks", `Pulumi.${stack}.yaml`), stack);
  const router = raw.values["router"];
  if (typeof router !== "object" || router === null) throw new Error(`stack ${stack} has no router section`);
  return { ...raw, values: { ...raw.values, router: { ...router, ...routerPatch } } };
}

export function planOf(raw: RawStackConfig): DeploymentPlan {
  const { plan, issues } = loadPlan(raw);
  if (!plan) throw new Error(`stack ${raw.stack} does not plan: ${JSON.stringify(issues)}`);
  return plan;
}

/** The stub kind that speaks a provider's wire format (see ../router-harness/stub-upstreams.ts). */
function stubKindFor(provider: string): StubKind {
  switch (provider) {
    case "anthropic":
      return "anthropic";
    case "gemini":
      return "gemini";
    case "replicate":
      throw new Error("replicate/ ignores api_base and cannot be pointed at a stub");
    default:
      return "openai";
  }
}

export interface RouterUnderTest {
  readonly plan: DeploymentPlan;
  /** The config the proxy runs: exactly `renderRouter(plan, overrides).config`, the router extension loaded beside it. */
  readonly config: LiteLlmConfig;
  readonly proxy: LiteLlmProxy;
  /** Engine stub per host name. */
  readonly engines: Readonly<Record<string, StubUpstream>>;
  readonly managed: StubUpstream | undefined;
  /** Frontier stubs in plan.router.frontier order. */
  readonly frontier: readonly StubUpstream[];
  readonly stubs: readonly StubUpstream[];
  /** Env var -> the canary value the proxy got in it. */
  readonly credentials: Readonly<Record<string, string>>;
  readonly masterKey: string;
  /** POST /v1/chat/completions with the master key. */
  chat(body: Record<string, unknown>, headers?: Readonly<Record<string, string>>): Promise<HttpResult>;
  chatStream(body: Record<string, unknown>, headers?: Readonly<Record<string, string>>): Promise<StreamResult>;
  /** Every stub back to `ok` with no recorded request. */
  reset(): Promise<void>;
  /**
   * Waits until the router extension has every engine back in rotation (a health check and
   * a canary passed) and each engine's admission budget is full again: cases that expect an
   * engine to be tried start from the state a fresh router has.
   */
  settle(timeoutMs?: number): Promise<void>;
  /** Rows of the extension's shared state (SQLite, read with the venv's Python). */
  query(sql: string): unknown[][];
  stop(): Promise<void>;
}

/** Distinct, recognisable values; the master key must start with `sk-` (proxy_server.py). */
function canary(env: string): string {
  return `${env === ROUTER_MASTER_KEY_ENV ? "sk-" : ""}canary-${env.toLowerCase().replace(/_/g, "-")}-7d41c9`;
}

/**
 * Stubs for every upstream of the plan, the plan's config rendered with their api_bases,
 * and the proxy started on it. `--num_workers` stays at LiteLLM's default of 1. The engine
 * stubs list `engineModels` on /v1/models (default: the stub's own placeholder name).
 */
export async function startRouter(plan: DeploymentPlan, options: { readonly engineModels?: readonly string[] } = {}): Promise<RouterUnderTest> {
  const stubs: StubUpstream[] = [];
  const cleanups: (() => void)[] = [];
  const track = async (kind: StubKind, name: string, models?: readonly string[]): Promise<StubUpstream> => {
    const stub = await startStub(kind, { name, reply: `hello from ${name}`, ...(models ? { models } : {}) });
    stubs.push(stub);
    return stub;
  };
  try {
    const engines: Record<string, StubUpstream> = {};
    for (const host of plan.hosts) engines[host.name] = await track("openai", `engine-${host.name}`, options.engineModels);
    const managed = plan.router.managed ? await track(stubKindFor(plan.router.managed.provider), `managed-${plan.router.managed.provider}`) : undefined;
    const frontier: StubUpstream[] = [];
    for (const [i, tier] of plan.router.frontier.entries()) frontier.push(await track(stubKindFor(tier.provider), `frontier-${i + 1}-${tier.provider}`));

    const overrides: UpstreamOverrides = {
      engines: Object.fromEntries(Object.entries(engines).map(([host, stub]) => [host, stub.apiBase])),
      ...(managed ? { managed: managed.apiBase } : {}),
      frontier: frontier.map((s) => s.apiBase),
    };
    // As shipped: the config with the router extension applied, and the extension's package
    // and settings from the router container's files (../router-harness/shipped-router.ts).
    const shipped = shippedRouterFiles(plan, overrides);
    cleanups.push(shipped.cleanup);
    const config = shipped.rendered.config;
    const envNames = [ROUTER_MASTER_KEY_ENV, ROUTER_ENGINE_KEY_ENV, ...plan.router.secretEnv.map((s) => s.env)];
    const credentials = Object.fromEntries(envNames.map((name) => [name, canary(name)]));
    const masterKey = credentials[ROUTER_MASTER_KEY_ENV]!;
    const proxy = await startLiteLlmProxy({
      config,
      env: { ...shipped.env, ...credentials },
      files: shipped.files,
      extraArgs: [...shipped.args],
      startupTimeoutMs: 110_000,
    });
    await waitForExtension(proxy, 1);
    // At startup LiteLLM reads GET /v1/models of OpenAI-compatible deployments for their
    // token limits (Router.arefresh_model_info); tests count from a clean slate.
    for (const stub of stubs) stub.clearRequests();

    const reset = async (): Promise<void> => {
      for (const stub of stubs) {
        await stub.setMode("ok");
        stub.errorStatus = 500;
        stub.clearRequests();
      }
    };
    const python = liteLlmExecutable().python;
    const query = (sql: string): unknown[][] => {
      const script = "import json, sqlite3, sys\ndb = sqlite3.connect(sys.argv[1])\nprint(json.dumps(db.execute(sys.argv[2]).fetchall()))";
      return JSON.parse(execFileSync(python, ["-c", script, shipped.statePath, sql], { encoding: "utf8" })) as unknown[][];
    };
    const settle = async (timeoutMs = 90_000): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      // tat: the GCRA's theoretical arrival time, epoch seconds (hybrid_router/state.py).
      const busy = (): number => Number(query("SELECT COUNT(*) FROM engines WHERE down = 1 OR tat > strftime('%s','now')")[0]![0]);
      while (busy() > 0) {
        if (Date.now() > deadline) throw new Error(`engines not back within ${timeoutMs} ms: ${JSON.stringify(query("SELECT name, down, tat - strftime('%s','now') FROM engines"))}`);
        await new Promise((res) => setTimeout(res, 500));
      }
      // The extension's canary completions while engines came back are not the case's calls.
      for (const stub of stubs) stub.clearRequests();
    };
    return {
      settle,
      query,
      plan,
      config,
      proxy,
      engines,
      managed,
      frontier,
      stubs,
      credentials,
      masterKey,
      chat: (body, headers = {}) => proxy.chat(body, { key: masterKey, headers }),
      chatStream: (body, headers = {}) => proxy.chatStream(body, { key: masterKey, headers }),
      reset,
      stop: async () => {
        await proxy.stop();
        await closeAll(stubs);
        for (const c of cleanups) c();
      },
    };
  } catch (err) {
    await closeAll(stubs);
    for (const c of cleanups) c();
    throw err;
  }
}

/** Chat completion requests a stub received (Anthropic: /v1/messages). */
export function calls(stub: StubUpstream | undefined): RecordedRequest[] {
  if (stub === undefined) return [];
  return stub.requests.filter((r) => r.method === "POST" && (r.path.endsWith("/chat/completions") || r.path === "/v1/messages"));
}

/** Which stubs received chat calls, as `{ name: count }` (stubs with none left out). */
export function callCounts(stubs: readonly StubUpstream[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const stub of stubs) {
    const n = calls(stub).length;
    if (n > 0) counts[stub.name] = n;
  }
  return counts;
}

/** `choices[0].message.content` of a chat completion body. */
export function answer(res: HttpResult): unknown {
  const body = res.body as { choices?: { message?: { content?: unknown } }[] };
  return body.choices?.[0]?.message?.content;
}

/** The deployment that answered, as the proxy reports it. */
export function answeredBy(res: HttpResult | StreamResult): string | null {
  return res.headers.get("x-litellm-model-id");
}

/** Env vars whose credential value occurs in anything the proxy printed (stdout, stderr). */
export function credentialsInOutput(router: RouterUnderTest): string[] {
  const printed = `${router.proxy.stdout()}\n${router.proxy.stderr()}`;
  if (printed.length === 0) throw new Error("the proxy printed nothing: its output was not captured");
  return Object.entries(router.credentials)
    .filter(([, value]) => printed.includes(value))
    .map(([env]) => env);
}

export const MESSAGES = [{ role: "user", content: "say hello" }] as const;

/** A prompt of roughly `tokens` tokens (one per repeated word; LiteLLM counts with tiktoken). */
export function promptOf(tokens: number): { role: string; content: string }[] {
  return [{ role: "user", content: "word ".repeat(tokens) }];
}
