/**
 * Where a stack's config comes from. Under `pulumi up` it is Pulumi's config; the
 * offline `plan` command reads `stacks/Pulumi.<stack>.yaml` itself. Both become the
 * same `RawStackConfig`, so validation cannot differ between the two paths.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { type ConfigIssue, PROJECT, error } from "./issues";

/** A secret as the offline path sees it: present, opaque, never decrypted. */
export const MASKED_SECRET = "[secret]";

export interface RawStackConfig {
  readonly stack: string;
  /** This project's keys without the `hybrid-inference:` prefix; values as YAML gave them. */
  readonly values: Readonly<Record<string, unknown>>;
  /** Keys (without prefix) whose values are Pulumi secrets. */
  readonly secretKeys: ReadonlySet<string>;
}

/** Reads a `Pulumi.<stack>.yaml` file. Secure values are kept as a mask, never decrypted. */
export function readStackFile(path: string, stack: string): RawStackConfig {
  const text = readFileSync(path, "utf8");
  return parseStackYaml(text, stack);
}

/** A stack file that is not YAML of the expected shape; carries the issue to show. */
export class StackFileError extends Error {
  constructor(readonly issue: ConfigIssue) {
    super(`${issue.path}: ${issue.message}`);
    this.name = "StackFileError";
  }
}

export function parseStackYaml(text: string, stack: string): RawStackConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true, uniqueKeys: true, logLevel: "error" });
  } catch (e) {
    const message = (e as Error).message.split("\n")[0] ?? "is not valid YAML";
    throw new StackFileError(error(`Pulumi.${stack}.yaml`, `is not valid YAML: ${message}`, "fix the YAML syntax at the line and column given"));
  }
  if (doc !== null && doc !== undefined && !isRecord(doc)) {
    throw new StackFileError(error(`Pulumi.${stack}.yaml`, "must be a YAML map with a `config:` key", "see stacks/Pulumi.dev.yaml for the shape"));
  }
  if (isRecord(doc) && doc["config"] !== undefined && doc["config"] !== null && !isRecord(doc["config"])) {
    throw new StackFileError(error(`Pulumi.${stack}.yaml: config`, "must be a map of config keys", "write each key as `hybrid-inference:<key>: <value>` under `config:`"));
  }
  const config = isRecord(doc) && isRecord(doc["config"]) ? doc["config"] : {};
  const values: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  for (const [fullKey, value] of Object.entries(config)) {
    const key = stripProject(fullKey);
    if (key === undefined) continue;
    if (isRecord(value) && typeof value["secure"] === "string") {
      values[key] = MASKED_SECRET;
      secretKeys.add(key);
    } else {
      values[key] = value;
    }
  }
  return { stack, values, secretKeys };
}

/**
 * Builds the raw config from Pulumi's runtime config map (`{"hybrid-inference:hosts": "<json>"}`).
 * Structured values arrive JSON-encoded; secrets arrive decrypted, so their values are
 * replaced by the mask here: the planning core never needs a secret's value.
 */
export function fromPulumiConfigMap(
  stack: string,
  all: Readonly<Record<string, string>>,
  isSecret: (fullKey: string) => boolean,
): RawStackConfig {
  const values: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  for (const [fullKey, raw] of Object.entries(all)) {
    const key = stripProject(fullKey);
    if (key === undefined) continue;
    if (isSecret(fullKey)) {
      values[key] = MASKED_SECRET;
      secretKeys.add(key);
      continue;
    }
    values[key] = decodeConfigValue(raw);
  }
  return { stack, values, secretKeys };
}

function decodeConfigValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function stripProject(fullKey: string): string | undefined {
  const prefix = `${PROJECT}:`;
  return fullKey.startsWith(prefix) ? fullKey.slice(prefix.length) : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
