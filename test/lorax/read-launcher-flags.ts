/**
 * Writes core/render/lorax-flags-v0.12.1.json from LoRAX's launcher source: the `Args` struct
 * of launcher/src/main.rs (clap 4 derive, launcher/Cargo.toml) and the `ValueEnum` enums its
 * fields use. Not run by the tests (they read the JSON); run it again when the LoRAX pin moves:
 *
 *   git -C <mirror of predibase/lorax> show v0.12.1:launcher/src/main.rs \
 *     | npx tsx test/lorax/read-launcher-flags.ts v0.12.1 > core/render/lorax-flags-v0.12.1.json
 *
 * How clap 4's derive reads each field (the rules this script applies):
 * - `#[clap(long)]` gives `--<field name in kebab-case>`, `short` gives `-<first letter>`,
 *   `env` a fallback to the env var named like the field in upper case;
 * - `bool` is a switch without a value (ArgAction::SetTrue); `Option<bool>` takes `true` or
 *   `false`; `Vec<T>` may be repeated, one value per occurrence (ArgAction::Append); any
 *   other type takes one value and may be given once;
 * - `value_enum` fields take the enum's variant names in kebab-case, or their
 *   `#[clap(name = "...")]`.
 */
import { readFileSync } from "node:fs";

interface FlagSpec {
  flag: string;
  field: string;
  /** Rust type of the field, e.g. `Option<usize>`. */
  type: string;
  /** Line of the field in main.rs. */
  line: number;
  takesValue: boolean;
  repeatable: boolean;
  short?: string;
  env?: string;
  default?: string;
  values?: string[];
}

function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").replace(/_/g, "-").toLowerCase();
}

/** `enum Name { ... }` variants with their clap names. */
function enumValues(source: string, name: string): string[] | undefined {
  const start = source.indexOf(`enum ${name} {`);
  if (start < 0) return undefined;
  const body = source.slice(start, source.indexOf("\n}", start));
  const values: string[] = [];
  let renamed: string | undefined;
  for (const raw of body.split("\n").slice(1)) {
    const line = raw.trim();
    const rename = /^#\[clap\(name = "([^"]+)"\)\]/.exec(line);
    if (rename) renamed = rename[1];
    const variant = /^([A-Z][A-Za-z0-9_]*),$/.exec(line);
    if (variant) {
      values.push(renamed ?? kebab(variant[1]!));
      renamed = undefined;
    }
  }
  return values;
}

function main(): void {
  const version = process.argv[2];
  if (!version) throw new Error("usage: ... | tsx read-launcher-flags.ts <tag>");
  const source = readFileSync(0, "utf8");
  const lines = source.split("\n");
  const begin = lines.findIndex((l) => /^struct Args \{/.test(l));
  if (begin < 0) throw new Error("no `struct Args {` in the input");
  const flags: FlagSpec[] = [];
  let attrs: string[] = [];
  for (let i = begin + 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "}") break;
    if (line.startsWith("#[clap(")) attrs.push(line.slice("#[clap(".length, line.lastIndexOf(")]")));
    const field = /^([a-z_][a-z0-9_]*):\s*(.+),$/.exec(line);
    if (!field) continue;
    const [, name, type] = field as unknown as [string, string, string];
    const clap = attrs.join(", ");
    attrs = [];
    if (!/\blong\b/.test(clap)) continue;
    const inner = /^(?:Option|Vec)<(.+)>$/.exec(type)?.[1] ?? type;
    const spec: FlagSpec = {
      flag: `--${kebab(name)}`,
      field: name,
      type,
      line: i + 1,
      takesValue: type !== "bool",
      repeatable: type.startsWith("Vec<"),
    };
    if (/\bshort\b/.test(clap)) spec.short = `-${name[0]}`;
    if (/\benv\b/.test(clap)) spec.env = name.toUpperCase();
    const dflt = /default_value = "([^"]*)"/.exec(clap);
    if (dflt) spec.default = dflt[1]!;
    if (/\bvalue_enum\b/.test(clap) && type !== "bool") {
      const values = enumValues(source, inner);
      if (!values) throw new Error(`enum ${inner} of --${kebab(name)} not found`);
      spec.values = values;
    }
    if (type === "Option<bool>") spec.values = ["true", "false"];
    flags.push(spec);
  }
  const out = {
    version,
    source: `predibase/lorax ${version}: launcher/src/main.rs, struct Args (clap 4 derive), read by test/lorax/read-launcher-flags.ts`,
    readOn: new Date().toISOString().slice(0, 10),
    flags,
  };
  process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
}

main();
