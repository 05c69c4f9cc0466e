import { GPUS } from "./gpus";
import { MODELS } from "./models";
import type { GpuSpec, ModelSpec } from "./types";

export * from "./types";
export { GPUS } from "./gpus";
export { MODELS } from "./models";
export { nearestIds } from "./suggest";

export const GPU_IDS: readonly string[] = GPUS.map((g) => g.id);
export const MODEL_IDS: readonly string[] = MODELS.map((m) => m.id);

export function findGpu(id: string): GpuSpec | undefined {
  return GPUS.find((g) => g.id === id);
}

export function findModel(id: string): ModelSpec | undefined {
  return MODELS.find((m) => m.id === id);
}

export function requireGpu(id: string): GpuSpec {
  const gpu = findGpu(id);
  if (!gpu) throw new Error(`unknown GPU id "${id}"`);
  return gpu;
}

export function requireModel(id: string): ModelSpec {
  const model = findModel(id);
  if (!model) throw new Error(`unknown model id "${id}"`);
  return model;
}
