/**
 * `plan --against <ref>`: renders the same stack as the commit `ref` would, with that commit's
 * own code and its own copy of the stack file, since a pull request can change both. The
 * commit's tree is exported with `git archive` into a temporary folder (the user's work tree,
 * index and worktree list are never touched), this checkout's node_modules is linked in, and
 * the commit's own `cli/plan.ts` writes its files into a temporary output folder, which is read
 * back. Everything temporary is removed before returning.
 */
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { BaseRendering } from "../core/review/compare";
import type { ResourceRow } from "../core/review/resources";
import { MARKER_FILE } from "./out-dir";

export class AgainstError extends Error {}

export interface BaseResult {
  readonly commit: string;
  readonly base: BaseRendering;
  /** Said on stderr: the base ran with this checkout's dependencies although its lock file differs. */
  readonly notes: readonly string[];
}

function git(cwd: string, args: readonly string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync("git", args, { cwd, encoding: "utf8", maxBuffer: 1 << 30 });
  return { ok: r.status === 0, out: r.stdout ?? "", err: (r.stderr ?? "").trim() || (r.error?.message ?? "") };
}

/** Every file under `dir`, path relative to it -> content; the plan's marker left out. */
function readTree(dir: string, rel = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(path.join(dir, rel))) {
    const p = rel === "" ? entry : `${rel}/${entry}`;
    const full = path.join(dir, p);
    if (lstatSync(full).isDirectory()) Object.assign(out, readTree(dir, p));
    else if (p !== MARKER_FILE) out[p] = readFileSync(full, "utf8");
  }
  return out;
}

/** The resources a `resources.json` lists, read leniently (an older plan may have written more fields). */
function readResources(text: string | undefined): ResourceRow[] {
  if (text === undefined) return [];
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((r): ResourceRow[] => {
    if (typeof r !== "object" || r === null) return [];
    const { type, name, inputs } = r as Record<string, unknown>;
    return typeof type === "string" && typeof name === "string"
      ? [{ type, name, inputs: typeof inputs === "object" && inputs !== null ? (inputs as Record<string, unknown>) : {} }]
      : [];
  });
}

/**
 * Renders `stack` at `ref`. `codeRoot` is this checkout (a git work tree); `stackFile` the stack
 * file planned here: inside the repository, the commit's own copy is used; outside it, this one.
 */
export function renderAtRef(codeRoot: string, ref: string, stack: string, stackFile: string): BaseResult {
  const top = git(codeRoot, ["rev-parse", "--show-toplevel"]);
  if (!top.ok) throw new AgainstError(`--against needs a git checkout: ${top.err}`);
  const repo = top.out.trim();
  const resolved = git(repo, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  if (!resolved.ok) {
    throw new AgainstError(`--against ${ref}: no such commit in ${repo} (in CI, fetch it first: actions/checkout with fetch-depth: 2 for HEAD^1, or git fetch origin <branch>)`);
  }
  const commit = resolved.out.trim();
  const codeRel = path.relative(repo, codeRoot);
  const fileRel = path.relative(repo, path.resolve(stackFile));
  const inRepo = !fileRel.startsWith("..") && !path.isAbsolute(fileRel);
  const notes: string[] = [];

  const tmp = mkdtempSync(path.join(tmpdir(), "hybrid-inference-against-"));
  try {
    const tree = path.join(tmp, "tree");
    mkdirSync(tree);
    const archive = path.join(tmp, "tree.tar");
    const exported = git(repo, ["archive", "--format=tar", "-o", archive, commit]);
    if (!exported.ok) throw new AgainstError(`git archive ${commit} failed: ${exported.err}`);
    const untar = spawnSync("tar", ["-xf", archive, "-C", tree], { encoding: "utf8" });
    if (untar.status !== 0) throw new AgainstError(`unpacking ${commit} failed: ${untar.stderr || untar.error?.message}`);
    const baseCode = path.join(tree, codeRel);
    const basePlan = path.join(baseCode, "cli", "plan.ts");
    if (!existsSync(basePlan)) throw new AgainstError(`${ref} (${commit.slice(0, 12)}) has no cli/plan.ts to render the stack with`);
    const baseStackFile = inRepo ? path.join(tree, fileRel) : path.resolve(stackFile);
    if (!existsSync(baseStackFile)) return { commit, base: { status: "absent" }, notes };

    // The base runs with this checkout's dependencies: installing the commit's own would need the network.
    const baseModules = path.join(baseCode, "node_modules");
    if (!existsSync(baseModules)) symlinkSync(path.join(codeRoot, "node_modules"), baseModules, "dir");
    const lockHere = path.join(codeRoot, "package-lock.json");
    const lockThere = path.join(baseCode, "package-lock.json");
    if (existsSync(lockHere) && existsSync(lockThere) && readFileSync(lockHere, "utf8") !== readFileSync(lockThere, "utf8")) {
      notes.push(`${ref} locks other dependency versions than this checkout; it was rendered with this checkout's node_modules`);
    }
    const out = path.join(tmp, "out");
    const run = spawnSync(process.execPath, [require.resolve("tsx/cli"), basePlan, "--stack", stack, "--file", baseStackFile, "--out", out, "--json"], {
      cwd: baseCode, encoding: "utf8", maxBuffer: 1 << 30, timeout: 10 * 60_000,
    });
    if (run.status === 1) {
      const problems = (run.stderr || run.stdout).trim().split("\n").filter((l) => /^\s*error: /.test(l)).map((l) => l.trim());
      return { commit, base: { status: "failed", reason: `its plan reported ${problems.length > 0 ? problems.join("; ") : "errors"}` }, notes };
    }
    if (run.status !== 0) {
      const why = run.error?.message ?? (run.stderr.trim().split("\n").slice(-3).join(" ") || `exit ${String(run.status)}`);
      return { commit, base: { status: "failed", reason: `its plan failed to run (${why})` }, notes };
    }
    const files = readTree(path.join(out, stack));
    return { commit, base: { status: "planned", files, resources: readResources(files["resources.json"]) }, notes };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
