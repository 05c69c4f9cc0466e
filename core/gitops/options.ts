/**
 * What a GitOps pipeline is rendered from: the provider, the stacks in promotion order and
 * where Pulumi keeps state. Plain data and pure checks; the renderers and the CLI share them.
 */

export type GitopsProvider = "github" | "gitlab";
export const PROVIDERS: readonly GitopsProvider[] = ["github", "gitlab"];

/**
 * `cloud`: Pulumi Cloud, authenticated with `PULUMI_ACCESS_TOKEN` (also what Pulumi ESC
 * environments listed in a stack file need). `self-managed`: a DIY backend (S3, GCS, Azure
 * Blob, …) whose URL comes from a CI variable, secrets encrypted with `PULUMI_CONFIG_PASSPHRASE`.
 */
export type PulumiBackend = "cloud" | "self-managed";
export const BACKENDS: readonly PulumiBackend[] = ["cloud", "self-managed"];

export interface GitopsOptions {
  readonly provider: GitopsProvider;
  /** Stacks in promotion order, e.g. `["dev", "staging", "prod"]`: each one's apply waits for the one before. */
  readonly stacks: readonly string[];
  /** Default `cloud`. */
  readonly backend?: PulumiBackend;
  /**
   * Labels of self-hosted runners for the jobs that reach the hosts (`pulumi up`, the drift
   * check): they run on `[self-hosted, ...labels]` (GitHub) or with these `tags` (GitLab).
   * Default: none, hosted runners (core/gitops/reachability.ts says what that needs).
   */
  readonly runsOn?: readonly string[];
}

/** A runner label GitHub and GitLab both accept as one word. */
const RUNNER_LABEL = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** Every problem with the runner labels, each a full sentence; empty when they are usable. */
export function runnerLabelProblems(labels: readonly string[]): string[] {
  return labels.filter((l) => !RUNNER_LABEL.test(l) || l === "self-hosted")
    .map((l) => (l === "self-hosted"
      ? 'runner label "self-hosted" is added for you: list only your own labels, e.g. --runs-on uk,gpu-deploy'
      : `runner label ${JSON.stringify(l)} is not usable: letters, digits, ".", "_" or "-", starting with a letter or digit`));
}

export const DEFAULT_STACKS: readonly string[] = ["dev", "staging", "prod"];

/** The stack that gets the approval gate: the last one named `prod`, else the last one. */
export function gatedStack(stacks: readonly string[]): string {
  const prod = stacks.lastIndexOf("prod");
  const gated = prod >= 0 ? stacks[prod] : stacks[stacks.length - 1];
  if (gated === undefined) throw new Error("no stacks to render");
  return gated;
}

/**
 * A stack name usable as a Pulumi stack, a GitHub job id suffix, a GitLab job name and a
 * concurrency/resource group: a letter, then letters, digits, `-` or `_`. (Pulumi also allows
 * `.`, which GitHub job ids do not.) The stack file is `Pulumi.<stack>.yaml`.
 */
const STACK_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

/** Every problem with a stack list, each a full sentence; empty when the list is usable. */
export function stackListProblems(stacks: readonly string[]): string[] {
  const problems: string[] = [];
  if (stacks.length === 0) problems.push("no stacks given: pass them in promotion order, e.g. --stacks dev,staging,prod");
  for (const s of stacks) {
    if (!STACK_NAME.test(s)) {
      problems.push(`stack name ${JSON.stringify(s)} is not usable: it must start with a letter and contain only letters, digits, "-" or "_" (at most 63 characters)`);
    }
  }
  const seen = new Set<string>();
  for (const s of stacks) {
    if (seen.has(s)) problems.push(`stack "${s}" is listed more than once`);
    seen.add(s);
  }
  return problems;
}

/** Parses `dev,staging,prod` (spaces around names ignored, empty items dropped). */
export function parseStackList(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}
