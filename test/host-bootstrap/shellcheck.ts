import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { renderScript } from "../../core/render/script";

/**
 * shellcheck output (empty when clean) for scripts as they run: rendered, with the shared
 * helpers inlined, so a finding in a helper is reported in context and nothing is missed.
 * Files without an include are checked as they are.
 */
export function shellcheckRendered(files: readonly string[]): string {
  const version = spawnSync("shellcheck", ["--version"], { encoding: "utf8" });
  if (version.error || version.status !== 0) throw new Error("shellcheck is not installed: run scripts/install-shellcheck.sh");
  const dir = mkdtempSync(path.join(tmpdir(), "hi-shellcheck-"));
  try {
    const rendered = files.map((f) => {
      const target = path.join(dir, `${path.basename(path.dirname(f))}--${path.basename(f)}`);
      writeFileSync(target, renderScript(f));
      return target;
    });
    const r = spawnSync("shellcheck", ["-x", "-S", "style", "-s", "bash", ...rendered], { encoding: "utf8" });
    return r.stdout + r.stderr + (r.status === 0 ? "" : `\n(shellcheck exit ${String(r.status)})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
