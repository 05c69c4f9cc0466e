/**
 * Secret values in the kubernetes target's manifests: what a review file shows in their place,
 * and how the component (or a test) swaps in the real values.
 */
import type { SecretSource } from "../containers";
import type { Manifest } from "./types";

/** What a review file shows in place of a secret value. */
export function describeSecret(source: SecretSource): string {
  switch (source.kind) {
    case "config":
      return `[secret: Pulumi config ${source.configKey}]`;
    case "engine-api-key":
      return "[secret: generated engine API key]";
    case "router-master-key":
      return "[secret: generated router master key]";
    default: {
      const unreachable: never = source;
      throw new Error(`unknown secret source ${JSON.stringify(unreachable)}`);
    }
  }
}

/** A manifest with every secret value replaced by `resolve(source)`. */
export function resolveSecrets<V>(m: Manifest<SecretSource>, resolve: (s: SecretSource) => V): Manifest<V> {
  if (m.kind !== "Secret") return m;
  return { ...m, stringData: Object.fromEntries(Object.entries(m.stringData).map(([k, v]) => [k, resolve(v)])) };
}
