/**
 * Where a stack's config comes from. Under `pulumi up` it is Pulumi's config, which the engine
 * hands to the program as one string per key; the offline `plan` command reads
 * `stacks/Pulumi.<stack>.yaml` itself, turns each value into the string the engine would hand
 * over, and decodes it with the same function. So a value reads the same both ways: a quoted
 * `workloads: "false"` (what `pulumi config set` writes for a top-level key) is `false` in both.
 */
import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { type ConfigIssue, PROJECT, error } from "./issues";
import { Lines, excerptAt, explainYamlError } from "./yaml-errors";

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
  const file = `Pulumi.${stack}.yaml`;
  const lc = new Lines(text);
  const parsed = parseDocument(text, { uniqueKeys: true, prettyErrors: false, logLevel: "error" });
  const first = parsed.errors[0];
  if (first) {
    // The first error: later ones are mostly the parser losing its way after it.
    const p = explainYamlError(text, lc, first);
    throw new StackFileError({ ...error(file, `is not valid YAML at ${p.message}`, p.fix), excerpt: p.excerpt });
  }
  let doc: unknown;
  try {
    doc = parsed.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // An alias (*name) without its anchor (&name), or aliases that expand without bound.
    const alias = /alias.*?: (\S+)$/i.exec((e as Error).message)?.[1];
    const offset = alias === undefined ? -1 : text.indexOf(`*${alias}`);
    const where = offset >= 0 ? lc.linePos(offset) : undefined;
    throw new StackFileError({
      ...error(file, `is not valid YAML${where ? ` at line ${where.line}, column ${where.col}` : ""}: ${alias !== undefined ? `the alias *${alias} refers to no anchor &${alias} before it` : (e as Error).message}`,
        "define the anchor (&name) before the alias (*name) uses it, or write the value out"),
      ...(where ? { excerpt: excerptAt(text, lc, where.line, where.col) } : {}),
    });
  }
  if (doc !== null && doc !== undefined && !isRecord(doc)) {
    throw new StackFileError(error(file, "must be a YAML map with a `config:` key", "see stacks/Pulumi.dev.yaml for the shape"));
  }
  if (isRecord(doc) && doc["config"] !== undefined && doc["config"] !== null && !isRecord(doc["config"])) {
    throw new StackFileError(error(`${file}: config`, "must be a map of config keys", "write each key as `hybrid-inference:<key>: <value>` under `config:`"));
  }
  const config = isRecord(doc) && isRecord(doc["config"]) ? doc["config"] : {};
  const asEngine: Record<string, string> = {};
  const secrets = new Set<string>();
  for (const [fullKey, value] of Object.entries(config)) {
    if (isRecord(value) && typeof value["secure"] === "string") {
      asEngine[fullKey] = MASKED_SECRET;
      secrets.add(fullKey);
    } else {
      asEngine[fullKey] = engineConfigString(value);
    }
  }
  return fromPulumiConfigMap(stack, asEngine, (fullKey) => secrets.has(fullKey));
}

/**
 * A stack file's value as the Pulumi engine hands it to the program: a string as it is, any
 * other value (number, boolean, map, list) as its JSON text.
 */
export function engineConfigString(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
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

/**
 * The value a key's string stands for: its JSON reading when it is JSON (`4000`, `false`, a
 * map), else the string itself (`dev`, `uk-london`).
 */
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
