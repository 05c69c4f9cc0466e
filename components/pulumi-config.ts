import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { type RawStackConfig, fromPulumiConfigMap } from "../core/config/source";

/**
 * The running stack's config as a RawStackConfig. `isConfigSecret` is marked internal in
 * @pulumi/pulumi (runtime/config.js) but is the only way to tell a secret key from a
 * plain one without reading its value; it is wrapped here so one file depends on it.
 */
export function pulumiStackConfig(): RawStackConfig {
  const isSecret = (runtimeConfig as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
  if (typeof isSecret !== "function") {
    throw new Error("this @pulumi/pulumi version has no runtime isConfigSecret; pin a version that has it");
  }
  return fromPulumiConfigMap(pulumi.getStack(), runtimeConfig.allConfig(), isSecret);
}
