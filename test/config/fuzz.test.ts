import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { ConfigIssue } from "../../core/config/issues";
import { StackFileError, parseStackYaml } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import { validValues } from "../fixtures";

/** Loads a stack file's text the way `plan` does; returns the issues, never throws. */
function load(text: string): { ok: boolean; issues: readonly ConfigIssue[] } {
  try {
    const raw = parseStackYaml(text, "fuzz");
    const { plan, issues } = loadPlan(raw);
    return { ok: plan !== undefined, issues };
  } catch (e) {
    if (e instanceof StackFileError) return { ok: false, issues: [e.issue] };
    throw e;
  }
}

function expectClear(issues: readonly ConfigIssue[]): void {
  for (const i of issues) {
    expect(i.path.length).toBeGreaterThan(0);
    expect(i.message.length).toBeGreaterThan(0);
    expect(i.fix.length).toBeGreaterThan(0);
    expect(`${i.message} ${i.fix}`).not.toMatch(/\n\s+at |TypeError|undefined is not|Cannot read prop/);
  }
}

/** Any JSON-like value, nested a little. */
const anyValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 12 }), tie("value"), { maxKeys: 3 }),
  ),
})).value;

describe("stack-file loader under random input", () => {
  it("never throws on random text; a failure is a clear error list", () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (text) => {
      const r = load(text);
      if (!r.ok) expect(r.issues.some((i) => i.severity === "error")).toBe(true);
      expectClear(r.issues);
    }), { numRuns: 500 });
  });

  it("never throws on random YAML documents", () => {
    fc.assert(fc.property(anyValue, (doc) => {
      const r = load(stringify({ config: doc }));
      expectClear(r.issues);
    }), { numRuns: 500 });
  });

  it("never throws when any one field of a valid stack holds a random value", () => {
    // Every path in a valid stack, down to list elements' fields.
    const base = validValues();
    const paths: (string | number)[][] = [];
    const walk = (v: unknown, at: (string | number)[]) => {
      paths.push(at);
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...at, i]));
      else if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) walk(x, [...at, k]);
    };
    walk(base, []);
    fc.assert(fc.property(fc.constantFrom(...paths.filter((p) => p.length > 0)), anyValue, (path, value) => {
      const doc = structuredClone(base) as Record<string, unknown>;
      let cursor: Record<string | number, unknown> = doc;
      for (const key of path.slice(0, -1)) cursor = cursor[key] as Record<string | number, unknown>;
      cursor[path[path.length - 1]!] = value;
      const config = Object.fromEntries(Object.entries(doc).map(([k, v]) => [`hybrid-inference:${k}`, v]));
      const r = load(stringify({ config }));
      expectClear(r.issues);
    }), { numRuns: 1500 });
  });

  it("says where the YAML is broken: the bracket left open, not the end of the file", () => {
    const r = load("config:\n  hybrid-inference:hosts: [unclosed\n");
    expect(r.ok).toBe(false);
    expect(r.issues[0]?.path).toBe("Pulumi.fuzz.yaml");
    expect(r.issues[0]?.message).toBe("is not valid YAML at line 2, column 27: the list opened with [ here is never closed with ]");
    expect(r.issues[0]?.excerpt).toBe("   2 |   hybrid-inference:hosts: [unclosed\n     |                           ^");
  });

  it("explains every YAML error of random text with a line and a non-empty excerpt", () => {
    fc.assert(fc.property(fc.string({ maxLength: 200, unit: fc.constantFrom("a", ":", " ", "\n", "\t", "-", "[", "]", "{", "}", "\"", "'", "#", "&", "*", "@", "|", ">") }), (text) => {
      const r = load(`config:\n  ${text}`);
      const yaml = r.issues.find((i) => i.message.startsWith("is not valid YAML"));
      if (!yaml || !yaml.message.startsWith("is not valid YAML at line")) return;
      expect(yaml.excerpt).toMatch(/^ *\d+ \| .*\n *\| *\^$/);
      expect(yaml.message).not.toMatch(/compact mappings|implicit keys|block collection/i);
    }), { numRuns: 1000, seed: 7 });
  });
});
