import { describe, expect, it } from "vitest";
import { PEAK_TO_AVERAGE, spillTokens } from "../../core/costs/shape";

/** The load-duration curve's spill by brute force: midpoint rule over 200,000 slices. */
function numericSpill(volume: number, capacity: number, f: number): number {
  const peak = volume * f;
  const n = 200_000;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = (i + 0.5) / n;
    sum += Math.max(0, peak * (1 - x) ** (f - 1) - capacity);
  }
  return sum / n;
}

describe("traffic shapes", () => {
  it("orders the peak factors: steady < bursty < experimental", () => {
    expect(PEAK_TO_AVERAGE.steady).toBeLessThan(PEAK_TO_AVERAGE.bursty);
    expect(PEAK_TO_AVERAGE.bursty).toBeLessThan(PEAK_TO_AVERAGE.experimental);
  });

  it.each([
    [1.5, 0.1], [1.5, 0.5], [1.5, 0.9], [4, 0.05], [4, 0.3], [4, 0.75], [8, 0.02], [8, 0.5],
  ])("matches numeric integration (f %d, capacity %d of the peak)", (f, r) => {
    const volume = 1e9;
    const capacity = r * volume * f;
    expect(spillTokens(volume, capacity, f) / volume).toBeCloseTo(numericSpill(volume, capacity, f) / volume, 4);
  });

  it("spills everything with no capacity and nothing at the peak", () => {
    for (const f of [1, 1.5, 4, 8]) {
      expect(spillTokens(1e9, 0, f)).toBeCloseTo(1e9, 0);
      expect(spillTokens(1e9, 1e9 * f, f)).toBe(0);
    }
  });

  it("treats a flat load (f = 1) as everything above the line", () => {
    expect(spillTokens(1e9, 0.25e9, 1)).toBeCloseTo(0.75e9, 0);
  });
});
