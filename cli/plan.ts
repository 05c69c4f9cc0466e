/**
 * `npm run plan [-- --stack <name> | --file <path>] [--against <git ref>] [--json] [--out <dir>] [--force]`
 *
 * Offline: no credentials, no Pulumi CLI, no network. Reads the stack file, validates it,
 * plans it, runs the real program under Pulumi's mocks to list the resources it would
 * create, and writes every rendered file under out/<stack>/ for review, with the report
 * (`plan.txt`, exactly what the terminal shows) and the pull request comment (`plan.md`).
 * With `--against <ref>` it also renders the stack as that commit would (its code and its
 * stack file) and prints and writes (`plan.diff`) what changes. It only ever removes files an
 * earlier plan wrote there (cli/out-dir.ts).
 * Exit codes: 0 planned, 1 the stack file has errors, 2 bad command-line usage, a ref that
 * cannot be rendered or an output folder it will not touch.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { StackFileError, readStackFile } from "../core/config/source";
import { loadPlan } from "../core/load";
import { planCosts } from "../core/costs/plan-costs";
import { renderTarget } from "../core/render/target";
import { type PlanComparison, comparePlans, comparisonText } from "../core/review/compare";
import { planMarkdown } from "../core/review/markdown";
import { issuesBlock, planReport } from "../core/review/text";
import { AgainstError, renderAtRef } from "./against";
import { runProgramUnderMocks } from "./mock-run";
import { prepareOutDir, stackFromFileName, stackNameProblem, writeOutDir } from "./out-dir";

const ROOT = path.join(__dirname, "..");

const USAGE = "usage: npm run plan -- [--stack dev|staging|prod|<name>] [--file path/to/Pulumi.<stack>.yaml] [--against <git ref>] [--json] [--out dir] [--force]";
const HELP = `${USAGE}

Plans a stack offline and writes what it would deploy under <out>/<stack>/ (default out/):
every rendered file, resources.json, plan.txt (the report, as printed) and plan.md (the same
plan written for a pull request comment: problems first, then what happens to the servers,
downloads and time to serve, costs).
  --stack <name>     the stack: stacks/Pulumi.<name>.yaml (default dev)
  --file <path>      another stack file; its stack name comes from Pulumi.<name>.yaml, or give --stack
  --against <ref>    also render the stack as git commit <ref> would (its code and its stack file),
                     print what changes (resources, rendered files) and write it to plan.diff
  --json             print the plan as JSON
  --out <dir>        where to write (default out/); only files an earlier plan wrote there are removed
  --force            replace a folder that holds another stack file's plan
Exit codes: 0 planned, 1 the stack file has errors, 2 usage, a ref it cannot render, or an output folder it will not touch.
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
        force: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false }, against: { type: "string" },
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
  if (values.against !== undefined && (values.against === "" || values.against.startsWith("-"))) usage(`--against needs a git ref, e.g. --against main`);
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
  const { resources: recorded } = await runProgramUnderMocks(raw, plan);
  const resources = recorded.map(({ rawInputs: _raw, ...r }) => r);
  // What the program deploys: the same rendering index.ts hands to the components.
  const rendering = renderTarget(plan);
  const rendered: Record<string, string> = { ...rendering.files, "resources.json": `${JSON.stringify(resources, null, 2)}\n` };

  let comparison: PlanComparison | undefined;
  if (values.against !== undefined) {
    let base;
    try {
      base = renderAtRef(ROOT, values.against, stack, file);
    } catch (e) {
      if (e instanceof AgainstError) usage(e.message);
      throw e;
    }
    comparison = comparePlans(values.against, base.commit, base.base, rendered, resources, base.notes);
  }

  const reportNames = ["plan.txt", "plan.md", ...(comparison ? ["plan.diff"] : [])];
  const fileCount = Object.keys(rendered).length + reportNames.length;
  const footer = [`Rendered files: ${path.relative(process.cwd(), outDir) || "."}/ (${fileCount} files)`];
  const report = planReport({ plan, issues, resources, footer });
  const diff = comparison ? comparisonText(stack, comparison) : undefined;
  const files: Record<string, string> = {
    ...rendered,
    "plan.txt": report,
    "plan.md": planMarkdown({ plan, rendering, issues, resources, ...(comparison ? { comparison } : {}) }),
    ...(diff !== undefined ? { "plan.diff": diff } : {}),
  };
  writeOutDir(outDir, stack, file, files);

  if (values.json) {
    const hosts = plan.hosts.map((h) => ({ ...h, gpu: h.gpu.id }));
    process.stdout.write(`${JSON.stringify({
      stack, ok: true, issues,
      model: plan.model.id, engine: plan.engine, hosts, router: plan.router, costs: planCosts(plan),
      resources,
      ...(comparison ? { diff: { ref: comparison.ref, commit: comparison.commit, base: comparison.base.status, files: comparison.files.changes, resources: comparison.resources } } : {}),
      files: Object.keys(files).map((f) => path.join(outDir, f)),
    }, null, 2)}\n`);
  } else {
    process.stdout.write(diff === undefined ? report : `${report}\n${diff}`);
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
