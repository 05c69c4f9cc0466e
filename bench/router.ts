/**
 * `npx tsx bench/router.ts`: what the LiteLLM router costs, with OUR rendered config for
 * the shipped prod stack, the real pinned proxy (one worker, LiteLLM's default) and stub
 * upstreams, everything on 127.0.0.1. Prints tables; asserts nothing.
 *
 * 1. Overhead: the same requests (same body, same concurrency) sent straight to an engine
 *    stub and through the router to the engine stubs, in alternating rounds within one
 *    run; p50/p99 latency, requests/s, and the difference. Once at BENCH_CONCURRENCY (the
 *    router's throughput, queueing included) and once one at a time (the latency the
 *    router adds to a request when it is not busy).
 * 2. Failover: both engine stubs down (5xx, refusing connections, hanging past the
 *    timeout), every request answered by the managed tier; latency before the cooldown
 *    takes the engines out of rotation (a plan with allowed_fails 100 and few enough
 *    requests that none cools down: every request pays for the dead engines, as the first
 *    requests of an outage do) and after it (the shipped allowed_fails 3: measured once
 *    the engines have stopped receiving calls).
 *
 * 3. Hung engines with the router extension and the SHIPPED prod stack (4 workers,
 *    request_timeout_s 120, num_retries 1, the extension's 12 s first-token limit): the first
 *    request after one engine hangs (retried on the other engine), after both hang (managed
 *    tier), the same for a stream, and later requests against the managed tier called
 *    directly through the router. The managed stub answers after 300 ms, a provider's latency.
 * 4. Overhead ratio: a minimal one-deployment LiteLLM config, our rendered config, and our
 *    config with the extension, each with one worker, in alternating rounds of one run.
 * 5. The extension's shared state: one admission (reserve, confirm, release in SQLite) in 1
 *    and in 4 processes at once.
 *
 * Plan changes for sections 1-2, all through the stack config: request_timeout_s 2 (the
 * shipped 120 s would make a hanging engine cost minutes per request before cooldown: see
 * the table's note; section 3 runs the shipped value with the extension), num_workers 1
 * (the proxy's worker count here), tiny traffic averages so the planned rpm (LiteLLM's
 * per-minute request cap) is far above the bench's request count, and cooldown_time_s 10
 * so each failure mode starts from a clean rotation soon enough.
 *
 * Env: BENCH_REQUESTS (default 1000), BENCH_SERIAL_REQUESTS (300), BENCH_CONCURRENCY (8),
 * BENCH_FAILOVER_REQUESTS (200), BENCH_SECTIONS (comma list of overhead, failover, hung,
 * ratio, state; default all).
 */
import { execFileSync } from "node:child_process";
import os from "node:os";
import * as path from "node:path";
import type { RawStackConfig } from "../core/config/source";
import { deploymentIds, managedGroupName } from "../core/render/litellm-config";
import { type LiteLlmProxy, liteLlmExecutable, startLiteLlmProxy } from "../test/router-harness/litellm-proxy";
import { type StubMode, type StubUpstream, startOpenAIStub } from "../test/router-harness/stub-upstreams";
import { type ExtRouter, startExtRouter, warmUp } from "../test/router-ext/ext-fixture";
import { MESSAGES, type RouterUnderTest, answeredBy, calls, planOf, shippedStack, startRouter } from "../test/router/router-fixture";

const REQUESTS = Number(process.env["BENCH_REQUESTS"] ?? 1000);
const SERIAL_REQUESTS = Number(process.env["BENCH_SERIAL_REQUESTS"] ?? 300);
const CONCURRENCY = Number(process.env["BENCH_CONCURRENCY"] ?? 8);
const FAILOVER_REQUESTS = Number(process.env["BENCH_FAILOVER_REQUESTS"] ?? 200);
const SECTIONS = new Set((process.env["BENCH_SECTIONS"] ?? "overhead,failover,hung,ratio,state").split(",").map((x) => x.trim()));
const TIMEOUT_S = 2;
/** Requests per failure mode before cooldown: (1 + num_retries) x this stays under 100 fails per engine. */
const BEFORE_COOLDOWN_REQUESTS = 48;
const COOLDOWN_S = 10;

function benchStack(router: Record<string, unknown>): RawStackConfig {
  const raw = shippedStack("prod", { request_timeout_s: TIMEOUT_S, num_workers: 1, cooldown_time_s: COOLDOWN_S, ...router });
  return { ...raw, values: { ...raw.values, traffic: { avg_input_tokens: 1, avg_output_tokens: 1 } } };
}

interface Sample {
  readonly ms: number;
  readonly ok: boolean;
  readonly answeredBy: string | null;
  readonly overheadMs: number | null;
}

interface RunResult {
  readonly samples: Sample[];
  readonly wallMs: number;
}

/** Sends `n` requests with `concurrency` in flight, timing each one. */
async function load(n: number, concurrency: number, send: () => Promise<Omit<Sample, "ms">>): Promise<RunResult> {
  const samples: Sample[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      const t = performance.now();
      const result = await send();
      samples.push({ ...result, ms: performance.now() - t });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return { samples, wallMs: performance.now() - started };
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const fmt = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : "-");

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const body = (model: string): string => JSON.stringify({ model, messages: MESSAGES });

async function direct(stub: StubUpstream, model: string, key: string): Promise<Omit<Sample, "ms">> {
  const res = await fetch(`${stub.apiBase}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: body(model),
  });
  await res.arrayBuffer();
  return { ok: res.status === 200, answeredBy: stub.name, overheadMs: null };
}

async function proxied(r: RouterUnderTest, model: string, timeoutMs = 60_000): Promise<Omit<Sample, "ms">> {
  const res = await fetch(`${r.proxy.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${r.masterKey}` },
    body: body(model),
    signal: AbortSignal.timeout(timeoutMs),
  });
  await res.arrayBuffer();
  const overhead = res.headers.get("x-litellm-overhead-duration-ms");
  return { ok: res.status === 200, answeredBy: res.headers.get("x-litellm-model-id"), overheadMs: overhead === null ? null : Number(overhead) };
}

interface OverheadRow {
  readonly concurrency: number;
  readonly requests: number;
  readonly direct: readonly [number, number, number];
  readonly router: readonly [number, number, number];
  readonly reported: readonly [number, number];
}

/** The same requests straight to an engine stub and through the router, in alternating rounds. */
async function overhead(r: RouterUnderTest, requests: number, concurrency: number): Promise<OverheadRow> {
  const served = r.plan.engine.servedModelName;
  const engine = r.engines[r.plan.hosts[0]!.name]!;
  const engineKey = r.credentials["HOSTED_VLLM_API_KEY"]!;
  const rounds = 4;
  const perRound = Math.ceil(requests / rounds);
  const directRuns: RunResult[] = [];
  const routerRuns: RunResult[] = [];
  for (let i = 0; i < rounds; i++) {
    directRuns.push(await load(perRound, concurrency, () => direct(engine, served, engineKey)));
    routerRuns.push(await load(perRound, concurrency, () => proxied(r, served)));
  }
  const merge = (runs: RunResult[]): RunResult => ({ samples: runs.flatMap((x) => x.samples), wallMs: runs.reduce((s, x) => s + x.wallMs, 0) });
  const d = merge(directRuns);
  const p = merge(routerRuns);
  const failures = [...d.samples, ...p.samples].filter((s) => !s.ok).length;
  const notEngine = p.samples.filter((s) => !r.plan.hosts.some((h) => s.answeredBy === deploymentIds.engine(served, h.name))).length;
  if (failures > 0 || notEngine > 0) throw new Error(`overhead run: ${failures} failed requests, ${notEngine} not answered by an engine`);
  const stats = (x: RunResult): [number, number, number] => [percentile(x.samples.map((s) => s.ms), 50), percentile(x.samples.map((s) => s.ms), 99), (x.samples.length / x.wallMs) * 1000];
  const reported = p.samples.map((s) => s.overheadMs).filter((x): x is number => x !== null && Number.isFinite(x));
  return { concurrency, requests: p.samples.length, direct: stats(d), router: stats(p), reported: [percentile(reported, 50), percentile(reported, 99)] };
}

function overheadTable(rows: readonly OverheadRow[]): string {
  return table(
    ["concurrency", "requests", "path", "p50 ms", "p99 ms", "req/s"],
    rows.flatMap((o) => [
      [String(o.concurrency), String(o.requests), "engine stub, direct", fmt(o.direct[0], 2), fmt(o.direct[1], 2), fmt(o.direct[2], 0)],
      ["", "", "through the router", fmt(o.router[0], 2), fmt(o.router[1], 2), fmt(o.router[2], 0)],
      ["", "", "added by the router", fmt(o.router[0] - o.direct[0], 2), fmt(o.router[1] - o.direct[1], 2), ""],
      ["", "", "x-litellm-overhead-duration-ms", fmt(o.reported[0], 2), fmt(o.reported[1], 2), ""],
    ]),
  );
}

const engineCalls = (r: RouterUnderTest): number => Object.values(r.engines).reduce((n, e) => n + calls(e).length, 0);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function setEngines(r: RouterUnderTest, mode: StubMode): Promise<void> {
  for (const e of Object.values(r.engines)) await e.setMode(mode);
}

interface FailoverRow {
  readonly mode: StubMode;
  readonly phase: string;
  readonly run: RunResult;
  readonly engineCallsPerRequest: number;
  readonly warmup?: number;
}

/** Requests for one failure mode, measured as they come: every request pays for the engines. */
async function beforeCooldown(r: RouterUnderTest, mode: StubMode, n: number): Promise<FailoverRow> {
  await r.reset();
  await setEngines(r, mode);
  const run = await load(n, CONCURRENCY, () => proxied(r, r.plan.engine.servedModelName));
  const row = { mode, phase: "before cooldown", run, engineCallsPerRequest: engineCalls(r) / n };
  await setEngines(r, "ok");
  return row;
}

/** Sends batches until a whole batch made no engine call (both engines cooling down), then measures. */
async function afterCooldown(r: RouterUnderTest, mode: StubMode, n: number): Promise<FailoverRow> {
  await r.reset();
  await sleep(COOLDOWN_S * 1000 + 500); // whatever cooled down earlier is back in rotation
  await setEngines(r, mode);
  let warmup = 0;
  for (let batch = 0; batch < 20; batch++) {
    const before = engineCalls(r);
    await load(CONCURRENCY, CONCURRENCY, () => proxied(r, r.plan.engine.servedModelName));
    warmup += CONCURRENCY;
    if (mode !== "refuse" && engineCalls(r) === before) break;
    if (mode === "refuse" && batch >= 3) break; // a refused connection never reaches the stub: no signal to wait for
  }
  const before = engineCalls(r);
  const run = await load(n, CONCURRENCY, () => proxied(r, r.plan.engine.servedModelName));
  const row = { mode, phase: "after cooldown", run, engineCallsPerRequest: (engineCalls(r) - before) / n, warmup };
  await setEngines(r, "ok");
  return row;
}

function failoverTable(rows: readonly FailoverRow[]): string {
  return table(
    ["engines", "phase", "requests", "p50 ms", "p99 ms", "req/s", "engine calls/req", "answered by"],
    rows.map(({ mode, phase, run, engineCallsPerRequest, warmup }) => {
      const ms = run.samples.map((s) => s.ms);
      const by = [...new Set(run.samples.map((s) => (s.ok ? s.answeredBy ?? "?" : "FAILED")))].join(", ");
      return [
        mode,
        warmup === undefined ? phase : `${phase} (after ${warmup} warm-up)`,
        String(run.samples.length),
        fmt(percentile(ms, 50), 1),
        fmt(percentile(ms, 99), 1),
        fmt((run.samples.length / run.wallMs) * 1000, 0),
        mode === "refuse" ? "n/a" : fmt(engineCallsPerRequest, 2),
        by,
      ];
    }),
  );
}

const loadAvg = (): string => os.loadavg().map((x) => x.toFixed(1)).join(" ");

// ---- 3. hung engines, shipped timeouts, with the extension ------------------------------

const MANAGED_MS = 300;

async function timedMs<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const v = await f();
  return [v, performance.now() - t];
}

async function backInRotation(r: ExtRouter): Promise<void> {
  for (const e of Object.values(r.engines)) await e.setMode("ok");
  for (let i = 0; i < 90 && r.query("SELECT COUNT(*) FROM engines WHERE down = 1")[0]![0] !== 0; i++) await sleep(1_000);
  await sleep(5_000); // the engines' planned rate refills
}

async function hungEngines(): Promise<string> {
  const plan = planOf(shippedStack("prod"));
  const served = plan.engine.servedModelName;
  const r = await startExtRouter(plan);
  const rows: string[][] = [];
  try {
    await warmUp(r);
    await backInRotation(r);
    r.managed!.delayMs = MANAGED_MS;
    const limit = r.extension.settings.engine_timeouts.first_token_s;
    const [gpu1] = plan.hosts.map((h) => h.name);
    const send = (model = served) => r.chat({ model, messages: MESSAGES }, {}, 300_000);
    const describe = (res: { headers: Headers }): string => `${res.headers.get("x-hybrid-tier")} (${res.headers.get("x-hybrid-deployment")})`;

    await r.engines[gpu1!]!.setMode("hang");
    const pair = await Promise.all([timedMs(() => send()), timedMs(() => send())]);
    const [slow, slowMs] = pair.sort((a, b) => b[1] - a[1])[0]!;
    rows.push(["one engine hangs", "first request that met it", fmt(slowMs / 1000, 2), describe(slow)]);
    await backInRotation(r);

    for (const e of Object.values(r.engines)) await e.setMode("hang");
    const [first, firstMs] = await timedMs(() => send());
    rows.push(["both engines hang", "first request", fmt(firstMs / 1000, 2), describe(first)]);
    const spill: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < 40; i++) {
      spill.push((await timedMs(() => send()))[1]);
      direct.push((await timedMs(() => send(managedGroupName(served))))[1]);
    }
    rows.push(["both engines hang", "later requests p50 / p99", `${fmt(percentile(spill, 50) / 1000, 3)} / ${fmt(percentile(spill, 99) / 1000, 3)}`, "managed"]);
    rows.push(["(managed tier called directly)", "p50 / p99", `${fmt(percentile(direct, 50) / 1000, 3)} / ${fmt(percentile(direct, 99) / 1000, 3)}`, `ratio p50 ${fmt(percentile(spill, 50) / percentile(direct, 50), 2)}x`]);
    await backInRotation(r);

    for (const e of Object.values(r.engines)) await e.setMode("hang");
    const [stream, streamMs] = await timedMs(() => r.chatStream({ model: served, messages: MESSAGES }, {}, 300_000));
    rows.push(["both engines hang, streaming", "first stream, complete", fmt(streamMs / 1000, 2), `${stream.headers.get("x-hybrid-tier")}, [DONE] ${stream.done}`]);
    const [, laterStreamMs] = await timedMs(() => r.chatStream({ model: served, messages: MESSAGES }, {}, 300_000));
    rows.push(["both engines hang, streaming", "next stream, complete", fmt(laterStreamMs / 1000, 2), "managed"]);
    return [
      `Hung engines, shipped prod stack with the router extension: ${plan.router.numWorkers} workers, request_timeout_s ${plan.router.requestTimeoutS}, num_retries ${plan.router.numRetries}, engine first-token limit ${limit} s; managed stub answers after ${MANAGED_MS} ms; load avg ${loadAvg()}`,
      table(["engines", "request", "seconds", "answered by"], rows),
      `without the extension the same hang cost each request up to (1 + num_retries) x ${plan.router.requestTimeoutS} s, and a retry could return to the hung engine (issue 13).`,
    ].join("\n");
  } finally {
    await r.stop();
  }
}

// ---- 4. overhead: minimal config vs ours vs ours + extension ------------------------------

interface Target {
  readonly name: string;
  readonly url: string;
  readonly key: string;
  readonly model: string;
}

async function minimalProxy(stub: StubUpstream, model: string): Promise<LiteLlmProxy> {
  return startLiteLlmProxy({
    config: {
      model_list: [{ model_name: model, litellm_params: { model: `hosted_vllm/${model}`, api_base: stub.apiBase, api_key: "os.environ/HOSTED_VLLM_API_KEY" } }],
      general_settings: { master_key: "os.environ/LITELLM_MASTER_KEY" },
    },
    env: { LITELLM_MASTER_KEY: "sk-minimal-bench", HOSTED_VLLM_API_KEY: "engine-key" },
    startupTimeoutMs: 300_000,
  });
}

async function send(target: Target): Promise<Omit<Sample, "ms">> {
  const res = await fetch(`${target.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${target.key}` },
    body: body(target.model),
    signal: AbortSignal.timeout(60_000),
  });
  await res.arrayBuffer();
  return { ok: res.status === 200, answeredBy: res.headers.get("x-litellm-model-id"), overheadMs: null };
}

async function overheadRatio(): Promise<string> {
  const plan = planOf(benchStack({ num_workers: 1 }));
  const served = plan.engine.servedModelName;
  const minimalStub = await startOpenAIStub({ name: "minimal-engine" });
  const minimal = await minimalProxy(minimalStub, served);
  const ours = await startRouter(plan);
  const withExt = await startExtRouter(plan);
  try {
    const targets: Target[] = [
      { name: "minimal: one deployment, no settings", url: minimal.url, key: "sk-minimal-bench", model: served },
      { name: "ours: rendered prod config", url: ours.proxy.url, key: ours.masterKey, model: served },
      { name: "ours + router extension", url: withExt.proxy.url, key: withExt.masterKey, model: served },
    ];
    const rows: string[][] = [];
    for (const [concurrency, requests] of [[1, SERIAL_REQUESTS], [CONCURRENCY, REQUESTS]] as const) {
      for (const t of targets) await load(50, concurrency, () => send(t)); // warm-up
      const runs = targets.map(() => [] as RunResult[]);
      const rounds = 4;
      for (let round = 0; round < rounds; round++) {
        for (const [i, t] of targets.entries()) runs[i]!.push(await load(Math.ceil(requests / rounds), concurrency, () => send(t)));
      }
      const merged = runs.map((rs) => ({ samples: rs.flatMap((x) => x.samples), wallMs: rs.reduce((s, x) => s + x.wallMs, 0) }));
      const base = percentile(merged[0]!.samples.map((x) => x.ms), 50);
      merged.forEach((m, i) => {
        const ms = m.samples.map((x) => x.ms);
        const failed = m.samples.filter((x) => !x.ok).length;
        rows.push([
          i === 0 ? String(concurrency) : "",
          targets[i]!.name,
          fmt(percentile(ms, 50), 2),
          fmt(percentile(ms, 99), 2),
          fmt((m.samples.length / m.wallMs) * 1000, 0),
          `${fmt(percentile(ms, 50) / base, 2)}x`,
          String(failed),
        ]);
      });
    }
    return [
      `Overhead: the same request through three proxies (1 worker each, engine stubs answer at once), alternating rounds in one run; load avg ${loadAvg()}`,
      table(["concurrency", "config", "p50 ms", "p99 ms", "req/s", "p50 vs minimal", "failed"], rows),
    ].join("\n");
  } finally {
    await withExt.stop();
    await ours.stop();
    await minimal.stop();
    await minimalStub.close();
  }
}

// ---- 5. the shared state's own cost ---------------------------------------------------------

const STATE_BENCH = `
import os, sys, tempfile, time, multiprocessing
from hybrid_router.settings import EngineSettings, LiveLoadSettings
from hybrid_router.state import Admission, SharedState
E = EngineSettings(name="e", kind="vllm", health_url="h", metrics_url=None, completions_url="c", canary_model="m", planned_rpm=1e9, max_running=10**9, deployment_ids=())
L = LiveLoadSettings(enabled=True, poll_interval_s=1, probe_timeout_s=2, stale_after_s=3, max_waiting=0, kv_cache_limit=0.95, burst_s=5, unconfirmed_ttl_s=2, confirmed_ttl_s=600)
def cycles(path, n, out):
    s = SharedState(path, [E])
    t = time.perf_counter()
    for _ in range(n):
        a = s.reserve(["e"], L)
        assert isinstance(a, Admission)
        s.confirm(a.reservation, 600)
        s.release(a.reservation)
    out.put((time.perf_counter() - t) / n)
if __name__ == "__main__":
    n = int(sys.argv[2])
    for procs in (1, 4):
        d = tempfile.mkdtemp(dir=sys.argv[1])
        path = os.path.join(d, "s.db")
        SharedState(path, [E]).close()
        q = multiprocessing.Queue()
        ps = [multiprocessing.Process(target=cycles, args=(path, n, q)) for _ in range(procs)]
        [p.start() for p in ps]
        [p.join() for p in ps]
        per = [q.get() for _ in ps]
        print(procs, sum(per) / len(per) * 1e6)
`;

function stateCost(): string {
  const dir = process.env["BENCH_STATE_DIR"] ?? (os.platform() === "linux" ? "/dev/shm" : os.tmpdir());
  const out = execFileSync(liteLlmExecutable().python, ["-c", STATE_BENCH, dir, "2000"], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] ?? "", PYTHONPATH: path.join(__dirname, "..", "templates", "router") },
  });
  const rows = out
    .trim()
    .split("\n")
    .map((line) => line.split(" "))
    .map(([procs, us]) => [procs!, fmt(Number(us), 0)]);
  return [
    `Shared state: one admission (reserve, confirm, release: three SQLite write transactions) on ${dir}; load avg ${loadAvg()}`,
    table(["processes at once", "microseconds per admission"], rows),
    "a request to an engine pays one admission; API-tier requests pay a read of the day's spend when a frontier budget is set.",
  ].join("\n");
}

async function main(): Promise<void> {
  const rows: FailoverRow[] = [];
  const out: string[] = [];
  const hangRequests = 2 * CONCURRENCY;
  out.push(`Machine: ${os.cpus().length} CPUs, load avg at start ${loadAvg()}`);

  if (SECTIONS.has("overhead") || SECTIONS.has("failover")) {
    const noCooldown = await startRouter(planOf(benchStack({ allowed_fails: 100 })));
    try {
      if (SECTIONS.has("overhead")) {
        const served = noCooldown.plan.engine.servedModelName;
        const engine = noCooldown.engines[noCooldown.plan.hosts[0]!.name]!;
        await load(100, CONCURRENCY, () => proxied(noCooldown, served)); // warm-up: connections, caches
        await load(100, CONCURRENCY, () => direct(engine, served, noCooldown.credentials["HOSTED_VLLM_API_KEY"]!));
        const busy = await overhead(noCooldown, REQUESTS, CONCURRENCY);
        const serial = await overhead(noCooldown, SERIAL_REQUESTS, 1);
        out.push([`Router overhead: prod plan, 1 LiteLLM worker, stubs answer at once; alternating rounds in one run; load avg ${loadAvg()}`, overheadTable([busy, serial])].join("\n"));
      }
      if (SECTIONS.has("failover")) {
        // Each mode stays under allowed_fails (100, the schema's maximum) per engine within the
        // fail counter's window (cooldown_time_s), so no request of this phase meets a cooldown.
        for (const mode of ["error5xx", "refuse", "hang"] as const) {
          await sleep(COOLDOWN_S * 1000 + 500);
          rows.push(await beforeCooldown(noCooldown, mode, mode === "hang" ? hangRequests : BEFORE_COOLDOWN_REQUESTS));
        }
      }
    } finally {
      await noCooldown.stop();
    }
  }

  if (SECTIONS.has("failover")) {
    const shipped = await startRouter(planOf(benchStack({})));
    try {
      rows.push(await afterCooldown(shipped, "error5xx", FAILOVER_REQUESTS));
      rows.push(await afterCooldown(shipped, "refuse", FAILOVER_REQUESTS));
      rows.push(await afterCooldown(shipped, "hang", FAILOVER_REQUESTS));
    } finally {
      await shipped.stop();
    }
    const order: StubMode[] = ["error5xx", "refuse", "hang"];
    rows.sort((a, b) => order.indexOf(a.mode) - order.indexOf(b.mode));
    out.push(
      [
        `Failover latency (without the extension): both prod engines down, concurrency ${CONCURRENCY}; request_timeout_s ${TIMEOUT_S}, num_retries 1; load avg ${loadAvg()}`,
        failoverTable(rows),
        `note: a hanging engine costs up to (1 + num_retries) x request_timeout_s per request before cooldown; with the shipped request_timeout_s of 120 that is up to 240 s (section "Hung engines" has the extension's figures).`,
      ].join("\n"),
    );
  }

  if (SECTIONS.has("hung")) out.push(await hungEngines());
  if (SECTIONS.has("ratio")) out.push(await overheadRatio());
  if (SECTIONS.has("state")) out.push(stateCost());
  console.log(`\n${out.join("\n\n")}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
