/**
 * The capacity model run against one calibration point: the same functions the planner
 * uses, fed the point's card, model, engine settings, request shape and load. Shared by
 * test/plan/calibration.test.ts and bench/capacity-calibration.ts so both judge the same
 * prediction.
 */
import { findGpu, findModel } from "../../catalog";
import { CALIBRATION_MODELS, type CalibrationPoint } from "../../catalog/calibration";
import type { GpuSpec, ModelShape } from "../../catalog/types";
import { type CapacityInputs, engineFor } from "../capacity";
import { kvBytesPerToken, memoryBreakdown, weightBytes } from "../memory";
import type { Efficiency } from "./efficiency";
import { type Engine, atRate, closedLoop, finiteClosedRunTokensPerSecond, roundSeconds, saturation } from "./load";

/** The architecture of a point's model: a catalog model or a calibration-only one. */
export function calibrationModel(id: string): ModelShape | undefined {
  return findModel(id) ?? CALIBRATION_MODELS.find((m) => m.id === id);
}

function requireShape(p: CalibrationPoint): { model: ModelShape; gpu: GpuSpec } {
  const model = calibrationModel(p.model);
  const gpu = findGpu(p.gpu);
  if (!model || !gpu) throw new Error(`calibration point ${p.id}: unknown model "${p.model}" or GPU "${p.gpu}"`);
  return { model, gpu };
}

/** The capacity inputs describing the point's engine (one replica, as benchmarked). */
export function calibrationInputs(p: CalibrationPoint, efficiency?: Efficiency): CapacityInputs {
  const { model, gpu } = requireShape(p);
  const variant = p.weightsGB === undefined ? undefined : { quantization: p.quantization, hfRepo: p.checkpoint, weightsGB: p.weightsGB, source: p.source };
  const memory = memoryBreakdown({
    model,
    quantization: p.quantization,
    variant,
    vramGiB: gpu.vramGiB,
    gpuMemoryUtilization: p.engine.gpuMemoryUtilization,
    tensorParallel: p.tensorParallel,
    kvDtypeBytes: 2,
    maxNumSeqs: p.engine.maxNumSeqs,
    maxLoras: 0,
    maxLoraRank: 0,
  });
  return {
    model,
    gpu,
    weightBytes: weightBytes(model, p.quantization, variant),
    kvBytesPerToken: kvBytesPerToken(model, 2),
    tensorParallel: p.tensorParallel,
    replicas: 1,
    avgInputTokens: p.inputTokens,
    avgOutputTokens: p.outputTokens,
    quantization: p.quantization,
    maxNumSeqs: p.engine.maxNumSeqs,
    maxNumBatchedTokens: p.engine.maxNumBatchedTokens,
    kvTokens: memory.kvTokens,
    cachedInputTokens: p.cachedInputTokens,
    ...(efficiency === undefined ? {} : { efficiency }),
  };
}

export interface Prediction {
  readonly outputTokensPerSecond: number;
  readonly ttftMs: number;
  readonly tpotMs: number;
  /** Requests the engine runs at once under the point's settings. */
  readonly maxConcurrency: number;
}

function predictLoad(e: Engine, p: CalibrationPoint): Prediction {
  const base = { maxConcurrency: e.maxConcurrency };
  if (p.load.kind === "closed") {
    const steady = closedLoop(e, p.load.concurrency);
    if (p.load.requests === undefined) {
      return { ...base, outputTokensPerSecond: steady.outputTokensPerSecond, ttftMs: steady.ttftSeconds * 1000, tpotMs: steady.tpotSeconds * 1000 };
    }
    // Synchronised rounds: the median request finishes its prefill halfway through the burst.
    const clients = Math.min(p.load.concurrency, e.maxConcurrency, p.load.requests);
    const round = roundSeconds(e, clients);
    return {
      ...base,
      outputTokensPerSecond: finiteClosedRunTokensPerSecond(e, p.load.concurrency, p.load.requests),
      ttftMs: (round.prefillSeconds / Math.max(1, Math.ceil(round.prefillSteps))) * Math.ceil(Math.max(1, round.prefillSteps) / 2) * 1000,
      tpotMs: (round.decodeSeconds / Math.max(1, p.outputTokens - 1)) * 1000,
    };
  }
  const steady = atRate(e, p.load.requestsPerSecond);
  if (steady) return { ...base, outputTokensPerSecond: steady.outputTokensPerSecond, ttftMs: steady.ttftSeconds * 1000, tpotMs: steady.tpotSeconds * 1000 };
  const full = saturation(e);
  return { ...base, outputTokensPerSecond: full.outputTokensPerSecond, ttftMs: Number.POSITIVE_INFINITY, tpotMs: full.tpotSeconds * 1000 };
}

/** What the model predicts the point's benchmark measured. */
export function predictPoint(p: CalibrationPoint, efficiency?: Efficiency): Prediction {
  return predictLoad(engineFor(calibrationInputs(p, efficiency)), p);
}

/** Signed relative error of the prediction against the measured output tokens/s. */
export function outputError(p: CalibrationPoint, efficiency?: Efficiency): number {
  return predictPoint(p, efficiency).outputTokensPerSecond / p.measured.outputTokensPerSecond - 1;
}
