/**
 * The capacity model against published vLLM measurements (core/catalog/calibration.ts):
 * every asserted point within ±25% of its measured output tokens/s, with the fitted
 * constants the committed ones. The per-point error is in each test's name;
 * `npm run bench:capacity` prints the full table and the leave-one-source-out errors.
 */
import { describe, expect, it } from "vitest";
import { CALIBRATION_POINTS } from "../../core/catalog/calibration";
import { predictPoint } from "../../core/plan/capacity/calibration";
import { FITTED_EFFICIENCY, PRIOR_EFFICIENCY } from "../../core/plan/capacity/efficiency";
import { FITTED_PARAMETERS, calibrationLoss, fitEfficiency } from "../../core/plan/capacity/fit";

const TOLERANCE = 0.25;

const asserted = CALIBRATION_POINTS.filter((p) => p.excluded === undefined).map((p) => {
  const predicted = predictPoint(p).outputTokensPerSecond;
  const error = predicted / p.measured.outputTokensPerSecond - 1;
  return { point: p, predicted, error, label: `${p.id}: measured ${p.measured.outputTokensPerSecond.toFixed(1)}, predicted ${predicted.toFixed(1)} tok/s (${error >= 0 ? "+" : ""}${(error * 100).toFixed(1)}%)` };
});

describe("capacity model vs published vLLM runs", () => {
  it.each(asserted.map((a) => [a.label, a] as const))("%s", (_label, a) => {
    expect(Math.abs(a.error), `${a.point.id}: ${a.predicted.toFixed(1)} vs ${a.point.measured.outputTokensPerSecond}`).toBeLessThanOrEqual(TOLERANCE);
  });

  it("has no systematic bias: the mean signed error over the loaded points is within ±5%", () => {
    const loaded = asserted.filter((a) => !a.point.arrivalBound);
    const mean = loaded.reduce((s, a) => s + a.error, 0) / loaded.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
  });

  it("predicts the published TPOT within ±25% where a source gave one", () => {
    for (const a of asserted) {
      const tpot = a.point.measured.tpotMedianMs;
      if (tpot === undefined) continue;
      const predicted = predictPoint(a.point).tpotMs;
      expect(Math.abs(predicted / tpot - 1), `${a.point.id}: TPOT ${predicted.toFixed(1)} vs ${tpot} ms`).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it("ships the constants the fit gives: refitting from the prior moves none by more than its rounding", () => {
    const refit = fitEfficiency(CALIBRATION_POINTS, PRIOR_EFFICIENCY);
    for (const f of FITTED_PARAMETERS) {
      expect(FITTED_EFFICIENCY[f.key], `${f.key}: committed ${FITTED_EFFICIENCY[f.key]}, refit ${refit[f.key]}`).toBeCloseTo(refit[f.key], 1 - Math.floor(Math.log10(Math.abs(refit[f.key]) || 1)));
    }
    // And the rounding costs little: within 5% of the refit's loss.
    expect(calibrationLoss(CALIBRATION_POINTS, FITTED_EFFICIENCY)).toBeLessThan(calibrationLoss(CALIBRATION_POINTS, refit) * 1.05);
  });

  it("did not get there by fitting: the prior constants already land within a factor of 1.6 on every loaded point", () => {
    for (const a of asserted.filter((x) => !x.point.arrivalBound)) {
      const ratio = predictPoint(a.point, PRIOR_EFFICIENCY).outputTokensPerSecond / a.point.measured.outputTokensPerSecond;
      expect(ratio, a.point.id).toBeGreaterThan(1 / 1.6);
      expect(ratio, a.point.id).toBeLessThan(1.6);
    }
  });
});
