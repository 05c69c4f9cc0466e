/**
 * The `plan` command's output folder, `out/<stack>/`: it only ever removes files it wrote
 * itself. A marker file lists what the last run wrote, for which stack and from which stack
 * file; a rerun deletes exactly those files (stale ones included) and nothing else. A folder
 * without the marker, or with another stack file's marker, is left alone and the run refuses
 * with the reason, before anything is touched.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmdirSync, unlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";

/** Pulumi's stack names: letters, digits, `-`, `_` and `.`, at most 100 characters; not `.` or `..`. */
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

export const MARKER_FILE = ".hybrid-inference-plan.json";

interface Marker {
  readonly writtenBy: "hybrid-inference plan";
  readonly stack: string;
  /** Absolute path of the stack file the plan was made from. */
  readonly stackFile: string;
  /** Paths relative to the folder, as written. */
  readonly files: readonly string[];
}

/** Why `name` cannot be a stack name (and so a folder name under out/), or null. */
export function stackNameProblem(name: string): string | null {
  return STACK_NAME.test(name) ? null : `"${name}" is not a stack name: use letters, digits, '-', '_' and '.', starting with a letter or digit (at most 100 characters)`;
}

/** The stack name a file's name gives (`Pulumi.<stack>.yaml`), or undefined. */
export function stackFromFileName(file: string): string | undefined {
  const name = /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(file))?.[1];
  return name !== undefined && stackNameProblem(name) === null ? name : undefined;
}

export type Preparation = { readonly ok: true } | { readonly ok: false; readonly message: string };

function readMarker(dir: string): Marker | undefined {
  const file = path.join(dir, MARKER_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const m = JSON.parse(readFileSync(file, "utf8")) as Partial<Marker>;
    if (m.writtenBy === "hybrid-inference plan" && typeof m.stack === "string" && typeof m.stackFile === "string" && Array.isArray(m.files)) return m as Marker;
  } catch {
    // An unreadable marker proves nothing: treat the folder as someone else's.
  }
  return undefined;
}

/** True when `rel` names a file strictly inside the folder (no absolute path, no `..`). */
function inside(rel: string): boolean {
  return rel !== "" && !path.isAbsolute(rel) && !rel.split(/[\\/]/).includes("..");
}

/**
 * Makes `dir` ready for a plan of `stack` from `stackFile`: removes the files a previous plan of
 * the same stack file wrote there, and refuses to touch anything else.
 */
export function prepareOutDir(dir: string, stack: string, stackFile: string, force = false): Preparation {
  if (!existsSync(dir)) return { ok: true };
  if (!lstatSync(dir).isDirectory() || lstatSync(dir).isSymbolicLink()) {
    return { ok: false, message: `${dir} exists and is not a folder: choose another --out` };
  }
  const marker = readMarker(dir);
  if (!marker) {
    if (readdirSync(dir).length === 0) return { ok: true };
    return { ok: false, message: `${dir} exists and was not written by \`npm run plan\` (it has no ${MARKER_FILE}); refusing to clear it: choose another --out, or move its contents away` };
  }
  if ((marker.stack !== stack || marker.stackFile !== path.resolve(stackFile)) && !force) {
    return {
      ok: false,
      message: `${dir} holds the plan of stack ${marker.stack} from ${marker.stackFile}; refusing to replace it with stack ${stack} from ${path.resolve(stackFile)}: pass another --out, or --force to replace it`,
    };
  }
  for (const rel of marker.files) {
    if (!inside(rel)) continue;
    const file = path.join(dir, rel);
    if (existsSync(file) && lstatSync(file).isFile()) unlinkSync(file);
  }
  unlinkSync(path.join(dir, MARKER_FILE));
  removeEmptyFolders(dir, marker.files);
  return { ok: true };
}

/** Removes the folders of the files a plan wrote once they are empty (deepest first); never `dir` itself. */
function removeEmptyFolders(dir: string, files: readonly string[]): void {
  const folders = new Set<string>();
  for (const rel of files.filter(inside)) {
    for (let d = path.dirname(rel); d !== "." && d !== ""; d = path.dirname(d)) folders.add(d);
  }
  for (const d of [...folders].sort((a, b) => b.split("/").length - a.split("/").length)) {
    const full = path.join(dir, d);
    if (existsSync(full) && lstatSync(full).isDirectory() && readdirSync(full).length === 0) rmdirSync(full);
  }
}

/** Writes the plan's files into `dir` (prepared with `prepareOutDir`) and the marker that lists them. */
export function writeOutDir(dir: string, stack: string, stackFile: string, files: Readonly<Record<string, string>>): void {
  mkdirSync(dir, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    if (!inside(rel)) throw new Error(`refusing to write ${rel}: not a path inside ${dir}`);
    const target = path.join(dir, rel);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  const marker: Marker = { writtenBy: "hybrid-inference plan", stack, stackFile: path.resolve(stackFile), files: Object.keys(files).sort() };
  writeFileSync(path.join(dir, MARKER_FILE), `${JSON.stringify(marker, null, 2)}\n`);
}
