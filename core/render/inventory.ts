/** What the host's verify step found, parsed from its `HI_GPU_INVENTORY=<json>` line. */
export interface GpuInventory {
  readonly gpus: readonly { readonly name: string; readonly memoryMiB: number }[];
  readonly driverVersion: string;
  readonly cudaVersion: string;
}

export function parseInventory(stdout: string, hostName: string): GpuInventory {
  const line = /^HI_GPU_INVENTORY=(.+)$/m.exec(stdout)?.[1];
  if (!line) {
    throw new Error(`host "${hostName}": the verify-gpus step printed no HI_GPU_INVENTORY line; its output was:\n${stdout.slice(-2000)}`);
  }
  const parsed: unknown = JSON.parse(line);
  if (!isInventory(parsed)) throw new Error(`host "${hostName}": malformed HI_GPU_INVENTORY line: ${line}`);
  return parsed;
}

function isInventory(v: unknown): v is GpuInventory {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return Array.isArray(o["gpus"]) && typeof o["driverVersion"] === "string" && typeof o["cudaVersion"] === "string"
    && o["gpus"].every((g: unknown) => typeof g === "object" && g !== null
      && typeof (g as Record<string, unknown>)["name"] === "string" && typeof (g as Record<string, unknown>)["memoryMiB"] === "number");
}
