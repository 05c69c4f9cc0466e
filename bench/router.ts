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
 * Plan changes, all through the stack config: request_timeout_s 2 (the shipped 120 s
 * would make a hanging engine cost minutes per request before cooldown: see the table's
 * note), num_workers 1 (the proxy's worker count here), tiny traffic averages so the
 * planned rpm (LiteLLM's per-minute request cap) is far above the bench's request count,
 * and cooldown_time_s 10 so each failure mode starts from a clean rotation soon enough.
 *
 * Env: BENCH_REQUESTS (default 1000), BENCH_SERIAL_REQUESTS (300), BENCH_CONCURRENCY (8),
 * BENCH_FAILOVER_REQUESTS (200).
 */
import type { RawStackConfig } from "../core/config/source";
import { deploymentIds } from "../core/render/litellm-config";
import type { StubMode, StubUpstream } from "../test/router-harness/stub-upstreams";
import { MESSAGES, type RouterUnderTest, answeredBy, calls, planOf, shippedStack, startRouter } from "../test/router/router-fixture";

const REQUESTS = Number(process.env["BENCH_REQUESTS"] ?? 1000);
const SERIAL_REQUESTS = Number(process.env["BENCH_SERIAL_REQUESTS"] ?? 300);
const CONCURRENCY = Number(process.env["BENCH_CONCURRENCY"] ?? 8);
const FAILOVER_REQUESTS = Number(process.env["BENCH_FAILOVER_REQUESTS"] ?? 200);
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

async function main(): Promise<void> {
  const rows: FailoverRow[] = [];
  const out: string[] = [];
  const hangRequests = 2 * CONCURRENCY;

  const noCooldown = await startRouter(planOf(benchStack({ allowed_fails: 100 })));
  try {
    const served = noCooldown.plan.engine.servedModelName;
    const engine = noCooldown.engines[noCooldown.plan.hosts[0]!.name]!;
    await load(100, CONCURRENCY, () => proxied(noCooldown, served)); // warm-up: connections, caches
    await load(100, CONCURRENCY, () => direct(engine, served, noCooldown.credentials["HOSTED_VLLM_API_KEY"]!));
    const busy = await overhead(noCooldown, REQUESTS, CONCURRENCY);
    const serial = await overhead(noCooldown, SERIAL_REQUESTS, 1);
    out.push([`Router overhead: prod plan, 1 LiteLLM worker, stubs answer at once; alternating rounds in one run`, overheadTable([busy, serial])].join("\n"));
    // Each mode stays under allowed_fails (100, the schema's maximum) per engine within the
    // fail counter's window (cooldown_time_s), so no request of this phase meets a cooldown.
    for (const mode of ["error5xx", "refuse", "hang"] as const) {
      await sleep(COOLDOWN_S * 1000 + 500);
      rows.push(await beforeCooldown(noCooldown, mode, mode === "hang" ? hangRequests : BEFORE_COOLDOWN_REQUESTS));
    }
  } finally {
    await noCooldown.stop();
  }

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
      `Failover latency: both prod engines down, concurrency ${CONCURRENCY}; request_timeout_s ${TIMEOUT_S}, num_retries 1`,
      failoverTable(rows),
      `note: a hanging engine costs up to (1 + num_retries) x request_timeout_s per request before cooldown; with the shipped request_timeout_s of 120 that is up to 240 s.`,
    ].join("\n"),
  );
  console.log(`\n${out.join("\n\n")}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
