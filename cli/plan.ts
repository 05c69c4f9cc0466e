/**
 * `npm run plan [-- --stack <name> | --file <path>] [--json] [--out <dir>] [--force]`
 *
 * Offline: no credentials, no Pulumi CLI, no network. Reads the stack file, validates it,
 * plans it, runs the real program under Pulumi's mocks to list the resources it would
 * create, and writes every rendered file under out/<stack>/ for review. It only ever removes
 * files an earlier plan wrote there (cli/out-dir.ts).
 * Exit codes: 0 planned, 1 the stack file has errors, 2 bad command-line usage or an output
 * folder it will not touch.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { StackFileError, readStackFile } from "../core/config/source";
import { loadPlan } from "../core/load";
import { planCosts } from "../core/costs/plan-costs";
import { renderTarget } from "../core/render/target";
import { runProgramUnderMocks } from "./mock-run";
import { prepareOutDir, stackFromFileName, stackNameProblem, writeOutDir } from "./out-dir";
import { issuesBlock, planSummary, resourcesTable } from "./report";

const ROOT = path.join(__dirname, "..");

const USAGE = "usage: npm run plan -- [--stack dev|staging|prod|<name>] [--file path/to/Pulumi.<stack>.yaml] [--json] [--out dir] [--force]";
const HELP = `${USAGE}

Plans a stack offline and writes what it would deploy under <out>/<stack>/ (default out/).
  --stack <name>   the stack: stacks/Pulumi.<name>.yaml (default dev)
  --file <path>    another stack file; its stack name comes from Pulumi.<name>.yaml, or give --stack
  --json           print the plan as JSON
  --out <dir>      where to write (default out/); only files an earlier plan wrote there are removed
  --force          replace a folder that holds another stack file's plan
Exit codes: 0 planned, 1 the stack file has errors, 2 usage or an output folder it will not touch.
`;

function usage(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        stack: { type: "string" }, file: { type: "string" }, json: { type: "boolean", default: false }, out: { type: "string" },
        force: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }));
  } catch (e) {
    usage((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.stack !== undefined) {
    const problem = stackNameProblem(values.stack);
    if (problem) usage(`--stack ${problem}`);
  }
  // A stack's name is its file's (Pulumi.<stack>.yaml), unless --stack says otherwise.
  const stack = values.stack ?? (values.file === undefined ? "dev" : stackFromFileName(values.file));
  if (stack === undefined) usage(`cannot tell the stack name from ${values.file}: name the file Pulumi.<stack>.yaml or pass --stack <name>`);
  const file = values.file ?? path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`);
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

  const outDir = path.resolve(values.out ?? path.join(ROOT, "out"), stack);
  const prepared = prepareOutDir(outDir, stack, file, values.force);
  if (!prepared.ok) usage(prepared.message);
  const { resources } = await runProgramUnderMocks(raw, plan);
  // What the program deploys: the same rendering index.ts hands to the components.
  const rendered = renderTarget(plan).files;
  const summary = planSummary(plan);
  const files: Record<string, string> = {
    ...rendered,
    "plan.txt": `${summary}\n`,
    "resources.json": `${JSON.stringify(resources.map(({ rawInputs: _raw, ...r }) => r), null, 2)}\n`,
  };
  writeOutDir(outDir, stack, file, files);

  if (values.json) {
    const hosts = plan.hosts.map((h) => ({ ...h, gpu: h.gpu.id }));
    process.stdout.write(`${JSON.stringify({
      stack, ok: true, issues,
      model: plan.model.id, engine: plan.engine, hosts, router: plan.router, costs: planCosts(plan),
      resources: resources.map(({ rawInputs: _raw, ...r }) => r),
      files: Object.keys(files).map((f) => path.join(outDir, f)),
    }, null, 2)}\n`);
  } else {
    process.stdout.write(`${summary}\n${issuesBlock(issues)}\n${resourcesTable(resources)}\n\nRendered files: ${path.relative(process.cwd(), outDir) || "."}/ (${Object.keys(files).length} files)\n`);
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
