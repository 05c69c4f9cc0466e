/**
 * A real Prometheus (Debian's 2.42) on 127.0.0.1 with the staging stack's rendered scrape jobs and
 * rules, scraping: the real LiteLLM proxy (the pinned version, the plan's config with the
 * Prometheus callback, started with the router container's own arguments: the plan's two workers
 * and `--prometheus_metrics_port`) in front of a stand-in vLLM engine serving v0.33.0's metric
 * names and stub managed and frontier APIs; a real node exporter (Debian's 1.5); and a stand-in for
 * the DCGM exporter (no GPU here). The router is the shipped one, with its extension, whose own
 * metrics (hybrid_router_*) come through the same metrics port as LiteLLM's.
 *
 * The load is known and applied in phases, each in its own test, in order (they share the proxy
 * and Prometheus): answers from the engine, paced at the rate the extension admits for it; a burst
 * sent to the engine directly that queues there, and one request the extension then refuses
 * (`waiting`: the queue is on the engine's /metrics) and sends to the managed tier; hard-tagged
 * requests to the frontier and, with the engine failing, spill-over to the API tiers; one request
 * every tier fails. The engine must fail last: LiteLLM cools a failing deployment down for the
 * stack's cooldown_time (30 s), and the burst must reach the engine.
 *
 * No sleeps: every wait asks Prometheus until its own scrape or rule evaluation shows the sample
 * (bounded; a timeout fails with the last answer). A counter's first sample is invisible to
 * rate(), so each counted series is first created by one request and seen scraped before the
 * counted load.
 *
 * The plan's workers (two for staging; prod runs four, the same aggregation path): every worker
 * writes its samples to PROMETHEUS_MULTIPROC_DIR and the metrics port serves their sum, so the
 * counters below are totals over both workers whichever served a request (the extension's too).
 * The extension admits the engine's planned rate for the whole router (53/min for staging, a
 * burst of 5 s of it): the first phase's requests are paced at that rate, so none spills by rate.
 *
 * The scrape and rule interval is 2 s here, not the shipped 15 s, so the test takes seconds; the
 * shipped interval is what test/monitoring/promtool.test.ts runs the rules at.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROUTER_ENGINE_KEY_ENV, ROUTER_MASTER_KEY_ENV } from "../../core/plan/env";
import type { DeploymentPlan } from "../../core/plan/types";
import { routerContainer } from "../../core/render/containers";
import { routerExtension, routerExtensionInput } from "../../core/render/router-extension";
import { deploymentIds } from "../../core/render/litellm-config";
import { shippedRouterFiles } from "../router-harness/shipped-router";
import { dashboardQueries, renderDashboards } from "../../core/render/monitoring/dashboards";
import { dockerScrapeTargets } from "../../core/render/monitoring/docker";
import { DCGM, JOBS, LITELLM, RECORDED, ROUTER_ERROR_STATUS, ROUTER_EXTENSION } from "../../core/render/monitoring/metrics";
import { planMonitoring } from "../../core/render/monitoring/options";
import { type ScrapeTargets, renderPrometheusConfig, scrapeJobs } from "../../core/render/monitoring/prometheus";
import { type MonitoringRules, monitoringRules, renderRuleFile } from "../../core/render/monitoring/rules";
import { exactly, routerTiers } from "../../core/render/monitoring/router-series";
import { type LiteLlmProxy, freePort, startLiteLlmProxy } from "../router-harness/litellm-proxy";
import { type StubUpstream, startAnthropicStub, startOpenAIStub } from "../router-harness/stub-upstreams";
import { VllmEngineStub, startTextEndpoint } from "../router-harness/vllm-engine-stub";
import { planOf } from "./plans";

const PROMETHEUS = "/usr/bin/prometheus";
const NODE_EXPORTER = "/usr/bin/prometheus-node-exporter";
const have = existsSync(PROMETHEUS) && existsSync(NODE_EXPORTER) && existsSync(path.join(__dirname, "..", "..", ".venv", "prometheus-client"));
if (!have && process.env["CI"]) throw new Error("Prometheus, the node exporter or prometheus_client is missing: run bash scripts/install-prometheus.sh");

/** Answers the engine gives in the first phase. */
const ENGINE_OK = 8;
/** Requests spilled to the API tiers while the engine fails. */
const SPILLED = 6;
/** Requests the extension refuses while the engine reports a queue (to the managed tier). */
const QUEUE_SPILLED = 1;
/** Hard-tagged requests to the frontier. */
const HARD = 2;
const SLOTS = 2;
/**
 * Failing requests the error phase may send before an error series has two samples: a series per
 * deployment a failing request can end on (staging: the engine, the managed overflow, the
 * frontier) and one for 429 (every deployment cooling down), each new once, and one more.
 */
const MAX_ERRORS = 5;
/**
 * Scrape and rule interval: 2 s, so a scrape may take 2 s (the timeout is at most the interval) and
 * LiteLLM's metrics process, slowed by a loaded machine, is not marked down between answers.
 */
const INTERVAL_S = 2;
const WORKER_HEALTHCHECK_FLAG = "--timeout_worker_healthcheck";
/** How long a wait for Prometheus may take before it fails the test. */
const WAIT_MS = 30_000;

const children: ChildProcess[] = [];
const closers: (() => Promise<void>)[] = [];
let plan: DeploymentPlan;
let rules: MonitoringRules;
let engine: VllmEngineStub;
let managed: StubUpstream;
let frontier: StubUpstream;
let proxy: LiteLlmProxy;
let promUrl = "";
/** The extension's emission interval for the engine (its planned rate, the shipped settings). */
let paceMs = 0;
let masterKey = "";
let tmp = "";

interface Sample { readonly metric: Record<string, string>; readonly value: number; readonly at: number }

async function query(expr: string): Promise<Sample[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== "success") throw new Error(`query ${expr}: ${body.error ?? res.status}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]), at: r.value[0] }));
}

/** Asks Prometheus until `ok` holds for the answer to `expr`; fails after WAIT_MS with the last answer. */
async function until(expr: string, ok: (r: Sample[]) => boolean, what: string): Promise<Sample[]> {
  const deadline = Date.now() + WAIT_MS;
  let last: Sample[] = [];
  for (;;) {
    last = await query(expr);
    if (ok(last)) return last;
    if (Date.now() > deadline) {
      // What the scrapes did meanwhile: a target too slow for the scrape timeout is down, its series stale.
      const scrapes = (await query("max_over_time(scrape_duration_seconds[1m]) or up == 0")).map((x) => `${x.metric["job"]}/${x.metric["instance"]}: ${x.metric["__name__"] ?? "up"} ${x.value}`);
      throw new Error(`${what}: after ${WAIT_MS} ms Prometheus answers ${JSON.stringify(last)} to ${expr} (slowest scrapes in the last minute: ${scrapes.join("; ")})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until the scraped total of `expr` (a sum) is `n`; returns when Prometheus scraped it. */
async function scraped(expr: string, n: number, what: string): Promise<number> {
  const [s] = await until(`sum(${expr})`, (r) => r[0]?.value === n, what);
  return s!.at;
}

/**
 * Scrape intervals a counted series is left to run flat before its rate is compared with the load.
 * rate() extrapolates the increase it saw towards the window's edges (Prometheus
 * promql/functions.go, extrapolatedRate): by at most half an average sample interval at the start
 * (less when the counter would reach zero sooner) and one interval at the end, so with n samples
 * the extrapolated increase is at most (1 + 1.5 / (n - 1)) times the real one: within 15% after
 * 10 intervals. The lower side is exact: rate() never reports less than the increase it saw.
 */
const SETTLE_INTERVALS = 10;

/** Waits until the rules have been evaluated after `since` (a Prometheus timestamp, seconds). */
async function evaluatedAfter(record: string, since: number): Promise<Sample[]> {
  return until(`timestamp(${record})`, (r) => r.length > 0 && r.every((s) => s.value > since), `${record} evaluated after the load`)
    .then(() => query(record));
}

function start(cmd: string, args: string[]): void {
  // Own process group, so the afterAll kill reaches nothing else; a pipe only for stderr.
  children.push(spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] }));
}

const ask = (tags?: string[]) =>
  proxy.chat({ model: plan.engine.servedModelName, messages: [{ role: "user", content: "hi" }], ...(tags ? { tags } : {}) }, { key: masterKey });

describe.skipIf(!have)("a real Prometheus scraping the real LiteLLM proxy and stand-in exporters", () => {
  beforeAll(async () => {
    plan = planOf("staging");
    const host = plan.hosts[0]!.name;
    engine = await new VllmEngineStub({ model: plan.engine.servedModelName, slots: SLOTS, serviceMs: 150 }).start();
    closers.push(() => engine.close());
    managed = await startOpenAIStub({ name: "managed" });
    frontier = await startAnthropicStub({ name: "frontier" });
    closers.push(() => managed.close(), () => frontier.close());

    // The router container's own arguments after --config/--port (the plan's workers, the metrics
    // port), with the metrics port moved to a free one.
    const metricsPort = await freePort();
    // As shipped: the config with the router extension applied, its package and settings beside it,
    // the container's plain env and its arguments after --config/--port (the plan's workers, the
    // metrics port moved to a free one, the extension's worker health-check timeout).
    const shipped = shippedRouterFiles(plan, { engines: { [host]: engine.apiBase }, managed: managed.apiBase, frontier: [frontier.apiBase] });
    closers.push(async () => shipped.cleanup());
    const command = routerContainer(plan, shipped.rendered).command;
    expect(command.slice(0, 4)).toEqual(["--config", expect.any(String), "--port", expect.any(String)]);
    const args = command.slice(4).map((a, i, all) => (all[i - 1] === "--prometheus_metrics_port" ? String(metricsPort) : a));
    expect(args.slice(0, 4)).toEqual(["--num_workers", String(plan.router.numWorkers), "--prometheus_metrics_port", String(metricsPort)]);
    expect(plan.router.numWorkers).toBeGreaterThanOrEqual(2);
    // uvicorn kills a worker that does not answer its health ping within 5 s; importing LiteLLM on a
    // loaded 2-core machine takes longer. The shipped command raises that limit (the extension's args).
    expect(args).toContain(WORKER_HEALTHCHECK_FLAG);
    const [admitted] = routerExtension(routerExtensionInput(plan)).settings.engines;
    paceMs = 60_000 / admitted!.planned_rpm;
    const config = shipped.rendered.config;
    // LiteLLM's Prometheus callback and the router extension, both.
    expect(config.litellm_settings["callbacks"]).toEqual(expect.arrayContaining(["prometheus"]));
    expect((config.litellm_settings["callbacks"] as string[]).length).toBe(2);
    masterKey = "sk-monitoring-test-1";
    const env: Record<string, string> = { ...shipped.env, [ROUTER_MASTER_KEY_ENV]: masterKey, [ROUTER_ENGINE_KEY_ENV]: "engine-key" };
    for (const s of plan.router.secretEnv) env[s.env] = `key-${s.env}`;
    proxy = await startLiteLlmProxy({ config, env, files: shipped.files, extraArgs: args, startupTimeoutMs: 150_000 });
    closers.push(() => proxy.stop());

    const dcgm = await startTextEndpoint(() => [
      `${DCGM.gpuUtil}{gpu="0",UUID="GPU-0",modelName="NVIDIA GeForce RTX 5090"} 87`,
      `${DCGM.fbUsed}{gpu="0",UUID="GPU-0"} 29000`, `${DCGM.fbFree}{gpu="0",UUID="GPU-0"} 3000`,
      `${DCGM.gpuTemp}{gpu="0",UUID="GPU-0"} 71`, `${DCGM.slowdownTemp}{gpu="0",UUID="GPU-0"} 90`,
      `${DCGM.power}{gpu="0",UUID="GPU-0"} 480`, `${DCGM.thermalViolation}{gpu="0",UUID="GPU-0"} 0`,
      `${DCGM.lastXid}{gpu="0",UUID="GPU-0"} 0`, `${DCGM.xidErrors}{gpu="0",UUID="GPU-0",xid="13"} 0`, "",
    ].join("\n"));
    closers.push(dcgm.close);
    const nodePort = await freePort();
    start(NODE_EXPORTER, [`--web.listen-address=127.0.0.1:${nodePort}`, "--collector.disable-defaults", "--collector.filesystem", "--collector.meminfo", "--collector.cpu"]);

    // The renderer's targets, each address swapped for its loopback stand-in; labels as rendered.
    const rendered = dockerScrapeTargets(plan);
    const swap = (sets: ScrapeTargets["engines"], addresses: string[]) => sets.map((s) => (s.kind === "static" ? { ...s, addresses } : s));
    expect(rendered.engines[0]).toMatchObject({ kind: "static", addresses: [`${host}-engine:${plan.engine.port}`], labels: { host } });
    const targets: ScrapeTargets = {
      engines: swap(rendered.engines, [engine.address]),
      gpus: swap(rendered.gpus, [dcgm.address]),
      nodes: swap(rendered.nodes, [`127.0.0.1:${nodePort}`]),
      router: swap(rendered.router, [`127.0.0.1:${metricsPort}`]),
      edge: null,
    };
    const mp = { ...planMonitoring(plan), scrapeIntervalSeconds: INTERVAL_S };
    rules = monitoringRules(plan, planMonitoring(plan));
    tmp = mkdtempSync(path.join(os.tmpdir(), "hi-prometheus-"));
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    // Prometheus scrapes itself on its own port (rendered: localhost:9090 inside its container).
    const jobs = scrapeJobs(targets).map((j) => (j.job === JOBS.prometheus ? { ...j, targets: [{ kind: "static" as const, addresses: [`127.0.0.1:${promPort}`], labels: {} }] } : j));
    writeFileSync(path.join(tmp, "rules.yml"), renderRuleFile(monitoringRules(plan, mp), INTERVAL_S));
    writeFileSync(path.join(tmp, "prometheus.yml"), renderPrometheusConfig({ stack: plan.spec.stack, monitoring: mp, jobs, alertmanager: null, ruleFile: path.join(tmp, "rules.yml") }));
    start(PROMETHEUS, [`--config.file=${path.join(tmp, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(tmp, "data")}`, `--web.listen-address=127.0.0.1:${promPort}`]);
    const deadline = Date.now() + WAIT_MS;
    while (!(await fetch(`${promUrl}/-/ready`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error(`Prometheus did not get ready within ${WAIT_MS} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // Every target scraped and up: Prometheus itself, the engine, DCGM, the node, LiteLLM's metrics port.
    await until("up", (r) => r.length === 5 && r.every((s) => s.value === 1), "every target up");
    // The extension's series exist before their first event (declared at 0 by every worker), from the router's metrics port.
    const declared = await until(`${ROUTER_EXTENSION.engineRefusals}{job="${JOBS.router}",engine="${host}"}`, (r) => r.length === 6, "the extension's refusal series");
    expect(declared.map((x) => [x.metric["reason"], x.metric["instance"], x.value]).sort()).toEqual(
      ["down", "failed", "kv", "rate", "running", "waiting"].map((reason) => [reason, `127.0.0.1:${metricsPort}`, 0]),
    );
  }, 240_000);

  afterAll(async () => {
    for (const c of children) c.kill("SIGTERM");
    for (const close of closers.reverse()) await close().catch(() => undefined);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("answers from the engine: the self-hosted tier's rate, and the engine's tokens and latency", async () => {
    const engineId = deploymentIds.engine(plan.engine.servedModelName, plan.hosts[0]!.name);
    const success = `${LITELLM.deploymentSuccess}{job="${JOBS.router}",model_id="${engineId}"}`;
    expect((await ask()).status).toBe(200);
    await scraped(success, 1, "the first engine answer");
    // At the rate the extension admits: faster, it would send the rest to the managed tier (`rate`).
    for (let i = 1; i < ENGINE_OK; i++) {
      const next = Date.now() + paceMs;
      expect((await ask()).status).toBe(200);
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
    const at = await scraped(success, ENGINE_OK, "every engine answer");
    const [tier] = (await evaluatedAfter(RECORDED.routerTierRate, at + SETTLE_INTERVALS * INTERVAL_S)).filter((s) => s.metric["tier"] === "self_hosted");
    // rate() over 5 minutes, times 300 s: every answer after the first (the series' first sample),
    // and less than one answer more (SETTLE_INTERVALS).
    expect(tier!.value * 300).toBeGreaterThanOrEqual(ENGINE_OK - 1 - 1e-9);
    expect(tier!.value * 300).toBeLessThan(ENGINE_OK);
    const host = plan.hosts[0]!.name;
    const [tokens] = await evaluatedAfter(`${RECORDED.engineOutputTokensRate}{host="${host}"}`, at);
    expect(tokens!.value).toBeGreaterThan(0);
    const [ttft] = await evaluatedAfter(`${RECORDED.engineTtftP50}{host="${host}"}`, at);
    // The stub's first token comes a quarter of its 150 ms service time after the start: vLLM's 0.04-0.06 s bucket.
    expect(ttft!.value).toBeGreaterThan(0.01);
    expect(ttft!.value).toBeLessThanOrEqual(0.1);
  }, 90_000);

  it("a burst queues in the engine: the recorded queue and the saturation alert's expression show it, and the extension refuses the engine", async () => {
    const e = planMonitoring(plan).engines[0]!;
    const burstSize = SLOTS + e.waitingMax + 2;
    // Long enough service that the queue outlives several scrapes and rule evaluations.
    engine.serviceMs = 4000;
    // Straight to the engine (another router, say): through this one, the extension would admit
    // only its planned burst and send the rest to the managed tier.
    const direct = () => fetch(`${engine.apiBase}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: plan.engine.servedModelName, messages: [{ role: "user", content: "hi" }] }) }).then((r) => ({ status: r.status }));
    const burst = Array.from({ length: burstSize }, () => direct());
    try {
      const host = `{host="${e.name}"}`;
      const [waiting] = await until(`${RECORDED.engineWaiting}${host}`, (r) => (r[0]?.value ?? 0) > e.waitingMax, "the queue above the saturation threshold");
      expect(waiting!.value).toBeLessThanOrEqual(burstSize - SLOTS);
      const [running] = await until(`${RECORDED.engineRunning}${host}`, (r) => r[0]?.value === SLOTS, "every slot busy");
      expect(running!.value).toBe(SLOTS);
      const saturated = rules.alerts.find((a) => a.alert === "EngineSaturated" && a.labels["host"] === e.name)!;
      const firing = await until(saturated.expr, (r) => r.length === 1, "the saturation alert's expression");
      expect(firing[0]!.metric["host"]).toBe(e.name);
      // The extension's poller reads the same queue (every second, from the engine's /metrics):
      // a request now is refused for it and answered by the managed tier, and the refusal is
      // scraped from the router's metrics port.
      const spilled = await ask();
      expect(spilled.status).toBe(200);
      expect(spilled.headers.get("x-hybrid-tier")).toBe("managed");
      const refusals = await until(`${ROUTER_EXTENSION.engineRefusals}{job="${JOBS.router}",engine="${e.name}"} > 0`, (r) => r.length > 0, "the extension's refusal");
      expect(refusals.map((x) => [x.metric["reason"], x.value])).toEqual([["waiting", QUEUE_SPILLED]]);
    } finally {
      const answers = await Promise.all(burst);
      engine.serviceMs = 150;
      expect(answers.map((a) => a.status)).toEqual(Array.from({ length: burstSize }, () => 200));
    }
    // The managed tier answered the refused request and nothing else.
    expect(managed.requestsTo("/chat/completions")).toHaveLength(QUEUE_SPILLED);
  }, 90_000);

  it("spill-over and the frontier: the tiers, the spill-over share, the spend and the spill alert", async () => {
    const t = routerTiers(plan);
    const r = `job="${JOBS.router}"`;
    const frontierAnswers = `${LITELLM.deploymentSuccess}{${r},model_id=~"${exactly(t.frontier)}"}`;
    expect((await ask(["hard"])).status).toBe(200);
    await scraped(frontierAnswers, 1, "the first hard-tagged answer");
    for (let i = 1; i < HARD; i++) expect((await ask(["hard"])).status).toBe(200);
    await scraped(frontierAnswers, HARD, "every hard-tagged answer");

    // With the engine failing, LiteLLM's retry or fallback answers from the managed overflow or
    // the frontier group: either way spilled (the spill rule counts both).
    engine.failing = true;
    const spilled = `${LITELLM.deploymentSuccess}{${r},model_id=~"${exactly(t.overflow)}"} or ${LITELLM.fallbacksSucceeded}{${r},requested_model="${plan.engine.servedModelName}",fallback_model=~"${exactly(t.fallbackGroups)}"}`;
    try {
      expect((await ask()).status).toBe(200);
      await scraped(spilled, QUEUE_SPILLED + 1, "the first spilled answer");
      for (let i = 1; i < SPILLED - 1; i++) expect((await ask()).status).toBe(200);
      // The last with the managed tier failing too: the extension keeps the managed overflow in
      // the served group (no LiteLLM fallback while it answers), so this is the one a fallback
      // group (the frontier) answers, for the fallback series.
      await managed.setMode("error5xx");
      try {
        expect((await ask()).status).toBe(200);
      } finally {
        await managed.setMode("ok");
      }
    } finally {
      engine.failing = false;
    }
    const at = await scraped(spilled, QUEUE_SPILLED + SPILLED, "every spilled answer");

    const [share] = await evaluatedAfter(RECORDED.spillShare, at + SETTLE_INTERVALS * INTERVAL_S);
    // Through the router: ENGINE_OK answered by the engine, QUEUE_SPILLED + SPILLED elsewhere.
    // rate() sees each series from its first sample on (the engine's count is short of its first
    // answer; the spilled count of at most the queue's spill, which created the managed series,
    // and one more if a spilled request fell back to a new series) and extrapolates by less than
    // 15% (SETTLE_INTERVALS): the share lies between these bounds.
    expect(share!.value).toBeGreaterThanOrEqual((SPILLED - 1) / (ENGINE_OK + SPILLED));
    expect(share!.value).toBeLessThan((1.15 * SPILLED) / (ENGINE_OK - 1 + 1.15 * SPILLED));
    const tiers = Object.fromEntries((await query(RECORDED.routerTierRate)).map((s) => [s.metric["tier"], s.value]));
    expect(Object.keys(tiers).sort()).toEqual(["frontier", "managed", "self_hosted"]);
    expect(tiers["frontier"]).toBeGreaterThan(0);
    // Staging expects no spill (no traffic.tokens_per_month): the alert's expression is above its 5% line.
    const alert = rules.alerts.find((a) => a.alert === "SpillAbovePlan")!;
    expect(await query(alert.expr)).toHaveLength(1);
    const [spend] = await evaluatedAfter(RECORDED.frontierSpendPerDay, at);
    expect(spend!.metric["provider"]).toBe("anthropic");
    expect(spend!.value).toBeGreaterThan(0);

    // The router extension saw the engine fail and sent the requests elsewhere: its refusals
    // (an engine that already failed the request, then one out of rotation), scraped from the
    // router's metrics port, summed over both workers.
    const host = plan.hosts[0]!.name;
    const refused = await until(`${ROUTER_EXTENSION.engineRefusals}{job="${JOBS.router}",engine="${host}",reason!="waiting"} > 0`, (x) => x.length > 0, "the extension's engine refusals");
    expect(refused.every((x) => ["failed", "down"].includes(x.metric["reason"]!)), JSON.stringify(refused)).toBe(true);
    // Today's frontier spend as the extension's budget guard counts it: what LiteLLM costed for the frontier.
    const litellmSpend = `sum(${LITELLM.spend}{${r},model_id=~"${exactly(t.frontier)}"})`;
    const [spent] = await query(litellmSpend);
    expect(spent!.value).toBeGreaterThan(0);
    const [today] = await until(`${ROUTER_EXTENSION.frontierSpendToday}{${r},provider="anthropic"}`, (x) => Math.abs((x[0]?.value ?? 0) - spent!.value) < 1e-9, "the extension's spend gauge");
    expect(today!.metric["instance"]).toBe(refused[0]!.metric["instance"]);
  }, 120_000);

  it("requests every tier fails: the router's error and failed-fallback rates show them", async () => {
    const failingRequest = async (): Promise<number> => {
      engine.failing = true;
      await managed.setMode("error5xx");
      await frontier.setMode("error5xx");
      try {
        return (await ask()).status;
      } finally {
        engine.failing = false;
        await managed.setMode("ok");
        await frontier.setMode("ok");
      }
    };
    // An error series' first sample is its first error, invisible to rate(); which series an
    // error lands in depends on its status and the deployment LiteLLM tried last (labels), so
    // errors are sent, each seen scraped, until one series has grown.
    const errors = `${LITELLM.proxyRequests}{job="${JOBS.router}",status_code=~"${ROUTER_ERROR_STATUS}"}`;
    let rate = 0;
    let sent = 0;
    while (rate === 0 && sent < MAX_ERRORS) {
      // 5xx, or 429 once every deployment is cooling down from the earlier failures.
      expect(await failingRequest()).toBeGreaterThanOrEqual(429);
      sent += 1;
      const at = await scraped(errors, sent, `error ${sent}`);
      rate = (await evaluatedAfter(RECORDED.errorRate, at))[0]?.value ?? 0;
    }
    const series = (await query(errors)).map((x) => x.metric);
    expect(rate, `error series after ${sent} errors: ${JSON.stringify(series)}`).toBeGreaterThan(0);
    const failed = (await query(RECORDED.fallbackRate)).find((x) => x.metric["outcome"] === "failed");
    expect(failed).toBeDefined();
  }, 180_000);

  it("every metric every dashboard panel reads is in the scrape, and so is every metric the recording rules it reads use", async () => {
    const names = new Set<string>();
    const keywords = new Set(["by", "without", "or", "and", "unless", "on", "ignoring", "group_left", "group_right", "bool", "offset", "le", "vector"]);
    const metricNames = (expr: string): string[] => {
      const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, "").replace(/\{[^}]*\}/g, "").replace(/\[[^\]]*\]/g, "").replace(/\b(by|without)\s*\([^)]*\)/g, "");
      // Names, not the exponent of a number literal (`1e-9`) nor a function call.
      return [...bare.matchAll(/(?<![0-9.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)].filter((m) => m[2] !== "(" && !keywords.has(m[1]!)).map((m) => m[1]!);
    };
    for (const [file, json] of Object.entries(renderDashboards(plan))) {
      for (const expr of dashboardQueries(json)) {
        for (const name of metricNames(expr)) {
          names.add(`${file}: ${name}`);
          // A recorded series: the raw metrics its rule reads must be scraped too.
          for (const rule of rules.recording.filter((rr) => rr.record === name)) {
            for (const raw of metricNames(rule.expr)) names.add(`${file}: ${name} <- ${raw}`);
          }
        }
      }
    }
    expect(names.size).toBeGreaterThan(30);
    const missing: string[] = [];
    for (const entry of names) {
      const name = entry.split(/: | <- /).at(-1)!;
      if ((await query(`count({__name__="${name}"})`)).length === 0) missing.push(entry);
    }
    expect(missing).toEqual([]);
  }, 60_000);
});
