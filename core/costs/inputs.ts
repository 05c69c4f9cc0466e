/** Parsing of what people type: token counts like `50M`, model ids like `qwen2.5-7b`. */
import { MODEL_IDS, nearestIds } from "../catalog";

const SUFFIX: Readonly<Record<string, number>> = { "": 1, k: 1e3, m: 1e6, b: 1e9, g: 1e9, t: 1e12 };

/**
 * `50M` -> 50,000,000; `2.5B`, `800k`, `1_000_000`, `3e9` also work. Suffixes are decimal
 * (k = 1e3, M = 1e6, B or G = 1e9, T = 1e12), case-insensitive. Throws on anything else.
 */
export function parseTokenCount(text: string): number {
  const m = /^\s*(\d[\d_,]*(?:\.\d+)?(?:e\d+)?)\s*([kmbgt]?)\s*(?:tokens?)?\s*$/i.exec(text);
  if (!m) throw new Error(`"${text}" is not a token count: write e.g. 800k, 50M or 2.5B`);
  const value = Number(m[1]!.replace(/[_,]/g, "")) * SUFFIX[m[2]!.toLowerCase()]!;
  if (!Number.isFinite(value)) throw new Error(`"${text}" is not a finite token count`);
  return value;
}

export type ModelLookup =
  | { readonly ok: true; readonly id: string }
  | { readonly ok: false; readonly message: string; readonly suggestions: readonly string[] };

/**
 * A catalog model id from an id, or a prefix of one that ends at a `-` boundary
 * (`qwen2.5-7b` -> `qwen2.5-7b-instruct`, `mistral-small` -> `mistral-small-24b-instruct`);
 * case and `_`/spaces for `-` are forgiven. Ambiguous prefixes list every match.
 */
export function resolveModelId(typed: string, ids: readonly string[] = MODEL_IDS): ModelLookup {
  const needle = typed.trim().toLowerCase().replace(/[\s_]+/g, "-");
  if (ids.includes(needle)) return { ok: true, id: needle };
  const matches = ids.filter((id) => id.startsWith(`${needle}-`));
  if (matches.length === 1) return { ok: true, id: matches[0]! };
  if (matches.length > 1) return { ok: false, message: `model "${typed}" is ambiguous: it could be ${matches.join(", ")}`, suggestions: matches };
  const suggestions = nearestIds(needle, ids, 3);
  return { ok: false, message: `unknown model "${typed}"; nearest catalog ids: ${suggestions.join(", ")}`, suggestions };
}
