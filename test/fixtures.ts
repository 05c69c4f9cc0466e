import type { RawStackConfig } from "../core/config/source";
import { MASKED_SECRET } from "../core/config/source";

/** A valid single-host stack's config values, as a stack file holds them. */
export function validValues(): Record<string, unknown> {
  return {
    environment: "dev",
    residency: "uk",
    hosts: [{ name: "gpu-1", address: "203.0.113.10", datacenter: "uk-london", gpu: "rtx-4090", gpu_count: 1 }],
    model: { id: "qwen2.5-7b-instruct", quantization: "auto" },
    router: { allowed_cidrs: ["198.51.100.0/24"], managed: { provider: "together_ai", api_key_secret: "togetherApiKey" } },
    access: { admin_cidrs: ["198.51.100.0/24"] },
    sshPrivateKey: MASKED_SECRET,
    togetherApiKey: MASKED_SECRET,
  };
}

export const DEFAULT_SECRETS = ["sshPrivateKey", "togetherApiKey"];

export function rawConfig(values: Record<string, unknown>, secrets: readonly string[] = DEFAULT_SECRETS, stack = "test"): RawStackConfig {
  return { stack, values, secretKeys: new Set(secrets) };
}

/** `validValues()` with `patch` merged into its top-level keys. */
export function withValues(patch: Record<string, unknown>): Record<string, unknown> {
  return { ...validValues(), ...patch };
}
