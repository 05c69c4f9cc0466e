/**
 * Writes hosts' `measured:` entries into a stack file's text with yaml's Document API, so every
 * comment, key order and quoting style of the file stays as the user wrote it: only the
 * `hybrid-inference:measured` key changes (added before the secrets when it is new, one host's
 * entry replaced when it exists).
 */
import { type Document, type Node, type YAMLMap, isMap, isScalar, parseDocument } from "yaml";
import { PROJECT } from "../config/issues";
import type { HostMeasurementConfig } from "../config/schema";

export const MEASURED_KEY = `${PROJECT}:measured`;

const NEW_KEY_COMMENT = [
  " Written by `npm run calibrate`: capacity measured on the hosts by vLLM itself. It takes",
  " precedence over the capacity model's estimate (README, \"Measuring capacity on your hosts\").",
].join("\n");

function isSecretValue(v: unknown): boolean {
  return isMap(v) && v.has("secure");
}

/** An entry as YAML nodes: short maps and each point on one line, the date quoted (YAML 1.1 readers would make it a timestamp). */
function entryNode(doc: Document, entry: HostMeasurementConfig): Node {
  const node = doc.createNode(entry) as YAMLMap;
  for (const key of ["measured_with", "request_shape"]) {
    const child = node.get(key, true);
    if (isMap(child)) child.flow = true;
  }
  const points = node.get("points", true);
  if (points && "items" in points) for (const p of (points as { items: unknown[] }).items) if (isMap(p)) p.flow = true;
  const date = node.get("measured_on", true);
  if (isScalar(date)) date.type = "QUOTE_DOUBLE";
  return node;
}

/** The stack file's text with `entries` written under `hybrid-inference:measured`, each replacing its host's entry. */
export function writeMeasuredEntries(text: string, entries: readonly { readonly host: string; readonly entry: HostMeasurementConfig }[]): string {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new Error(`the stack file does not parse as YAML: ${doc.errors[0]!.message}`);
  const config = doc.get("config", true);
  if (!isMap(config)) throw new Error("the stack file has no `config:` map");
  const current: unknown = config.get(MEASURED_KEY, true);
  let map: YAMLMap;
  if (isMap(current)) {
    map = current;
  } else {
    map = doc.createNode({}) as YAMLMap;
    const pair = doc.createPair(MEASURED_KEY, map);
    if (isScalar(pair.key)) pair.key.commentBefore = NEW_KEY_COMMENT;
    const existing = config.items.findIndex((p) => isScalar(p.key) && p.key.value === MEASURED_KEY);
    if (existing >= 0) config.items.splice(existing, 1, pair);
    else {
      const firstSecret = config.items.findIndex((p) => isSecretValue(p.value));
      config.items.splice(firstSecret >= 0 ? firstSecret : config.items.length, 0, pair);
    }
  }
  map.flow = false;
  for (const e of entries) map.set(e.host, entryNode(doc, e.entry));
  return doc.toString({ lineWidth: 0 });
}
