/**
 * YAML syntax errors in plain words: what is wrong, where (line and column), the offending line
 * with a caret under the spot, and how to fix it. The `yaml` parser's own messages name its
 * grammar ("Nested mappings are not allowed in compact mappings") and point where it gave up,
 * which for an unclosed bracket or quote is the end of the file; here the error points at the
 * bracket or quote that was never closed. Codes: yaml 2.x `ErrorCode` (dist/errors.d.ts).
 */

/**
 * Where each line of a text starts. Computed here rather than taken from the parser's
 * LineCounter, which only learns the line breaks it lexed (none inside a quoted value that never
 * closes, for one).
 */
export class Lines {
  readonly lineStarts: readonly number[];
  constructor(text: string) {
    const starts = [0];
    for (let i = 0; i < text.length; i++) if (text[i] === "\n") starts.push(i + 1);
    this.lineStarts = starts;
  }

  /** Line and column (1-based) of an offset. */
  linePos(offset: number): { line: number; col: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.lineStarts[lo]! + 1 };
  }
}

type LineCounter = Lines;

export interface YamlProblem {
  readonly line: number;
  readonly col: number;
  readonly message: string;
  readonly fix: string;
  /** The line with its number and a caret under the column. */
  readonly excerpt: string;
}

interface ParserError {
  readonly code: string;
  readonly message: string;
  readonly pos: readonly [number, number];
}

/** Line and column (1-based) of an offset. */
function at(lc: LineCounter, offset: number): { line: number; col: number } {
  return lc.linePos(offset);
}

function lineText(text: string, lc: LineCounter, line: number): string {
  const start = lc.lineStarts[line - 1] ?? text.length;
  const end = lc.lineStarts[line] ?? text.length;
  return text.slice(start, end).replace(/\r?\n$/, "").replace(/\r/g, "");
}

/** `  12 | text` and a caret line under column `col`; long lines cut around the column. */
export function excerptAt(text: string, lc: LineCounter, line: number, col: number): string {
  let shown = lineText(text, lc, line).replace(/\t/g, "→");
  let caret = col - 1;
  if (shown.length > 100) {
    const from = Math.max(0, Math.min(caret - 50, shown.length - 100));
    shown = `${from > 0 ? "…" : ""}${shown.slice(from, from + 100)}${from + 100 < shown.length ? "…" : ""}`;
    caret = caret - from + (from > 0 ? 1 : 0);
  }
  const n = String(line);
  return `${n.padStart(4)} | ${shown}\n${" ".repeat(Math.max(4, n.length))} | ${" ".repeat(Math.max(0, caret))}^`;
}

/** The last line at or before `offset` that is not blank (the parser points past the end for what is left open). */
function lastContentBefore(text: string, lc: LineCounter, offset: number): number {
  let { line } = at(lc, Math.min(offset, text.length));
  while (line > 1 && lineText(text, lc, line).trim() === "") line--;
  return line;
}

/** Offset of the bracket `open` left unclosed before `offset`, skipping quoted text and comments; -1 if none. */
function unclosedBracket(text: string, offset: number, open: "[" | "{"): number {
  const close = open === "[" ? "]" : "}";
  const stack: number[] = [];
  let quote: string | null = null;
  for (let i = 0; i < Math.min(offset, text.length); i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]!))) while (i < text.length && text[i] !== "\n") i++;
    else if (c === open) stack.push(i);
    else if (c === close) stack.pop();
  }
  return stack.length > 0 ? stack[stack.length - 1]! : -1;
}

/** Offset of the quote character that opens a string never closed before `offset`; -1 if none. */
function unclosedQuote(text: string, offset: number, quote: '"' | "'"): number {
  let open = -1;
  for (let i = 0; i < Math.min(offset, text.length); i++) {
    const c = text[i]!;
    if (open < 0 && c === "#" && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    if (c !== quote) continue;
    if (open >= 0 && quote === '"' && text[i - 1] === "\\") continue;
    if (open >= 0 && quote === "'" && text[i + 1] === "'") {
      i++;
      continue;
    }
    open = open >= 0 ? -1 : i;
  }
  return open;
}

/** The key written on a line (`  name: x` -> `name`), if any. */
function keyOn(line: string): string | undefined {
  return /^\s*(?:-\s+)?("[^"]*"|'[^']*'|[^\s#].*?)\s*:(?:\s|$)/.exec(line)?.[1];
}

function problem(text: string, lc: LineCounter, offset: number, message: string, fix: string): YamlProblem {
  const { line, col } = at(lc, offset);
  return { line, col, message: `line ${line}, column ${col}: ${message}`, fix, excerpt: excerptAt(text, lc, line, col) };
}

/** The first parser error of `text`, in plain words. */
export function explainYamlError(text: string, lc: LineCounter, e: ParserError): YamlProblem {
  const offset = e.pos[0];
  switch (e.code) {
    case "TAB_AS_INDENT":
      return problem(text, lc, offset, "a tab is used to indent; YAML indents with spaces only", "replace the tab with spaces");
    case "DUPLICATE_KEY": {
      const { line } = at(lc, offset);
      const key = keyOn(lineText(text, lc, line)) ?? "this key";
      const indent = /^\s*/.exec(lineText(text, lc, line))![0].length;
      let first: number | undefined;
      for (let l = line - 1; l >= 1 && first === undefined; l--) {
        const t = lineText(text, lc, l);
        if (keyOn(t) === key && /^\s*/.exec(t)![0].length === indent) first = l;
      }
      return problem(text, lc, offset, `the key ${key} appears twice in the same map${first !== undefined ? ` (first on line ${first})` : ""}`,
        "keep one of them: the second does not override the first, it is an error");
    }
    case "BLOCK_AS_IMPLICIT_KEY": {
      const { line, col } = at(lc, offset);
      const rest = lineText(text, lc, line).slice(col - 1);
      return rest.includes(": ")
        ? problem(text, lc, offset, "this value contains ': ' (a colon and a space), which YAML reads as the start of another key",
          "put the value in quotes, e.g. 'a: b'")
        : problem(text, lc, offset, `line ${line + 1} is indented deeper than line ${line}, so YAML reads it as part of line ${line}'s value`,
          `line up line ${line + 1} with the key above it (the same number of spaces)`);
    }
    case "MULTILINE_IMPLICIT_KEY":
      return problem(text, lc, offset, "this line has no ': ' after its key, so YAML reads it and the next line as one long key",
        "end the key with a colon (key:) and indent what belongs under it by two more spaces");
    case "BAD_INDENT": {
      const flow = /^Flow (sequence|map)/.exec(e.message);
      if (flow) {
        const open = flow[1] === "sequence" ? "[" : "{";
        const start = unclosedBracket(text, offset, open);
        const what = flow[1] === "sequence" ? "list" : "map";
        if (start >= 0) {
          return problem(text, lc, start, `the ${what} opened with ${open} here is never closed with ${open === "[" ? "]" : "}"}`,
            `close it on the same line, or write the ${what} one ${what === "list" ? "`- item`" : "`key: value`"} per line, indented under its key`);
        }
      }
      if (/same column/.test(e.message)) {
        const { line } = at(lc, offset);
        const own = /^\s*/.exec(lineText(text, lc, line))![0].length;
        let above: number | undefined;
        for (let l = line - 1; l >= 1 && above === undefined; l--) {
          const m = /^(\s*)(-\s+)?\S/.exec(lineText(text, lc, l));
          if (m) above = m[1]!.length + (m[2]?.length ?? 0);
        }
        const start = (lc.lineStarts[line - 1] ?? offset) + own;
        return problem(text, lc, start, `this key starts at column ${own + 1}, but the keys of the map above start at column ${(above ?? 0) + 1}`,
          "indent it with the same number of spaces as the keys it belongs with");
      }
      return problem(text, lc, offset, "the indentation is wrong here", "indent each key under its parent by two spaces, with spaces only");
    }
    case "MISSING_CHAR": {
      const quote = /closing "quote/.test(e.message) ? '"' : /closing 'quote/.test(e.message) ? "'" : undefined;
      if (quote) {
        const start = unclosedQuote(text, offset, quote);
        if (start >= 0) return problem(text, lc, start, `the text quoted with ${quote} here is never closed`, `add the closing ${quote}`);
      }
      return problem(text, lc, Math.min(offset, lc.lineStarts[lastContentBefore(text, lc, offset)] ?? offset), `something is left open: ${e.message.toLowerCase()}`, "close what the message names");
    }
    case "BAD_SCALAR_START": {
      const c = text[offset] ?? "";
      return problem(text, lc, offset, `a value cannot start with ${c} unless it is quoted`, `put the value in quotes, e.g. '${c}...'`);
    }
    case "BAD_DQ_ESCAPE":
      return problem(text, lc, offset, "a backslash inside double quotes starts an escape YAML does not know", "use single quotes, or write the backslash twice (\\\\)");
    case "MULTIPLE_DOCS":
      return problem(text, lc, offset, "the file holds a second YAML document (a line of ---)", "keep one document: remove the --- line and what follows, or merge it into the first");
    case "BLOCK_IN_FLOW":
      return problem(text, lc, offset, "a `- item` list or a `key: value` line cannot stand inside [ ] or { }", "inside brackets, separate items with commas: [a, b] or { key: value, other: value }");
    case "UNEXPECTED_TOKEN":
      return problem(text, lc, offset, "YAML did not expect this character here", "check the brackets, quotes and indentation around it");
    case "MULTIPLE_ANCHORS":
    case "MULTIPLE_TAGS":
    case "BAD_PROP_ORDER":
    case "ALIAS_PROPS":
      return problem(text, lc, offset, "a value carries two anchors (&name) or tags (!tag), or an alias (*name) carries one", "keep one anchor or tag per value, and none on an alias");
    case "BAD_ALIAS":
      return problem(text, lc, offset, "this alias (*name) is not written as YAML expects", "write an alias as *name, after an anchor &name");
    case "BAD_DIRECTIVE":
      return problem(text, lc, offset, "a % directive line YAML does not know", "remove the % line");
    case "KEY_OVER_1024_CHARS":
      return problem(text, lc, offset, "a key longer than 1024 characters", "shorten the key, or put its text on the value side");
    case "NON_STRING_KEY":
    case "BAD_COLLECTION_TYPE":
      return problem(text, lc, offset, "a key here is a list or a map, not a name", "write keys as plain names");
    case "TAG_RESOLVE_FAILED":
      return problem(text, lc, offset, "a !tag here names a type YAML does not know", "remove the !tag");
    case "RESOURCE_EXHAUSTION":
      return problem(text, lc, offset, "aliases here expand into more data than a stack file can hold", "write the values out instead of nesting aliases");
    default:
      return problem(text, lc, Math.min(offset, text.length), "YAML cannot read the text here", "check the brackets, quotes and indentation around the spot shown");
  }
}
