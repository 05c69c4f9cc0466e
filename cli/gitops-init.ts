/**
 * `npx tsx cli/gitops-init.ts --provider github|gitlab --stacks dev,staging,prod [--dir <repo root>] [--backend cloud|self-managed] [--force]`
 *
 * Writes the GitOps pipelines for the given stacks (in promotion order) into a repository
 * (default: the current directory): GitHub Actions workflows under .github/workflows/, or
 * .gitlab-ci.yml. The files come from `renderGitops` (core/gitops/render.ts); this command
 * only writes them. An existing file is never overwritten without --force.
 * Exit codes: 0 written, 1 files exist (nothing written), 2 bad command-line usage.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { BACKENDS, PROVIDERS, type GitopsOptions, type GitopsProvider, type PulumiBackend } from "../core/gitops/options";
import { DEFAULT_STACKS, parseStackList, renderGitops, setupSteps, stackListProblems } from "../core/gitops/render";

const USAGE = "usage: npx tsx cli/gitops-init.ts --provider github|gitlab [--stacks dev,staging,prod] [--dir <repo root>] [--backend cloud|self-managed] [--force]";
const HELP = `${USAGE}

Writes the GitOps pipelines for the stacks: on each pull (merge) request the offline plan against
the base branch (plan.md and plan.diff posted as a comment) and pulumi preview; pulumi up in
promotion order on the default branch, the last prod stack behind an approval; a scheduled drift check.
  --provider github|gitlab       GitHub Actions (.github/workflows/) or GitLab CI (.gitlab-ci.yml)
  --stacks dev,staging,prod      the stacks, in promotion order                 [dev,staging,prod]
  --dir <repo root>              where to write                                  [the current folder]
  --backend cloud|self-managed   Pulumi Cloud, or a passphrase-encrypted DIY backend   [cloud]
  --force                        replace files that exist
Exit codes: 0 written, 1 files exist (nothing written), 2 bad command-line usage.
`;

function usage(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function isProvider(v: string): v is GitopsProvider {
  return (PROVIDERS as readonly string[]).includes(v);
}

function isBackend(v: string): v is PulumiBackend {
  return (BACKENDS as readonly string[]).includes(v);
}

function main(): number {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        provider: { type: "string" },
        stacks: { type: "string" },
        dir: { type: "string" },
        backend: { type: "string" },
        force: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    usage((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.provider === undefined) usage("--provider is required");
  if (!isProvider(values.provider)) usage(`unknown provider ${JSON.stringify(values.provider)}: use ${PROVIDERS.join(" or ")}`);
  const backend = values.backend ?? "cloud";
  if (!isBackend(backend)) usage(`unknown backend ${JSON.stringify(backend)}: use ${BACKENDS.join(" or ")}`);
  const stacks = values.stacks === undefined ? [...DEFAULT_STACKS] : parseStackList(values.stacks);
  const problems = stackListProblems(stacks);
  if (problems.length > 0) usage(problems.map((p) => `error: ${p}`).join("\n"));

  const options: GitopsOptions = { provider: values.provider, stacks, backend };
  const root = path.resolve(values.dir ?? process.cwd());
  if (!existsSync(root)) usage(`--dir ${root} does not exist`);
  const files = renderGitops(options);

  const existing = Object.keys(files).filter((rel) => existsSync(path.join(root, rel)));
  if (existing.length > 0 && !values.force) {
    process.stderr.write([
      `refusing to overwrite ${existing.length} existing file${existing.length === 1 ? "" : "s"} in ${root}:`,
      ...existing.map((rel) => `  ${rel}`),
      "nothing was written; re-run with --force to replace them.",
      "",
    ].join("\n"));
    return 1;
  }

  for (const [rel, content] of Object.entries(files)) {
    const target = path.join(root, rel);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
    process.stdout.write(`${existing.includes(rel) ? "replaced" : "wrote"} ${rel}\n`);
  }

  // The pipelines run `npm run plan -- --stack <s>` and `pulumi ... --stack <s>`: say which stack files are missing.
  const missing = stacks.filter((s) => !existsSync(path.join(root, "stacks", `Pulumi.${s}.yaml`)) && !existsSync(path.join(root, `Pulumi.${s}.yaml`)));
  if (missing.length > 0) {
    process.stdout.write(`\nwarning: no stack file for ${missing.join(", ")} (expected stacks/Pulumi.<stack>.yaml)\n`);
  }
  process.stdout.write(`\nNext steps:\n${setupSteps(options).map((s) => `  - ${s}`).join("\n")}\n`);
  return 0;
}

process.exitCode = main();
