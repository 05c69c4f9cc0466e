/**
 * Serializes pipeline data to YAML with comments attached to keys, so the rendered files
 * explain themselves without any template text.
 */
import { Document, isMap, isScalar } from "yaml";

export interface KeyComment {
  /** Path of map keys from the document root to the key the comment goes above. */
  readonly path: readonly string[];
  /** One or more lines, without the leading `#`. */
  readonly text: string;
}

function asCommentLines(text: string): string {
  return text.split("\n").map((l) => (l.length > 0 ? ` ${l}` : "")).join("\n");
}

export function toYaml(data: unknown, header: string, comments: readonly KeyComment[] = []): string {
  const doc = new Document(data);
  doc.commentBefore = asCommentLines(header);
  for (const c of comments) {
    const parent = c.path.length === 1 ? doc.contents : doc.getIn(c.path.slice(0, -1), true);
    if (!isMap(parent)) throw new Error(`no map at ${c.path.slice(0, -1).join(".")}`);
    const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === c.path[c.path.length - 1]);
    if (!pair || !isScalar(pair.key)) throw new Error(`no key at ${c.path.join(".")}`);
    pair.key.commentBefore = asCommentLines(c.text);
  }
  // lineWidth 0: never fold long lines (shell scripts and expressions stay as written).
  return doc.toString({ lineWidth: 0 });
}
