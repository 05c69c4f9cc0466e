/**
 * A real Prometheus (Debian's 2.42) on 127.0.0.1 with the staging stack's rendered scrape jobs and
 * rules, scraping: the real LiteLLM proxy (the pinned version, the plan's config with the
 * Prometheus callback and `--prometheus_metrics_port`, the plan's two workers) in front of a
 * stand-in vLLM engine serving v0.33.0's metric names and stub managed and frontier APIs; a real
 * node exporter (Debian's 1.5); and stand-ins for the DCGM exporter and the router extension's
 * counters (neither can run here: no GPU; the extension is not merged yet).
 *
 * Under a known load (requests the engine answers, requests spilled while it fails, hard-tagged
 * requests to the frontier, a burst that queues in the engine) the recording rules return the
 * figures the dashboards show, the alert expressions fire on the saturated engine and the spill,
 * and every metric named in every dashboard query is in the scrape.
 *
 * One LiteLLM worker by default: on this 2-core machine under load uvicorn kills workers that miss
 * its 5 s start-up ping (FACTS.md); HI_MONITORING_WORKERS=2 runs the plan's two, whose samples the
 * metrics port aggregates through PROMETHEUS_MULTIPROC_DIR (that path is taken with one worker too).
 *
 * The scrape and rule interval is 1 s here, not the shipped 15 s, so the test takes seconds; the
 * shipped interval is what test/monitoring/promtool.test.ts runs the rules at.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROUTER_ENGINE_KEY_ENV, ROUTER_MASTER_KEY_ENV } from "../../core/plan/env";
import { monitoringPlan } from "../../core/plan/monitoring";
import type { DeploymentPlan } from "../../core/plan/types";
import { litellmConfig } from "../../core/render/litellm-config";
import { dashboardQueries, renderDashboards } from "../../core/render/monitoring/dashboards";
import { dockerScrapeTargets } from "../../core/render/monitoring/docker";
import { DCGM, RECORDED, ROUTER_EXTENSION } from "../../core/render/monitoring/metrics";
import { type ScrapeTargets, renderPrometheusConfig, scrapeJobs } from "../../core/render/monitoring/prometheus";
import { routerMetricsArgs } from "../../core/render/monitoring/router-metrics";
import { monitoringRules, renderRuleFile } from "../../core/render/monitoring/rules";
import { type LiteLlmProxy, freePort, startLiteLlmProxy } from "../router-harness/litellm-proxy";
import { type StubUpstream, startAnthropicStub, startOpenAIStub } from "../router-harness/stub-upstreams";
import { VllmEngineStub, startTextEndpoint } from "../router-harness/vllm-engine-stub";
import { planOf } from "./plans";

const PROMETHEUS = "/usr/bin/prometheus";
const NODE_EXPORTER = "/usr/bin/prometheus-node-exporter";
const have = existsSync(PROMETHEUS) && existsSync(NODE_EXPORTER) && existsSync(path.join(__dirname, "..", "..", ".venv", "prometheus-client"));
if (!have && process.env["CI"]) throw new Error("Prometheus, the node exporter or prometheus_client is missing: run bash scripts/install-prometheus.sh");

const children: ChildProcess[] = [];
const closers: (() => Promise<void>)[] = [];
let plan: DeploymentPlan;
let engine: VllmEngineStub;
let managed: StubUpstream;
let frontier: StubUpstream;
let proxy: LiteLlmProxy;
let promUrl = "";
const ENGINE_OK = 12;
const SPILLED = 6;

async function waitFor(url: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch { /* not yet */ }
    if (Date.now() > until) throw new Error(`${url} did not answer within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function start(cmd: string, args: string[]): void {
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"], detached: false });
  children.push(child);
}

async function query(expr: string): Promise<{ metric: Record<string, string>; value: number }[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== "success") throw new Error(`query ${expr}: ${body.error ?? res.status}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!have)("a real Prometheus scraping the real LiteLLM proxy and stand-in exporters", () => {
  beforeAll(async () => {
    plan = planOf("staging");
    const host = plan.hosts[0]!.name;
    engine = await new VllmEngineStub({ model: plan.engine.servedModelName, slots: 2, serviceMs: 150 }).start();
    closers.push(() => engine.close());
    managed = await startOpenAIStub({ name: "managed" });
    frontier = await startAnthropicStub({ name: "frontier" });
    closers.push(() => managed.close(), () => frontier.close());

    const metricsPort = await freePort();
    const config = litellmConfig(plan, { engines: { [host]: engine.apiBase }, managed: managed.apiBase, frontier: [frontier.apiBase] });
    expect(config.litellm_settings["callbacks"]).toEqual(["prometheus"]);
    const args = routerMetricsArgs(plan);
    expect(args).toEqual(["--prometheus_metrics_port", "4001"]);
    const env: Record<string, string> = { [ROUTER_MASTER_KEY_ENV]: "sk-monitoring-test-1", [ROUTER_ENGINE_KEY_ENV]: "engine-key" };
    for (const s of plan.router.secretEnv) env[s.env] = `key-${s.env}`;
    proxy = await startLiteLlmProxy({ config, env, extraArgs: ["--num_workers", process.env["HI_MONITORING_WORKERS"] ?? "1", args[0]!, String(metricsPort)], startupTimeoutMs: 150_000 });
    closers.push(() => proxy.stop());

    const dcgm = await startTextEndpoint(() => [
      `${DCGM.gpuUtil}{gpu="0",UUID="GPU-0",modelName="NVIDIA GeForce RTX 5090"} 87`,
      `${DCGM.fbUsed}{gpu="0",UUID="GPU-0"} 29000`, `${DCGM.fbFree}{gpu="0",UUID="GPU-0"} 3000`,
      `${DCGM.gpuTemp}{gpu="0",UUID="GPU-0"} 71`, `${DCGM.slowdownTemp}{gpu="0",UUID="GPU-0"} 90`,
      `${DCGM.power}{gpu="0",UUID="GPU-0"} 480`, `${DCGM.thermalViolation}{gpu="0",UUID="GPU-0"} 0`,
      `${DCGM.lastXid}{gpu="0",UUID="GPU-0"} 0`, `${DCGM.xidErrors}{gpu="0",UUID="GPU-0",xid="13"} 0`, "",
    ].join("\n"));
    // The router extension's counters, as it will export them (names from metrics.ts): a stand-in until it merges.
    const extension = await startTextEndpoint(() => `${ROUTER_EXTENSION.escalations}{reason="length"} 3\n${ROUTER_EXTENSION.spill}{engine="${host}"} ${SPILLED}\n`);
    closers.push(dcgm.close, extension.close);
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
      router: swap(rendered.router, [`127.0.0.1:${metricsPort}`, extension.address]),
      edge: null,
    };
    const mp = { ...monitoringPlan(plan), scrapeIntervalSeconds: 1 };
    const dir = mkdtempSync(path.join(os.tmpdir(), "hi-prometheus-"));
    writeFileSync(path.join(dir, "rules.yml"), renderRuleFile(monitoringRules(plan, mp), 1));
    writeFileSync(path.join(dir, "prometheus.yml"), renderPrometheusConfig({ stack: plan.spec.stack, monitoring: mp, jobs: scrapeJobs(targets), alertmanager: null, ruleFile: path.join(dir, "rules.yml") }));
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    start(PROMETHEUS, [`--config.file=${path.join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(dir, "data")}`, `--web.listen-address=127.0.0.1:${promPort}`]);
    await waitFor(`${promUrl}/-/ready`, 30_000);
    await waitFor(`http://127.0.0.1:${nodePort}/metrics`, 10_000);

    const ask = (tags?: string[]) => proxy.chat({ model: plan.engine.servedModelName, messages: [{ role: "user", content: "hi" }], ...(tags ? { tags } : {}) }, { key: env[ROUTER_MASTER_KEY_ENV]! });
    // Known load: answers from the engine; then, with the engine failing, spill-over to the managed
    // tier (one first, a scrape, then the rest: rate() cannot see a counter's first sample);
    // two hard-tagged requests to the frontier; a burst that queues in the engine (2 slots).
    for (let i = 0; i < ENGINE_OK; i++) expect((await ask()).status).toBe(200);
    engine.failing = true;
    expect((await ask()).status).toBe(200);
    await sleep(2500);
    for (let i = 1; i < SPILLED; i++) expect((await ask()).status).toBe(200);
    engine.failing = false;
    for (let i = 0; i < 2; i++) expect((await ask(["hard"])).status).toBe(200);
    await sleep(3000);
  }, 240_000);

  afterAll(async () => {
    for (const c of children) c.kill("SIGTERM");
    for (const close of closers.reverse()) await close().catch(() => undefined);
  });

  it("the router's tiers and spill-over share are what the load was", async () => {
    const tiers = Object.fromEntries((await query(RECORDED.routerTierRate)).map((r) => [r.metric["tier"], r.value]));
    expect(tiers["self_hosted"]).toBeGreaterThan(0);
    expect(tiers["managed"]).toBeGreaterThan(0);
    expect(tiers["frontier"]).toBeGreaterThan(0);
    const [share] = await query(RECORDED.spillShare);
    // 6 of 18 answers came from the managed tier; rate() misses each series' first sample (one
    // engine answer and one spilled answer), so the share lies within a request either way.
    expect(share!.value).toBeGreaterThan((SPILLED - 2) / (ENGINE_OK + SPILLED));
    expect(share!.value).toBeLessThan((SPILLED + 1) / (ENGINE_OK + SPILLED - 1));
    // The alert's expression fires: staging expects no spill (no tokens_per_month), alerts above 5%.
    const alert = monitoringRules(plan, monitoringPlan(plan)).alerts.find((a) => a.alert === "SpillAbovePlan")!;
    expect(await query(alert.expr)).toHaveLength(1);
    const [spend] = await query(RECORDED.frontierSpendPerDay);
    expect(spend!.metric["provider"]).toBe("anthropic");
    expect(spend!.value).toBeGreaterThan(0);
  });

  it("a burst queues in the engine: the recorded queue and the saturation alert's expression show it", async () => {
    const e = monitoringPlan(plan).engines[0]!;
    const burst = Array.from({ length: 8 }, () => proxy.chat({ model: plan.engine.servedModelName, messages: [{ role: "user", content: "burst" }] }, { key: "sk-monitoring-test-1" }));
    await sleep(1500);
    const waiting = await query(`max_over_time(${RECORDED.engineWaiting}[5s])`);
    const running = await query(`max_over_time(${RECORDED.engineRunning}[5s])`);
    const saturated = monitoringRules(plan, monitoringPlan(plan)).alerts.find((a) => a.alert === "EngineSaturated" && a.labels["host"] === e.name)!;
    const firing = await query(`max_over_time((${saturated.expr})[5s:1s])`);
    await Promise.all(burst);
    expect(running[0]!.value).toBe(2);
    expect(waiting[0]!.value).toBeGreaterThan(e.waitingMax);
    expect(firing).toHaveLength(1);
    expect(firing[0]!.metric["host"]).toBe(e.name);
  }, 60_000);

  it("every metric every dashboard panel reads is in the scrape", async () => {
    await sleep(2000);
    const names = new Set<string>();
    const keywords = new Set(["by", "without", "or", "and", "unless", "on", "ignoring", "group_left", "group_right", "bool", "offset", "le"]);
    for (const [file, json] of Object.entries(renderDashboards(plan))) {
      for (const expr of dashboardQueries(json)) {
        const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, "").replace(/\{[^}]*\}/g, "").replace(/\[[^\]]*\]/g, "").replace(/\b(by|without)\s*\([^)]*\)/g, "");
        for (const m of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)) {
          if (m[2] === "(" || keywords.has(m[1]!)) continue;
          names.add(`${file}: ${m[1]}`);
        }
      }
    }
    expect(names.size).toBeGreaterThan(20);
    const missing: string[] = [];
    for (const entry of names) {
      const name = entry.split(": ")[1]!;
      if ((await query(`count({__name__="${name}"})`)).length === 0) missing.push(entry);
    }
    expect(missing).toEqual([]);
  }, 60_000);
});
