/**
 * The capacity model's efficiency constants: what fraction of a card's peak figures a
 * vLLM engine step reaches, and what each step costs besides. They are fitted to the
 * published measurements in core/catalog/calibration.ts, not guessed; `npm run
 * bench:capacity -- --fit` repeats the fit and prints the per-point error.
 *
 * The fit (2026-11-30): coordinate descent (core/plan/capacity/fit.ts) from
 * PRIOR_EFFICIENCY, minimising the mean squared log error of output tokens/s over every
 * calibration point that is not excluded, plus half-weighted squared log errors of median
 * TPOT where a source published it (which is what pins the step overhead and the
 * all-reduce latency). FITTED_EFFICIENCY is the fit's result rounded to two significant
 * figures; test/plan/calibration.test.ts refits and checks that it still is. The error per
 * point, and per source when that source is left out of the fit, is in the README's
 * "Capacity" section.
 *
 * They are parameters, not hidden constants: a caller that has measured its own engine
 * (a later `calibrate` step) passes its own `Efficiency` to every function.
 */
export interface Efficiency {
  /** Fraction of peak memory bandwidth a step's weight and KV-cache reads reach. */
  readonly bandwidth: number;
  /** Fraction of peak tensor throughput the model's GEMMs reach (model FLOPs utilisation, MFU). */
  readonly mfu: number;
  /**
   * Weight-only quantized GEMMs (AWQ/GPTQ through Marlin, FP8 on Ampere through FP8
   * Marlin) dequantize in the kernel: their compute runs at this fraction of the 16-bit
   * rate. Memory-bound decode is unaffected (the bytes read are what shrink).
   */
  readonly weightOnlyComputeFactor: number;
  /**
   * FP8 W8A8 GEMMs on Ada/Blackwell reach this fraction of the FP8 tensor peak relative
   * to what bf16 reaches of its own (per-token activation quantisation, younger kernels).
   */
  readonly fp8ComputeFactor: number;
  /**
   * How sharply a step goes from memory-bound to compute-bound: the step takes
   * (memory^p + compute^p)^(1/p). p = infinity is the plain roofline max; real steps
   * near the ridge overlap the two imperfectly, so p is finite.
   */
  readonly rooflineExponent: number;
  /** Fixed cost of every engine step: scheduling, sampling, launch gaps between CUDA graphs. Seconds. */
  readonly stepOverheadSeconds: number;
  /** Latency of one NCCL collective through host memory (NCCL_P2P_DISABLE=1), seconds. */
  readonly collectiveLatencySeconds: number;
  /** Fraction of one direction of the PCIe link a collective through host memory moves. */
  readonly pcieEfficiency: number;
}

/**
 * Where the fit starts: round textbook figures (bandwidth-bound kernels reach ~85% of
 * peak, large GEMMs about half of peak end to end, FP8 as fast as its peak says, a nearly
 * sharp roofline, a millisecond per step, 30 µs per NCCL collective).
 */
export const PRIOR_EFFICIENCY: Efficiency = {
  bandwidth: 0.85,
  mfu: 0.5,
  weightOnlyComputeFactor: 0.6,
  fp8ComputeFactor: 1,
  rooflineExponent: 4,
  stepOverheadSeconds: 0.001,
  collectiveLatencySeconds: 0.00003,
  pcieEfficiency: 0.75,
};

/**
 * Fitted to the calibration set (see above). Two stay at their prior because the set does
 * not constrain them: `weightOnlyComputeFactor` (the only 4-bit point is one stream,
 * memory-bound) and `pcieEfficiency` (no published tensor-parallel run at a batch large
 * enough for the bytes, rather than the latency, of the all-reduces to count). An earlier
 * form that let MFU fall for narrow steps (mfu x T / (T + T0)) was fitted too; the fit
 * set T0 to 0, so it was dropped.
 */
export const FITTED_EFFICIENCY: Efficiency = {
  bandwidth: 0.87,
  mfu: 0.54,
  weightOnlyComputeFactor: 0.6, // prior, not constrained by the set
  fp8ComputeFactor: 0.73,
  rooflineExponent: 1.4,
  stepOverheadSeconds: 0.00056,
  collectiveLatencySeconds: 0.000084,
  pcieEfficiency: 0.75, // prior, not constrained by the set
};
