/**
 * Traffic shape: how far the busiest moment of the month rises above its average, and
 * how many tokens lie above a given serving capacity.
 *
 * Peak-to-average factors (f):
 *  - steady 1.5: interactive traffic of one time zone follows the working day; the busy
 *    hours run about half again above the 24-hour mean.
 *  - bursty 4: campaigns, batch back-fills and end-of-month jobs; short peaks several times
 *    the mean, with quiet stretches between them.
 *  - experimental 8: pilots and internal tools; mostly idle, the occasional demo or eval
 *    run hits hard.
 * These are planning assumptions, not measurements: measure yours (peak tokens/min over the
 * month's mean) and pick the nearest.
 *
 * The month's load-duration curve (load sorted from busiest to quietest, x in [0, 1]) is
 * modelled as  load(x) = P (1 - x)^(f - 1),  whose mean is P / f: flat for f = 1, a few
 * busy hours for large f. Self-hosting must be sized for P; a capacity c below P leaves
 *   spill(c) = integral over x of max(0, load(x) - c)
 * tokens for another tier. Closed form, with r = c / P and a = f - 1 > 0:
 *   spill / P = (1 - r^((a+1)/a)) / (a+1) - r (1 - r^(1/a))   for r < 1, and 0 for r >= 1.
 */
import type { TrafficShape } from "./types";

export const PEAK_TO_AVERAGE: Readonly<Record<TrafficShape, number>> = {
  steady: 1.5,
  bursty: 4,
  experimental: 8,
};

/**
 * Tokens per month above `capacity` (tokens/month at the peak rate) when `volume`
 * tokens/month arrive with peak-to-average factor `peakFactor`.
 */
export function spillTokens(volume: number, capacity: number, peakFactor: number): number {
  if (volume <= 0) return 0;
  const peak = volume * peakFactor;
  if (capacity >= peak) return 0;
  if (capacity <= 0) return volume;
  const a = peakFactor - 1;
  if (a <= 0) return volume - capacity; // flat load: everything above the line spills
  const r = capacity / peak;
  const fraction = (1 - r ** ((a + 1) / a)) / (a + 1) - r * (1 - r ** (1 / a));
  // Rounding can leave a hair below zero or above the volume at the ends.
  return Math.min(volume, Math.max(0, peak * fraction));
}
