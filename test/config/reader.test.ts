/**
 * One reader for both paths: the offline `plan` reads a stack file into exactly what the
 * program gets under `pulumi up`, where the engine hands every key over as a string (a string
 * as is, anything else as JSON). A stack written with `pulumi config set` (quoted top-level
 * scalars) plans the same as the shipped file.
 */
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { engineConfigString, fromPulumiConfigMap, parseStackYaml } from "../../core/config/source";
import { loadPlan } from "../../core/load";

const STACKS = path.join(__dirname, "..", "..", "stacks");
const shipped = readdirSync(STACKS).flatMap((f) => {
  const m = /^Pulumi\.(.+)\.yaml$/.exec(f);
  return m ? [{ stack: m[1]!, text: readFileSync(path.join(STACKS, f), "utf8") }] : [];
});

/** The stack file as `pulumi config set` writes top-level keys: every scalar quoted. */
function asConfigSet(text: string): string {
  const doc = parse(text) as { config: Record<string, unknown> };
  const config = Object.fromEntries(Object.entries(doc.config).map(([k, v]) =>
    [k, typeof v === "object" && v !== null ? v : String(v)]));
  return stringify({ config });
}

/** What the engine hands the program for a stack file (secrets decrypted to a stand-in). */
function engineView(stack: string, text: string) {
  const doc = parse(text) as { config: Record<string, unknown> };
  const all: Record<string, string> = {};
  const secret = new Set<string>();
  for (const [k, v] of Object.entries(doc.config)) {
    if (typeof v === "object" && v !== null && "secure" in v) {
      all[k] = "decrypted-value";
      secret.add(k);
    } else all[k] = engineConfigString(v);
  }
  return fromPulumiConfigMap(stack, all, (k) => secret.has(k));
}

describe("the stack-file reader", () => {
  it.each(shipped)("reads stack $stack as the engine hands it to the program, and plans it the same", ({ stack, text }) => {
    const offline = parseStackYaml(text, stack);
    const engine = engineView(stack, text);
    expect(offline).toEqual(engine);
    expect(loadPlan(offline).plan).toEqual(loadPlan(engine).plan);
    expect(loadPlan(offline).plan).toBeDefined();
  });

  it.each(shipped)("plans stack $stack the same when its top-level scalars are quoted, as `pulumi config set` writes them", ({ stack, text }) => {
    const quoted = asConfigSet(text);
    expect(quoted).not.toBe(text);
    expect(loadPlan(parseStackYaml(quoted, stack)).plan).toEqual(loadPlan(parseStackYaml(text, stack)).plan);
  });

  it("reads workloads: \"false\" (config-set form) as false in the offline plan too", () => {
    const text = readFileSync(path.join(STACKS, "Pulumi.dev.yaml"), "utf8").replace("config:\n", 'config:\n  hybrid-inference:workloads: "false"\n');
    const raw = parseStackYaml(text, "dev");
    expect(raw.values["workloads"]).toBe(false);
    expect(loadPlan(raw).plan?.spec.workloads).toBe(false);
  });

  it("keeps nested values' types: a quoted number inside a map is still a string, and is refused with its type", () => {
    const text = readFileSync(path.join(STACKS, "Pulumi.dev.yaml"), "utf8").replace("max_num_seqs: 64", 'max_num_seqs: "64"');
    const { issues } = loadPlan(parseStackYaml(text, "dev"));
    expect(issues.find((i) => i.path === "hybrid-inference:engine.max_num_seqs")?.message).toBe('must be a number, got the text "64"');
    expect(issues.find((i) => i.path === "hybrid-inference:engine.max_num_seqs")?.fix).toBe("write 64 without quotes: quoted, YAML reads it as text");
  });
});
