/**
 * CI must not skip silently. Tests that need a built tool (the Pulumi CLI and plugins, the
 * Kubernetes control plane, Prometheus) skip with the reason on a machine without it, and fail
 * instead when a variable says the tool must be there: HI_REQUIRE_ENGINE, HI_REQUIRE_KUBE, and
 * CI for the monitoring tools. `.ci/run` builds all of them, so it must set every such
 * variable; a new one added to a test and forgotten there would turn a broken build in CI into
 * a row of skips.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..", "..");

function testSources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) return f === "node_modules" || f === "fixtures" ? [] : testSources(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

/** Every variable a test reads to turn "skip" into "fail". */
function requireSwitches(): Map<string, string[]> {
  const switches = new Map<string, string[]>();
  for (const file of testSources(path.join(ROOT, "test"))) {
    if (file === __filename) continue;
    // process.env["X"], process.env['X'] and process.env.X alike.
    for (const m of readFileSync(file, "utf8").matchAll(/process\.env(?:\[["'](HI_REQUIRE_[A-Z_]+|CI)["']\]|\.(HI_REQUIRE_[A-Z_]+|CI)\b)/g)) {
      const name = m[1] ?? m[2] ?? "";
      switches.set(name, [...(switches.get(name) ?? []), path.relative(ROOT, file)]);
    }
  }
  return switches;
}

/** `export NAME=value` lines of .ci/run. */
function ciExports(): Map<string, string> {
  const text = readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
  return new Map([...text.matchAll(/^export ([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1] ?? "", m[2] ?? ""]));
}

describe("CI turns every tool-gated skip into a failure", () => {
  it("finds the switches the tests read today", () => {
    // Guards the scan itself: were the regex to stop matching, the next test would pass vacuously.
    expect([...requireSwitches().keys()].sort()).toEqual(expect.arrayContaining(["CI", "HI_REQUIRE_ENGINE", "HI_REQUIRE_KUBE"]));
  });

  it(".ci/run exports each of them (HI_REQUIRE_* as 1, which is what the tests compare with)", () => {
    const exported = ciExports();
    const unset = [...requireSwitches()].flatMap(([name, files]) => {
      const value = exported.get(name);
      // The monitoring tests take any non-empty CI as set; the HI_REQUIRE_* checks compare with "1".
      const wanted = name === "CI" ? "a non-empty value" : "1";
      const ok = name === "CI" ? value !== undefined && value !== "" : value === "1";
      return ok ? [] : [`${name} (read by ${files.join(", ")}) is not exported by .ci/run as ${wanted}${value === undefined ? "" : ` (it is ${value})`}: add 'export ${name}=${name === "CI" ? "true" : "1"}'`];
    });
    expect(unset).toEqual([]);
  });
});
