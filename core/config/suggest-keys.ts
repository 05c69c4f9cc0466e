/**
 * "Did you mean": the keys a stack file may hold at any path, read off the schema itself, and
 * the nearest of them to a key that is not one.
 */
import { z } from "zod";
import { editDistance } from "../catalog/suggest";

/** The object keys the schema accepts at `path` (list indexes skipped), or [] where it takes no map. */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const objects = objectsAt(schema, path);
  return [...new Set(objects.flatMap((o) => Object.keys(o.shape)))];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
    else return s;
  }
}

function objectsAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodObject[] {
  const s = unwrap(schema);
  if (s instanceof z.ZodDiscriminatedUnion || s instanceof z.ZodUnion) {
    return (s.options as readonly z.ZodType[]).flatMap((o) => objectsAt(o, path));
  }
  if (path.length === 0) return s instanceof z.ZodObject ? [s] : [];
  const [head, ...rest] = path;
  if (s instanceof z.ZodArray) return typeof head === "number" ? objectsAt(s.element as z.ZodType, rest) : [];
  if (s instanceof z.ZodObject && typeof head === "string") {
    const child = (s.shape as Record<string, z.ZodType>)[head];
    return child ? objectsAt(child, rest) : [];
  }
  return [];
}

/**
 * The known key a misspelt one most likely meant: the nearest by edit distance, when it is near
 * enough to be a slip (at most 2 edits, or 40% of its length for longer keys), ignoring case and
 * `-`/`_`; undefined otherwise.
 */
export function nearestKey(typed: string, known: readonly string[]): string | undefined {
  const norm = (k: string) => k.toLowerCase().replace(/-/g, "_");
  const t = norm(typed);
  let best: { key: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(t, norm(k));
    if (!best || d < best.d) best = { key: k, d };
  }
  if (!best) return undefined;
  return best.d <= Math.max(2, Math.floor(t.length * 0.4)) ? best.key : undefined;
}
