/**
 * `npm run bench:capacity`: the capacity model against every published vLLM measurement
 * in core/catalog/calibration.ts. Prints each point (measured, predicted, error %; TPOT and
 * TTFT where the source published them) and a summary. Asserts nothing: the ±25% bound is
 * test/plan/calibration.test.ts's.
 *
 * `npm run bench:capacity -- --fit` first refits the efficiency constants (coordinate
 * descent from PRIOR_EFFICIENCY, core/plan/capacity/fit.ts) and prints them, then the
 * table with the refitted constants. Copy them into core/plan/capacity/efficiency.ts by hand.
 *
 * `-- --cross-validate` estimates the error on data the fit has not seen: for each source
 * in turn, refit from PRIOR_EFFICIENCY on the other sources and predict that source's points.
 */
import { loadavg } from "node:os";
import { CALIBRATION_NOT_USED, CALIBRATION_POINTS, type CalibrationPoint } from "../core/catalog/calibration";
import { predictPoint } from "../core/plan/capacity/calibration";
import { type Efficiency, FITTED_EFFICIENCY, PRIOR_EFFICIENCY } from "../core/plan/capacity/efficiency";
import { calibrationLoss, fitEfficiency } from "../core/plan/capacity/fit";

const fit = process.argv.includes("--fit");
const crossValidate = process.argv.includes("--cross-validate");

/** Points of one publication share an id prefix (mushfiq, ldsingh, vllm16515, ...). */
function sourceGroup(p: CalibrationPoint): string {
  return p.id.split("-")[0]!;
}

function leaveOneSourceOut(): void {
  const asserted = CALIBRATION_POINTS.filter((p) => p.excluded === undefined);
  const groups = [...new Set(asserted.map(sourceGroup))];
  const errors: number[] = [];
  console.log("Leave one source out (refit on the other sources, predict this one's points):");
  for (const g of groups) {
    const train = CALIBRATION_POINTS.filter((p) => sourceGroup(p) !== g);
    const e = fitEfficiency(train, PRIOR_EFFICIENCY);
    const held = asserted.filter((p) => sourceGroup(p) === g && !p.arrivalBound);
    const errs = held.map((p) => predictPoint(p, e).outputTokensPerSecond / p.measured.outputTokensPerSecond - 1);
    errors.push(...errs);
    if (errs.length > 0) console.log(`  ${g.padEnd(10)} ${held.length} loaded points: ${errs.map(pct).join(" ")}`);
  }
  const abs = errors.map(Math.abs);
  console.log(`  held-out: mean |error| ${(100 * abs.reduce((a, b) => a + b, 0) / abs.length).toFixed(1)}%, max ${(100 * Math.max(...abs)).toFixed(1)}% over ${errors.length} loaded points`);
  console.log();
}

function pct(x: number): string {
  return `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;
}

function loadLabel(p: CalibrationPoint): string {
  return p.load.kind === "closed" ? `c=${p.load.concurrency}${p.load.requests === undefined ? "" : `/${p.load.requests}`}` : `${p.load.requestsPerSecond} req/s`;
}

function pair(measured: number | undefined, predicted: number): string {
  if (measured === undefined) return "-";
  return `${measured.toFixed(1)}/${Number.isFinite(predicted) ? predicted.toFixed(1) : "inf"}`;
}

function table(e: Efficiency): void {
  const rows: string[][] = [["point", "gpu", "quant", "tp", "load", "measured tok/s", "predicted", "error", "TPOT ms m/p", "TTFT ms m/p"]];
  const included: number[] = [];
  const loaded: number[] = [];
  const tpot: number[] = [];
  const ttftRate: number[] = [];
  const ttftClosed: number[] = [];
  for (const p of CALIBRATION_POINTS) {
    const r = predictPoint(p, e);
    const err = r.outputTokensPerSecond / p.measured.outputTokensPerSecond - 1;
    if (p.excluded === undefined) {
      included.push(err);
      if (!p.arrivalBound) loaded.push(err);
      if (p.measured.tpotMedianMs !== undefined) tpot.push(r.tpotMs / p.measured.tpotMedianMs - 1);
      if (p.measured.ttftMedianMs !== undefined && Number.isFinite(r.ttftMs)) (p.load.kind === "rate" ? ttftRate : ttftClosed).push(r.ttftMs / p.measured.ttftMedianMs - 1);
    }
    rows.push([
      p.id + (p.excluded !== undefined ? " (excluded)" : p.arrivalBound ? " (arrival-bound)" : ""),
      `${p.gpuCount}x ${p.gpu}`,
      p.quantization,
      String(p.tensorParallel),
      loadLabel(p),
      p.measured.outputTokensPerSecond.toFixed(1),
      r.outputTokensPerSecond.toFixed(1),
      pct(err),
      pair(p.measured.tpotMedianMs, r.tpotMs),
      pair(p.measured.ttftMedianMs, r.ttftMs),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) console.log(row.map((cell, i) => (i >= 5 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  "));
  const summary = (errs: number[]) => {
    const abs = errs.map(Math.abs);
    return `${errs.length} points: mean |error| ${(100 * abs.reduce((a, b) => a + b, 0) / abs.length).toFixed(1)}%, max ${(100 * Math.max(...abs)).toFixed(1)}%, mean signed ${pct(errs.reduce((a, b) => a + b, 0) / errs.length)}`;
  };
  console.log();
  console.log(`all asserted points  ${summary(included)}`);
  console.log(`loaded points only   ${summary(loaded)}   (arrival-bound points left out)`);
  console.log(`median TPOT          ${summary(tpot)}`);
  console.log(`median TTFT, rate   ${summary(ttftRate)}   (steady state; not fitted)`);
  console.log(`median TTFT, closed ${summary(ttftClosed)}   (clients in lockstep; not fitted)`);
  console.log(`GPUs: ${[...new Set(CALIBRATION_POINTS.filter((p) => p.excluded === undefined).map((p) => p.gpu))].join(", ")}`);
  console.log(`loss (mean squared log error, TPOT half-weighted): ${calibrationLoss(CALIBRATION_POINTS, e).toFixed(5)}`);
  console.log();
  console.log("Found but not reproduced (kept in the set, not asserted):");
  for (const p of CALIBRATION_POINTS.filter((q) => q.excluded !== undefined)) console.log(`  ${p.id}: ${p.excluded}`);
  console.log("Found but not usable as points:");
  for (const n of CALIBRATION_NOT_USED) console.log(`  ${n.what}: ${n.why}`);
}

console.log(`capacity calibration (node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")})`);
let efficiency = FITTED_EFFICIENCY;
if (fit) {
  const started = Date.now();
  efficiency = fitEfficiency(CALIBRATION_POINTS, PRIOR_EFFICIENCY);
  console.log(`refitted from PRIOR_EFFICIENCY in ${((Date.now() - started) / 1000).toFixed(1)} s: loss ${calibrationLoss(CALIBRATION_POINTS, PRIOR_EFFICIENCY).toFixed(5)} -> ${calibrationLoss(CALIBRATION_POINTS, efficiency).toFixed(5)} (committed constants: ${calibrationLoss(CALIBRATION_POINTS, FITTED_EFFICIENCY).toFixed(5)})`);
  console.log(JSON.stringify(efficiency, null, 2));
}
console.log();
if (crossValidate) leaveOneSourceOut();
table(efficiency);
