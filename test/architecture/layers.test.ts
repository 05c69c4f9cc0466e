/**
 * The shape DESIGN.md promises: a pure planning core in layers that only import downwards,
 * with no cycle, and no Pulumi in it (the components are the thin shell around it).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const CORE = path.resolve(__dirname, "..", "..", "core");

/** Each folder of core/ and the folders it may import from (besides itself). */
const LAYERS: Readonly<Record<string, readonly string[]>> = {
  catalog: [],
  net: [],
  gitops: [],
  config: ["catalog", "net"],
  plan: ["catalog", "config", "net"],
  render: ["catalog", "config", "net", "plan"],
  costs: ["catalog", "config", "net", "plan"],
  report: ["catalog", "config", "costs", "plan"],
  calibrate: ["catalog", "config", "net", "plan", "render"],
  review: ["catalog", "config", "costs", "net", "plan", "render", "report"],
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Module specifiers of every import and re-export, type-only ones included. */
function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)].map((m) => m[1]!);
}

const files = tsFiles(CORE);
const layerOf = (file: string): string => path.relative(CORE, file).split(path.sep)[0]!.replace(/\.ts$/, "");

describe("core/ layering", () => {
  it("has a rule for every folder of core/", () => {
    const folders = new Set(files.map(layerOf).filter((l) => statSync(path.join(CORE, l), { throwIfNoEntry: false })?.isDirectory()));
    expect([...folders].sort()).toEqual(Object.keys(LAYERS).sort());
  });

  it("imports nothing from Pulumi: the planning core runs without an engine", () => {
    const offenders = files.filter((f) => imports(f).some((m) => m.startsWith("@pulumi/")));
    expect(offenders.map((f) => path.relative(CORE, f))).toEqual([]);
  });

  it("only imports downwards", () => {
    const upward: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      const allowed = LAYERS[from];
      if (!allowed) continue; // load.ts and versions.json sit on top of every layer
      for (const m of imports(file).filter((x) => x.startsWith("."))) {
        const target = path.resolve(path.dirname(file), m);
        if (!target.startsWith(CORE)) {
          upward.push(`${path.relative(CORE, file)} -> ${m} (outside core/)`);
          continue;
        }
        const to = layerOf(target);
        if (to !== from && to !== "versions.json" && !allowed.includes(to)) upward.push(`${path.relative(CORE, file)} (${from}) -> ${m} (${to})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("has no import cycle between its modules", () => {
    const resolve = (file: string, m: string): string | undefined => {
      const base = path.resolve(path.dirname(file), m);
      return [`${base}.ts`, path.join(base, "index.ts")].find((p) => files.includes(p));
    };
    const graph = new Map(files.map((f) => [f, imports(f).filter((m) => m.startsWith(".")).flatMap((m) => resolve(f, m) ?? [])]));
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (f: string, trail: string[]): void => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "visiting") {
        cycles.push([...trail.slice(trail.indexOf(f)), f].map((x) => path.relative(CORE, x)).join(" -> "));
        return;
      }
      state.set(f, "visiting");
      for (const next of graph.get(f) ?? []) visit(next, [...trail, f]);
      state.set(f, "done");
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
