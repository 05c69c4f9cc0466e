/**
 * Open-loop load for the router tests and benchmarks: requests start on a fixed schedule
 * (a rate, not a concurrency), whatever the answers' latency, as independent clients do.
 */
import type { HttpResult } from "../router-harness/litellm-proxy";

export interface LoadResult {
  readonly model: string;
  readonly status: number;
  readonly ms: number;
  readonly tier: string | null;
  /** The deployment that answered: the extension's header, else LiteLLM's own. */
  readonly deployment: string | null;
  readonly startedAt: number;
}

export interface OpenLoop {
  readonly results: LoadResult[];
  readonly firstAt: number;
  readonly lastAt: number;
}

/** Sends `ratePerS` requests per second for `seconds`, cycling through `models`. */
export async function openLoop(
  send: (model: string) => Promise<HttpResult>,
  models: readonly string[],
  ratePerS: number,
  seconds: number,
): Promise<OpenLoop> {
  const total = Math.round(ratePerS * seconds);
  const started = Date.now();
  const pending: Promise<LoadResult>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / ratePerS;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const model = models[i % models.length]!;
    const t = Date.now();
    pending.push(
      send(model).then(
        (res) => ({ model, status: res.status, ms: Date.now() - t, tier: res.headers.get("x-hybrid-tier"), deployment: res.headers.get("x-hybrid-deployment") ?? res.headers.get("x-litellm-model-id"), startedAt: t }),
        () => ({ model, status: 0, ms: Date.now() - t, tier: null, deployment: null, startedAt: t }),
      ),
    );
  }
  const lastAt = Date.now();
  return { results: await Promise.all(pending), firstAt: started, lastAt };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
