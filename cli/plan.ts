/**
 * `npm run plan [-- --stack <name> | --file <path>] [--json] [--out <dir>]`
 *
 * Offline: no credentials, no Pulumi CLI, no network. Reads the stack file, validates it,
 * plans it, runs the real program under Pulumi's mocks to list the resources it would
 * create, and writes every rendered file under out/<stack>/ for review.
 * Exit codes: 0 planned, 1 the stack file has errors, 2 bad command-line usage.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { StackFileError, readStackFile } from "../core/config/source";
import { loadPlan } from "../core/load";
import { planCosts } from "../core/costs/plan-costs";
import { renderFiles } from "../core/render/files";
import { renderKubernetesFiles } from "../core/render/kubernetes/files";
import { runProgramUnderMocks } from "./mock-run";
import { issuesBlock, planSummary, resourcesTable } from "./report";

const ROOT = path.join(__dirname, "..");

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run plan -- [--stack dev|staging|prod|<name>] [--file path/to/Pulumi.<stack>.yaml] [--json] [--out dir]\n`);
  process.exit(2);
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: { stack: { type: "string" }, file: { type: "string" }, json: { type: "boolean", default: false }, out: { type: "string" } },
      strict: true,
    }));
  } catch (e) {
    usage((e as Error).message);
  }
  const file = values.file ?? path.join(ROOT, "stacks", `Pulumi.${values.stack ?? "dev"}.yaml`);
  // A stack's name is its file's: Pulumi.<stack>.yaml.
  const stack = values.stack ?? /Pulumi\.([^/]+)\.ya?ml$/.exec(file)?.[1] ?? "dev";
  let raw;
  try {
    raw = readStackFile(file, stack);
  } catch (e) {
    if (e instanceof StackFileError) {
      if (values.json) process.stdout.write(`${JSON.stringify({ stack, ok: false, issues: [e.issue] }, null, 2)}\n`);
      else process.stderr.write(`stack ${stack} (${file}) has errors; nothing would be deployed.\n${issuesBlock([e.issue])}`);
      return 1;
    }
    usage(`cannot read stack file ${file}: ${(e as Error).message}`);
  }

  const { plan, issues } = loadPlan(raw);
  if (!plan) {
    if (values.json) process.stdout.write(`${JSON.stringify({ stack, ok: false, issues }, null, 2)}\n`);
    else process.stderr.write(`stack ${stack} (${file}) has errors; nothing would be deployed.\n${issuesBlock(issues)}`);
    return 1;
  }

  const { resources } = await runProgramUnderMocks(raw, plan);
  const outDir = path.resolve(values.out ?? path.join(ROOT, "out"), stack);
  rmSync(outDir, { recursive: true, force: true });
  // What each target really deploys: a Kubernetes stack's router config names Services, not containers.
  const files = plan.spec.target === "kubernetes" ? renderKubernetesFiles(plan) : renderFiles(plan);
  for (const [rel, content] of Object.entries(files)) {
    const target = path.join(outDir, rel);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  const summary = planSummary(plan);
  writeFileSync(path.join(outDir, "plan.txt"), `${summary}\n`);
  writeFileSync(path.join(outDir, "resources.json"), `${JSON.stringify(resources.map(({ rawInputs: _raw, ...r }) => r), null, 2)}\n`);

  if (values.json) {
    const hosts = plan.hosts.map(({ bootstrap: _b, ...h }) => ({ ...h, gpu: h.gpu.id }));
    process.stdout.write(`${JSON.stringify({
      stack, ok: true, issues,
      model: plan.model.id, engine: plan.engine, hosts, router: plan.router, costs: planCosts(plan),
      resources: resources.map(({ rawInputs: _raw, ...r }) => r),
      files: Object.keys(files).map((f) => path.join(outDir, f)),
    }, null, 2)}\n`);
  } else {
    process.stdout.write(`${summary}\n${issuesBlock(issues)}\n${resourcesTable(resources)}\n\nRendered files: ${path.relative(process.cwd(), outDir) || "."}/ (${Object.keys(files).length + 2} files)\n`);
  }
  return 0;
}

/** Exits once stdout and stderr are flushed: a pipe reader must get the whole JSON report. */
function exitAfterFlush(code: number): void {
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}

main().then(exitAfterFlush, (e: unknown) => {
  process.stderr.write(`plan failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  exitAfterFlush(3);
});
