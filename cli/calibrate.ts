/**
 * `npm run calibrate -- --stack <name> --from <file> [--from <file> …] [--host <name>]`
 *
 * Writes capacity measured by vLLM itself into the stack file, as a `measured:` entry per host
 * that takes precedence over the capacity model's estimate (core/plan/measured.ts). Reads:
 *  - `vllm bench serve --save-result` JSON (one run per `--max-concurrency` level; several files,
 *    a list, or `--append-result`'s one result per line);
 *  - a vLLM start-up log (`docker logs <engine>`), for the KV cache size;
 *  - the post-deploy benchmark's benchmark.json, or `pulumi stack output measuredCapacity --json`
 *    (both name their hosts, and carry the start-up lines too).
 * Every comment and key of the stack file is kept; only `hybrid-inference:measured` changes. A
 * file it cannot use is refused with what was expected, and then nothing is written.
 * Exit codes: 0 written (or, with --dry-run, shown), 1 a file or the stack file has a problem,
 * 2 bad command-line usage.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { CalibrationError } from "../core/calibrate/errors";
import { type Entry, measuredEntry } from "../core/calibrate/measurement";
import { type HostReadings, readMeasurementFile } from "../core/calibrate/read";
import { MEASURED_KEY, writeMeasuredEntries } from "../core/calibrate/stack-file";
import { StackFileError, parseStackYaml } from "../core/config/source";
import { loadPlan } from "../core/load";
import { measuredSummary } from "../core/plan/measured";
import type { DeploymentPlan } from "../core/plan/types";
import { stackFromFileName, stackNameProblem } from "./out-dir";
import { issuesBlock } from "../core/review/text";

const ROOT = path.join(__dirname, "..");

const USAGE = "usage: npm run calibrate -- [--stack <name> | --file path/to/Pulumi.<stack>.yaml] --from <file> [--from <file> ...] [--host <name>] [--replicas N] [--measured-on YYYY-MM-DD] [--dry-run]";
const HELP = `${USAGE}

Writes capacity measured on a host into the stack file's hybrid-inference:measured key, where it
takes precedence over the capacity model's estimate for KV cache size and router limits.
  --stack <name>        the stack: stacks/Pulumi.<name>.yaml
  --file <path>         another stack file (its stack name from Pulumi.<name>.yaml, or give --stack)
  --from <file>         vllm bench serve --save-result JSON, a vLLM start-up log, the benchmark
                        step's benchmark.json, or \`pulumi stack output measuredCapacity --json\`; repeatable
  --host <name>         the host vLLM's own files measured (needed when the stack has several)
  --replicas <n>        engine replicas behind the benchmarked endpoint (default: the host's)
  --measured-on <date>  YYYY-MM-DD (default: the date in the files, else today)
  --dry-run             show the entry, write nothing
Exit codes: 0 written, 1 a file or the stack file has a problem (nothing written), 2 usage.
`;

class UsageError extends Error {}
class InputError extends Error {}

function usage(message: string): never {
  throw new UsageError(message);
}

interface Args {
  readonly stack: string;
  readonly file: string;
  readonly from: readonly string[];
  readonly host?: string;
  readonly replicas?: number;
  readonly measuredOn?: string;
  readonly dryRun: boolean;
}

function parseCommandLine(argv: readonly string[]): Args | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        stack: { type: "string" }, file: { type: "string" }, from: { type: "string", multiple: true }, host: { type: "string" },
        replicas: { type: "string" }, "measured-on": { type: "string" }, "dry-run": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    usage((e as Error).message);
  }
  if (values.help) return "help";
  if (values.stack !== undefined) {
    const problem = stackNameProblem(values.stack);
    if (problem) usage(`--stack ${problem}`);
  }
  if (values.stack === undefined && values.file === undefined) usage("give the stack: --stack <name> or --file <path>");
  const stack = values.stack ?? stackFromFileName(values.file!);
  if (stack === undefined) usage(`cannot tell the stack name from ${values.file}: name the file Pulumi.<stack>.yaml or pass --stack <name>`);
  const from = values.from ?? [];
  if (from.length === 0) usage("--from <file> is required: a vllm bench serve result, a vLLM start-up log or a benchmark.json");
  let replicas: number | undefined;
  if (values.replicas !== undefined) {
    replicas = Number(values.replicas);
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 8) usage(`--replicas must be a whole number from 1 to 8, got "${values.replicas}"`);
  }
  const measuredOn = values["measured-on"];
  if (measuredOn !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(measuredOn)) usage(`--measured-on must be a date written YYYY-MM-DD, got "${measuredOn}"`);
  return {
    stack, file: values.file ?? path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`), from,
    ...(values.host !== undefined ? { host: values.host } : {}), ...(replicas !== undefined ? { replicas } : {}),
    ...(measuredOn !== undefined ? { measuredOn } : {}), dryRun: values["dry-run"] ?? false,
  };
}

/** The stack file's plan; InputError with every issue when it has errors. */
function planOf(text: string, stack: string, file: string): DeploymentPlan {
  let raw;
  try {
    raw = parseStackYaml(text, stack);
  } catch (e) {
    if (e instanceof StackFileError) throw new InputError(`stack ${stack} (${file}) has errors; fix them before calibrating.\n${issuesBlock([e.issue])}`);
    throw e;
  }
  const { plan, issues } = loadPlan(raw);
  if (!plan) throw new InputError(`stack ${stack} (${file}) has errors; fix them before calibrating.\n${issuesBlock(issues)}`);
  return plan;
}

/** Which host each reading measured: the file's own word, else --host, else the stack's only host. */
function byHost(plan: DeploymentPlan, readings: readonly HostReadings[], host: string | undefined): Map<string, HostReadings[]> {
  const names = plan.hosts.map((h) => h.name);
  if (host !== undefined && !names.includes(host)) {
    throw new InputError(`--host ${host} is not a host of stack ${plan.spec.stack} (hosts: ${names.join(", ")})`);
  }
  const out = new Map<string, HostReadings[]>();
  for (const r of readings) {
    let name = r.host ?? host;
    if (r.host !== undefined && host !== undefined && r.host !== host) {
      throw new CalibrationError(r.file, `measured host "${r.host}", but --host is ${host}`, "--host left out, or the file of that host");
    }
    if (name === undefined) {
      if (names.length > 1) throw new CalibrationError(r.file, `does not say which host it measured, and stack ${plan.spec.stack} has ${names.length}`, `--host <one of ${names.join(", ")}>`);
      name = names[0]!;
    }
    if (!names.includes(name)) throw new CalibrationError(r.file, `measured host "${name}", which is not in stack ${plan.spec.stack}'s hosts (${names.join(", ")})`, "the benchmark of a host of this stack");
    out.set(name, [...(out.get(name) ?? []), r]);
  }
  return out;
}

function pointsTable(e: Entry): string[] {
  const points = e.entry.points ?? [];
  if (points.length === 0) return [];
  const rows = points.map((p) => [String(p.concurrency), p.ttft_ms.toFixed(1), p.tpot_ms.toFixed(2), p.output_tokens_per_s.toFixed(1), p.requests_per_s.toFixed(3)]);
  const header = ["in flight", "TTFT ms (p50)", "ms/token (p50)", "output tok/s", "req/s"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => `    ${cells.map((c, i) => c.padStart(widths[i]!)).join("  ")}`;
  const shape = e.entry.request_shape!;
  return [`  measured at ${shape.input_tokens} in / ${shape.output_tokens} out tokens per request:`, line(header), ...rows.map(line)];
}

function run(argv: readonly string[], today: Date): number {
  const args = parseCommandLine(argv);
  if (args === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  let text: string;
  try {
    text = readFileSync(args.file, "utf8");
  } catch (e) {
    throw new InputError(`cannot read stack file ${args.file}: ${(e as Error).message}`);
  }
  const before = planOf(text, args.stack, args.file);
  const readings = args.from.flatMap((f) => {
    let content: string;
    try {
      content = readFileSync(f, "utf8");
    } catch (e) {
      throw new CalibrationError(f, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "a readable file");
    }
    return readMeasurementFile(f, content);
  });
  const entries = [...byHost(before, readings, args.host).entries()].map(([host, rs]) =>
    measuredEntry(before, host, rs, { today, ...(args.replicas !== undefined ? { replicas: args.replicas } : {}), ...(args.measuredOn !== undefined ? { measuredOn: args.measuredOn } : {}) }));
  const updated = writeMeasuredEntries(text, entries);
  // What is written must plan: the same check `plan` and `pulumi up` make.
  const after = planOf(updated, args.stack, args.file);

  const out: string[] = [];
  out.push(`${args.dryRun ? "would write" : "wrote"} ${MEASURED_KEY} ${entries.map((e) => e.host).join(", ")} in ${path.relative(process.cwd(), args.file) || args.file}` +
    ` from ${args.from.length} file${args.from.length > 1 ? "s" : ""}`);
  for (const e of entries) {
    const was = before.hosts.find((h) => h.name === e.host)!;
    const now = after.hosts.find((h) => h.name === e.host)!;
    out.push("", `${e.host} (measured on ${e.entry.measured_on}; ${e.entry.source})`);
    for (const n of e.notes) out.push(`  ${n}`);
    out.push(...pointsTable(e));
    out.push(`  router limit: ${was.capacity.routerRpm} rpm before, ${now.capacity.routerRpm} rpm now (operating point ${now.replicaCapacity.operatingPoint.concurrency.toFixed(1)} requests in flight per replica, ` +
      `TTFT ${Math.round(now.replicaCapacity.operatingPoint.ttftMs)} ms, ${now.replicaCapacity.operatingPoint.tpotMs.toFixed(1)} ms/token)`);
  }
  out.push(...measuredSummary(after.hosts));
  const warnings = loadPlan(parseStackYaml(updated, args.stack)).issues.filter((i) => i.path.startsWith(MEASURED_KEY));
  if (warnings.length > 0) out.push(issuesBlock(warnings));
  if (args.dryRun) {
    out.push("", "--dry-run: the stack file is unchanged. The entries:", updated.slice(updated.indexOf(`${MEASURED_KEY}:`)).split(/\n  (?=hybrid-inference:)/)[0]!);
  } else {
    const tmp = `${args.file}.calibrate-${process.pid}.tmp`;
    writeFileSync(tmp, updated);
    renameSync(tmp, args.file);
  }
  process.stdout.write(`${out.join("\n")}\n`);
  return 0;
}

function main(): number {
  try {
    return run(process.argv.slice(2), new Date());
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n${USAGE}\n`);
      return 2;
    }
    if (e instanceof CalibrationError) {
      process.stderr.write(`calibrate: ${e.file}: ${e.problem}\n  expected: ${e.expected}\nNothing was written.\n`);
      return 1;
    }
    if (e instanceof InputError) {
      process.stderr.write(`calibrate: ${e.message}\nNothing was written.\n`);
      return 1;
    }
    throw e;
  }
}

process.exitCode = main();
