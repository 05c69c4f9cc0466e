/**
 * GitOps pipelines for a hybrid-inference repository: a pure function from the provider and
 * the stack list to the files to write (path relative to the repository root -> content).
 * `cli/gitops-init.ts` only writes what this returns; `templates/gitops/<provider>/` holds
 * the rendering for dev, staging and prod.
 */
import { renderGithub } from "./github";
import { renderGitlab } from "./gitlab";
import { type GitopsOptions, gatedStack, runnerLabelProblems, stackListProblems } from "./options";
import { type StackAccess, reachabilitySteps } from "./reachability";

export { DEFAULT_STACKS, gatedStack, parseStackList, runnerLabelProblems, stackListProblems } from "./options";
export { type StackAccess, allReachable, reachabilitySteps } from "./reachability";
export type { GitopsOptions, GitopsProvider, PulumiBackend } from "./options";

export class GitopsOptionsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "GitopsOptionsError";
  }
}

export function renderGitops(options: GitopsOptions): Readonly<Record<string, string>> {
  const problems = [...stackListProblems(options.stacks), ...runnerLabelProblems(options.runsOn ?? [])];
  if (problems.length > 0) throw new GitopsOptionsError(problems);
  switch (options.provider) {
    case "github":
      return renderGithub(options);
    case "gitlab":
      return renderGitlab(options);
    default: {
      const unknownProvider: never = options.provider;
      throw new GitopsOptionsError([`unknown provider ${JSON.stringify(unknownProvider)}`]);
    }
  }
}

/**
 * What the user still has to do by hand after writing the files (secrets, approvals) and, for
 * each stack file found, how its pipeline jobs reach the hosts (core/gitops/reachability.ts).
 */
export function setupSteps(options: GitopsOptions, stacks: readonly StackAccess[] = []): string[] {
  return [...providerSteps(options), ...reachabilitySteps(options, stacks)];
}

function providerSteps(options: GitopsOptions): string[] {
  const gated = gatedStack(options.stacks);
  const backend = options.backend ?? "cloud";
  const secrets = backend === "cloud" ? "PULUMI_ACCESS_TOKEN" : "PULUMI_CONFIG_PASSPHRASE and PULUMI_BACKEND_URL";
  switch (options.provider) {
    case "github":
      return [
        `Add ${secrets} under Settings > Secrets and variables > Actions${backend === "cloud" ? " (secret)" : " (secret and variable)"}.`,
        `Create the environment "${gated}" under Settings > Environments with required reviewers: pulumi up on ${gated} waits for them.`,
        "Protect main (require the preview checks) so every change reaches it through a reviewed pull request.",
      ];
    case "gitlab":
      return [
        `Add ${secrets} as masked CI/CD variables (Settings > CI/CD > Variables).`,
        "Optionally add GITLAB_API_TOKEN (project access token, api scope) for merge request notes and drift issues.",
        `Protect the environment "${gated}" (Operate > Environments) to choose who may run its manual deploy job.`,
        "Create a pipeline schedule (Build > Pipeline schedules) on the default branch for the drift check.",
      ];
    default: {
      const unknownProvider: never = options.provider;
      throw new GitopsOptionsError([`unknown provider ${JSON.stringify(unknownProvider)}`]);
    }
  }
}
