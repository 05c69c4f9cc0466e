/**
 * Fitting the efficiency constants to measurements: coordinate descent on a log-error
 * objective. Used by `npm run bench:capacity -- --fit` on the published calibration set,
 * and shaped so a later `calibrate` command can fit one host's own benchmark the same way.
 */
import type { CalibrationPoint } from "../../catalog/calibration";
import { predictPoint } from "./calibration";
import type { Efficiency } from "./efficiency";

/** Weight of a squared log error of median TPOT against one of output tokens/s. */
export const TPOT_WEIGHT = 0.5;

/** A free constant and the range it may take. */
export interface FreeParameter {
  readonly key: keyof Efficiency;
  readonly min: number;
  readonly max: number;
}

/** The constants the published set constrains (see efficiency.ts for what each means). */
export const FITTED_PARAMETERS: readonly FreeParameter[] = [
  { key: "bandwidth", min: 0.5, max: 1 },
  { key: "mfu", min: 0.2, max: 1 },
  { key: "fp8ComputeFactor", min: 0.3, max: 1 },
  { key: "rooflineExponent", min: 1, max: 16 },
  { key: "stepOverheadSeconds", min: 0, max: 0.01 },
  { key: "collectiveLatencySeconds", min: 0, max: 0.0005 },
];

function logError(predicted: number, measured: number): number {
  return Math.log(predicted / measured);
}

/**
 * Mean squared log error of output tokens/s over the points, plus TPOT_WEIGHT times that of
 * median TPOT where a point has one. Excluded points do not count.
 */
export function calibrationLoss(points: readonly CalibrationPoint[], e: Efficiency): number {
  let sum = 0;
  let weight = 0;
  for (const p of points) {
    if (p.excluded !== undefined) continue;
    const r = predictPoint(p, e);
    sum += logError(r.outputTokensPerSecond, p.measured.outputTokensPerSecond) ** 2;
    weight += 1;
    if (p.measured.tpotMedianMs !== undefined && Number.isFinite(r.tpotMs)) {
      sum += TPOT_WEIGHT * logError(r.tpotMs, p.measured.tpotMedianMs) ** 2;
      weight += TPOT_WEIGHT;
    }
  }
  return weight === 0 ? 0 : sum / weight;
}

/**
 * Coordinate descent: each free constant in turn moves up or down by `step` (a fraction of
 * its range) while that lowers the loss; the step halves when no move helps, down to `minStep`.
 */
export function fitEfficiency(points: readonly CalibrationPoint[], start: Efficiency, free: readonly FreeParameter[] = FITTED_PARAMETERS, minStep = 1e-3): Efficiency {
  let best = start;
  let bestLoss = calibrationLoss(points, best);
  for (let step = 0.1; step >= minStep; step /= 2) {
    let improved = true;
    while (improved) {
      improved = false;
      for (const f of free) {
        for (const dir of [1, -1]) {
          const value = Math.min(f.max, Math.max(f.min, best[f.key] + dir * step * (f.max - f.min)));
          const candidate: Efficiency = { ...best, [f.key]: value };
          const loss = calibrationLoss(points, candidate);
          if (loss < bestLoss - 1e-12) {
            best = candidate;
            bestLoss = loss;
            improved = true;
          }
        }
      }
    }
  }
  return best;
}
