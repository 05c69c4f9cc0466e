/**
 * Step scripts as they run: each file under templates/ is a real script, but the helpers
 * every step shares live once, in templates/lib/common.sh. A step runs over `bash -s` or
 * from cloud-init and cannot source another file, so its `# @include common.sh` line is
 * replaced by the helpers here, when the script is rendered. What runs, what is hashed into
 * a step's trigger and what the tests lint is this rendered text.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";

const INCLUDE = /^# @include common\.sh\b.*$/m;

/** `templates/` under the repository (or package) root, found by walking up from this file. */
export function templatesRoot(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, "templates");
    if (existsSync(path.join(candidate, "lib", "common.sh"))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`templates/lib/common.sh not found in any parent directory of ${__dirname}`);
    dir = parent;
  }
}

/** The shared helpers without their header comment (its shellcheck directive belongs to the file alone). */
function commonHelpers(): string {
  const lines = readFileSync(path.join(templatesRoot(), "lib", "common.sh"), "utf8").split("\n");
  const firstCode = lines.findIndex((l) => !l.startsWith("#"));
  return [
    "# ---- common helpers: begin (inlined from templates/lib/common.sh) ----",
    ...lines.slice(firstCode).join("\n").trimEnd().split("\n"),
    "# ---- common helpers: end ----",
  ].join("\n");
}

/** Renders the script at `file` (absolute, or relative to templates/): its include replaced by the helpers. */
export function renderScript(file: string): string {
  const text = readFileSync(path.isAbsolute(file) ? file : path.join(templatesRoot(), file), "utf8");
  return INCLUDE.test(text) ? text.replace(INCLUDE, () => commonHelpers()) : text;
}
