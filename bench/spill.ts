/**
 * `npm run bench:spill`: static rpm routing (today's rendered LiteLLM config: each
 * deployment's planned rpm divided by the workers, counted per worker) against live-load
 * routing (the same config plus the router extension: one shared budget per engine, the
 * engine's own /metrics) under the same offered load, in one run, against the real pinned
 * proxy and stub engines that follow a queue model (test/router-harness/stub-upstreams.ts).
 *
 * Stack: the shipped dev stack (one engine, planned 162 requests/min, 2 router workers)
 * with a second adapter, so the engine serves 3 model names. Offered load: BENCH_SPILL_LOAD
 * (default 2) x the planned rate, spread over the 3 names, for BENCH_SPILL_SECONDS (60),
 * open loop. Engine capacity: the planned rate (the estimate was right) and half of it
 * (the estimate was optimistic, as issue 12 found near saturation).
 *
 * Columns: p50/p99 latency of the requests the engine answered (queueing included), the
 * share spilled to the managed tier, over-admission (requests the engine got per minute /
 * its planned rate), the engine's longest queue. Prints the machine's load average beside
 * them. Asserts nothing.
 */
import os from "node:os";
import type { QueueModel } from "../test/router-harness/stub-upstreams";
import { type ExtRouter, MESSAGES, chatCalls, startExtRouter } from "../test/router-ext/ext-fixture";
import { openLoop, percentile } from "../test/router-ext/load";
import { planOf, shippedStack } from "../test/router/router-fixture";

const SECONDS = Number(process.env["BENCH_SPILL_SECONDS"] ?? 60);
const LOAD = Number(process.env["BENCH_SPILL_LOAD"] ?? 2);

const raw = shippedStack("dev");
const plan = planOf({
  ...raw,
  values: {
    ...raw.values,
    adapters: [...(raw.values["adapters"] as unknown[]), { name: "legal-bot", source: "/srv/adapters/legal-bot", rank: 16, base_model: "qwen2.5-7b-instruct" }],
  },
});
const host = plan.hosts[0]!;
const rpm = host.capacity.routerRpm;
const MODELS = [plan.engine.servedModelName, "support-bot", "legal-bot"];
const options = { extension: { adapterPolicies: { "support-bot": { policy: "base" as const }, "legal-bot": { policy: "base" as const } } } };

/** A queue whose capacity (slots / service time) is `fraction` of the planned rate. */
function capacity(fraction: number): QueueModel {
  const slots = Math.max(1, Math.round(host.capacity.concurrency * Math.min(1, fraction)));
  return { slots, serviceMs: Math.round((slots * 60_000) / (fraction * rpm)) };
}

interface Row {
  readonly routing: string;
  readonly capacity: string;
  readonly requests: number;
  readonly failed: number;
  readonly p50: number;
  readonly p99: number;
  readonly spilled: number;
  readonly overAdmission: number;
  readonly maxQueue: number;
  readonly load: string;
}

async function scenario(r: ExtRouter, routing: string, fraction: number): Promise<Row> {
  await r.reset();
  const engine = r.engines[host.name]!;
  engine.queue = capacity(fraction);
  await new Promise((res) => setTimeout(res, 3_000)); // one poll of the new engine
  let maxQueue = 0;
  const sampler = setInterval(() => {
    maxQueue = Math.max(maxQueue, engine.load.waiting);
  }, 100);
  const before = os.loadavg()[0]!;
  const run = await openLoop((model) => r.chat({ model, messages: MESSAGES }, {}, 600_000), MODELS, (LOAD * rpm) / 60, SECONDS);
  clearInterval(sampler);
  const after = os.loadavg()[0]!;
  const engineIds = new Set(MODELS.map((m) => `${m}@${host.name}`));
  const byEngine = run.results.filter((x) => x.status === 200 && x.deployment !== null && engineIds.has(x.deployment));
  const seconds = (run.lastAt - run.firstAt) / 1000;
  const admittedPerMinute = (chatCalls(engine) * 60) / seconds;
  const row: Row = {
    routing,
    capacity: `${fraction}x planned (${engine.queue.slots} slots, ${(engine.queue.serviceMs / 1000).toFixed(1)} s each)`,
    requests: run.results.length,
    failed: run.results.filter((x) => x.status !== 200).length,
    p50: percentile(byEngine.map((x) => x.ms), 50),
    p99: percentile(byEngine.map((x) => x.ms), 99),
    spilled: 1 - byEngine.length / run.results.length,
    overAdmission: admittedPerMinute / rpm,
    maxQueue,
    load: `${before.toFixed(1)} -> ${after.toFixed(1)}`,
  };
  // Let the engine finish before the next scenario.
  for (let i = 0; i < 1200 && (engine.load.running > 0 || engine.load.waiting > 0); i++) await new Promise((res) => setTimeout(res, 500));
  return row;
}

function table(rows: readonly Row[]): string {
  const headers = ["routing", "engine capacity", "requests", "failed", "engine p50 s", "engine p99 s", "spilled", "over-admission", "max queue", "load avg (1 min)"];
  const cells = rows.map((r) => [
    r.routing,
    r.capacity,
    String(r.requests),
    String(r.failed),
    (r.p50 / 1000).toFixed(1),
    (r.p99 / 1000).toFixed(1),
    `${(r.spilled * 100).toFixed(0)}%`,
    `${r.overAdmission.toFixed(2)}x`,
    String(r.maxQueue),
    r.load,
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]): string => c.map((x, i) => (i < 2 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join("  ");
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const [routing, withExtension] of [["static rpm (LiteLLM)", false], ["live load (extension)", true]] as const) {
    const r = await startExtRouter(plan, { ...options, withExtension, queues: { [host.name]: capacity(1) } });
    try {
      for (const fraction of [1, 0.5]) rows.push(await scenario(r, routing, fraction));
    } finally {
      await r.stop();
    }
  }
  console.log(
    [
      "",
      `Spill-over: dev stack + 2 adapters, planned ${rpm} requests/min for the engine, ${plan.router.numWorkers} router workers; offered ${LOAD}x the planned rate over 3 model names for ${SECONDS} s (open loop); ${os.cpus().length} CPUs`,
      table(rows),
      "engine p50/p99: latency of the requests the engine answered, its queue included; over-admission: requests the engine received per minute / its planned rate.",
      "",
    ].join("\n"),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
