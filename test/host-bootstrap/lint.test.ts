import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { BOOTSTRAP_STEPS, OPTIONAL_STEPS } from "../../core/render/host-bootstrap";
import { renderScript } from "../../core/render/script";
import { TEMPLATES } from "./harness";
import { shellcheckRendered } from "./shellcheck";

const scripts = readdirSync(TEMPLATES)
  .filter((f) => f.endsWith(".sh"))
  .sort();
const stepScripts = scripts.filter((f) => f !== "run-all.sh");
/** The script as it runs: the shared helpers inlined. */
const text = (f: string): string => renderScript(path.join(TEMPLATES, f));
const source = (f: string): string => readFileSync(path.join(TEMPLATES, f), "utf8");

describe("shellcheck", () => {
  it("passes at the strictest severity (-S style) on every script in templates/ and scripts/", () => {
    const root = path.join(TEMPLATES, "..", "..");
    const others = ["templates/local", "templates/engine", "templates/lib", "scripts", ".ci"].flatMap((d) =>
      readdirSync(path.join(root, d)).filter((f) => f.endsWith(".sh") || f === "run").map((f) => path.join(root, d, f)));
    expect(shellcheckRendered([...scripts.map((f) => path.join(TEMPLATES, f)), ...others])).toBe("");
  });
});

describe("script conventions", () => {
  it("has one script per bootstrap step (the optional ones included), plus run-all.sh", () => {
    expect(stepScripts).toEqual([...BOOTSTRAP_STEPS, ...OPTIONAL_STEPS].map((s) => `${s}.sh`).sort());
    expect(scripts).toContain("run-all.sh");
  });

  it("run-all.sh runs the steps in the renderer's order", () => {
    const m = /readonly STEPS=\(([^)]*)\)/.exec(text("run-all.sh"));
    expect(m?.[1]?.trim().split(/\s+/)).toEqual([...BOOTSTRAP_STEPS]);
  });

  it.each(scripts)("%s: strict mode, its step name, stdin guarded", (f) => {
    const s = text(f);
    expect(s.startsWith("#!/usr/bin/env bash\n")).toBe(true);
    expect(s).toMatch(/^set -euo pipefail$/m);
    expect(s).toMatch(new RegExp(`^STEP=${f.replace(/\.sh$/, "")}$`, "m"));
    // Under `bash -s` the script is stdin: main must not let children read it.
    expect(s.trimEnd().endsWith('main "$@" </dev/null')).toBe(true);
  });

  it("takes the shared helpers from templates/lib/common.sh, once, after setting STEP", () => {
    for (const f of scripts) {
      const s = source(f);
      expect(s.match(/^# @include common\.sh\b/gm), f).toHaveLength(1);
      expect(s.indexOf("\nSTEP="), f).toBeLessThan(s.indexOf("# @include common.sh"));
      expect(text(f), f).toContain("# ---- common helpers: begin (inlined from templates/lib/common.sh) ----");
    }
  });

  it.each(scripts)("%s: documents every HI_* variable it reads in its header comment", (f) => {
    const s = text(f);
    const header = s.slice(0, s.indexOf("\nSTEP="));
    const body = s.slice(s.indexOf("\nSTEP="));
    const used = new Set(body.match(/\bHI_[A-Z_]+\b/g) ?? []);
    // Names the script prints (HI_REBOOT_REQUIRED=1 …) are outputs, documented as such.
    for (const name of used) expect(header, `${f} header should document ${name}`).toContain(name);
  });

  it.each(scripts)("%s: prefixes absolute paths it touches with $ROOT", (f) => {
    // Heuristic: a quoted or redirected absolute path under a system directory, outside a
    // comment, a readonly constant or a here-doc body written *into* a file, must follow $ROOT.
    const offenders = text(f)
      .split("\n")
      .map((line, i) => ({ line, n: i + 1 }))
      .filter(({ line }) => !line.trimStart().startsWith("#") && !line.includes("readonly "))
      .filter(({ line }) => /(?:[<>]\s*|\s-[a-z]\s+|")\/(?:etc|var|usr|proc|sys|opt|run|lib)\//.test(line))
      .filter(({ line }) => !/https?:\/\//.test(line) && !/signed-by=/.test(line) && !line.includes("ExecStart="));
    expect(offenders).toEqual([]);
  });
});
