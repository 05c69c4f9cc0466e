/**
 * GitHub Actions workflows for a hybrid-inference repository, as data:
 *
 * - `pulumi-preview.yml`: on each pull request, per stack, the offline plan report and
 *   `pulumi preview` (with the policy pack) commented on the pull request;
 * - `pulumi-up.yml`: on a push to main, `pulumi up` per stack in promotion order (`needs:`),
 *   the gated stack behind a GitHub environment whose required reviewers approve it;
 * - `pulumi-drift.yml`: on a schedule, per stack, `pulumi refresh` then
 *   `pulumi preview --expect-no-changes`; a failure fails the job and opens (or comments on)
 *   an issue.
 *
 * Sources (read 2026-11): pulumi/actions README (inputs `command`, `stack-name`, `work-dir`,
 * `comment-on-pr`, `comment-on-summary`, `expect-no-changes`, `policyPacks`, `cloud-url`;
 * stack outputs become step outputs); GitHub docs "Control the concurrency of workflows and
 * jobs" (a group runs one job at a time; a newer pending job replaces an older pending one),
 * "Managing environments for deployment" (required reviewers are set on the environment in
 * the repository settings, not in the workflow), "Automatic token authentication"
 * (`permissions:`), "Security hardening" (untrusted values reach scripts through `env:`).
 */
import { type GitopsOptions, type PulumiBackend, gatedStack } from "./options";
import { type KeyComment, toYaml } from "./yaml-doc";

/** Actions pinned by release tag (see the file header for how to pin by commit SHA instead). */
export const GITHUB_ACTIONS = {
  checkout: "actions/checkout@v5",
  setupNode: "actions/setup-node@v5",
  pulumi: "pulumi/actions@v7",
  uploadArtifact: "actions/upload-artifact@v4",
} as const;

/**
 * The base a preview compares with: a pull_request run checks out GitHub's test merge of the pull
 * request into its base branch, whose first parent is the base branch's tip. So HEAD^1 -> HEAD is
 * exactly what merging changes, code and stack files alike (actions/checkout: the default ref of a
 * pull_request event is that merge commit; fetch-depth 2 brings its parents).
 */
export const PREVIEW_BASE_REF = "HEAD^1";

export const RUNNER = "ubuntu-24.04";
export const NODE_VERSION = "22";
export const POLICY_PACK = "policy";
/** Where the program writes the SSH key file for OpenSSH (components/ssh-key-file.ts): the job's temp dir. */
const KEY_DIR = "${{ runner.temp }}/hybrid-inference-keys";

export const WORKFLOW_FILES = {
  preview: ".github/workflows/pulumi-preview.yml",
  up: ".github/workflows/pulumi-up.yml",
  drift: ".github/workflows/pulumi-drift.yml",
} as const;

/** The concurrency group every state-changing job of a stack joins, across workflows. */
export function stackConcurrencyGroup(stack: string): string {
  return `pulumi-${stack}`;
}

type Step = Readonly<Record<string, unknown>>;
type Job = Readonly<Record<string, unknown>>;

function setupSteps(fetchDepth?: number): Step[] {
  return [
    // No token left in .git/config: nothing after checkout needs to push.
    { name: "Check out", uses: GITHUB_ACTIONS.checkout, with: { "persist-credentials": false, ...(fetchDepth !== undefined ? { "fetch-depth": fetchDepth } : {}) } },
    { name: `Set up Node.js ${NODE_VERSION}`, uses: GITHUB_ACTIONS.setupNode, with: { "node-version": NODE_VERSION, cache: "npm" } },
    { name: "Install dependencies", run: "npm ci" },
  ];
}

function planStep(stack: string): Step {
  return {
    name: "Plan offline (npm run plan)",
    id: "plan",
    run: 'npm run plan -- --stack "${STACK}"',
    env: { STACK: stack },
  };
}

/** The preview's plan: also against the base, its output kept for the comment when the stack has errors. */
function previewPlanStep(stack: string): Step {
  return {
    name: `Plan offline against the base branch (npm run plan -- --against ${PREVIEW_BASE_REF})`,
    id: "plan",
    run: [
      "set -o pipefail",
      `npm run plan -- --stack "\${STACK}" --against ${PREVIEW_BASE_REF} 2>&1 | tee "\${RUNNER_TEMP}/plan-output.txt"`,
    ].join("\n"),
    env: { STACK: stack },
  };
}

/** Credentials for the Pulumi CLI, from the repository's (or environment's) secrets. */
function pulumiEnv(backend: PulumiBackend): Record<string, string> {
  const credentials: Record<string, string> = backend === "cloud"
    ? { PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}" }
    : { PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}" };
  return { ...credentials, HYBRID_INFERENCE_KEY_DIR: KEY_DIR };
}

function pulumiStep(name: string, id: string, command: string, stack: string, backend: PulumiBackend, extra: Record<string, unknown>): Step {
  return {
    name,
    id,
    uses: GITHUB_ACTIONS.pulumi,
    with: {
      command,
      "stack-name": stack,
      "work-dir": ".",
      ...(backend === "self-managed" ? { "cloud-url": "${{ vars.PULUMI_BACKEND_URL }}" } : {}),
      ...extra,
    },
    env: pulumiEnv(backend),
  };
}

const PLAN_COMMENT_SCRIPT = `set -euo pipefail
dir="out/\${STACK}"
marker="<!-- hybrid-inference-plan:\${STACK} -->"
limit=60000
body="$(mktemp)"
fence='\`\`\`\`\`'
echo "\${marker}" > "\${body}"
if [ -f "\${dir}/plan.md" ]; then
  head -c "\${limit}" "\${dir}/plan.md" >> "\${body}"
  if [ -f "\${dir}/plan.diff" ]; then
    room=$(( limit - $(wc -c < "\${body}") - 400 ))
    if [ "\${room}" -lt 0 ]; then room=0; fi
    {
      echo
      echo "<details><summary>What merging changes: rendered files and resources against the base branch (plan.diff)</summary>"
      echo
      echo "\${fence}diff"
      head -c "\${room}" "\${dir}/plan.diff"
      echo
      echo "\${fence}"
      if [ "$(wc -c < "\${dir}/plan.diff")" -gt "\${room}" ]; then
        echo "_Truncated: the whole diff is in the job's plan-\${STACK} artifact._"
      fi
      echo "</details>"
    } >> "\${body}"
  fi
else
  # The stack has errors: nothing was rendered, so post what plan said.
  {
    echo "#### Plan for stack \\\`\${STACK}\\\` failed"
    echo
    echo "\${fence}text"
    tail -c 20000 "\${RUNNER_TEMP}/plan-output.txt"
    echo
    echo "\${fence}"
  } >> "\${body}"
fi
# One comment per stack, updated on each push.
comment_id="$(gh api --paginate "repos/\${REPO}/issues/\${PR_NUMBER}/comments" \\
  --jq ".[] | select(.body | startswith(\\"\${marker}\\")) | .id" | tail -n 1)"
if [ -n "\${comment_id}" ]; then
  gh api --method PATCH "repos/\${REPO}/issues/comments/\${comment_id}" -F "body=@\${body}" > /dev/null
else
  gh api --method POST "repos/\${REPO}/issues/\${PR_NUMBER}/comments" -F "body=@\${body}" > /dev/null
fi
{
  echo "### Plan for stack \\\`\${STACK}\\\`"
  if [ -f "\${dir}/plan.md" ]; then cat "\${dir}/plan.md"; else tail -c 20000 "\${RUNNER_TEMP}/plan-output.txt"; fi
} >> "\${GITHUB_STEP_SUMMARY}"
`;

const DRIFT_REPORT_SCRIPT = `set -euo pipefail
title="Drift detected in Pulumi stack \${STACK}"
run_url="\${GITHUB_SERVER_URL}/\${GITHUB_REPOSITORY}/actions/runs/\${GITHUB_RUN_ID}"
body="The scheduled drift check of stack \\\`\${STACK}\\\` failed at \${GITHUB_SHA}: refresh \${REFRESH_OUTCOME}, preview \${PREVIEW_OUTCOME}.

- preview failed: what is deployed no longer matches the program on main (changed out of band, or a change on main that was never applied). Review the run, then re-apply from main or fix the program.
- refresh failed: a host or the state backend could not be read.

Run: \${run_url}"
existing="$(gh issue list --repo "\${GITHUB_REPOSITORY}" --state open --search "in:title \\"\${title}\\"" \\
  --json number,title --jq ".[] | select(.title == \\"\${title}\\") | .number" | sed -n 1p)"
if [ -n "\${existing}" ]; then
  gh issue comment "\${existing}" --repo "\${GITHUB_REPOSITORY}" --body "\${body}"
else
  gh issue create --repo "\${GITHUB_REPOSITORY}" --title "\${title}" --body "\${body}"
fi
{
  echo "### \${title}"
  echo
  echo "\${body}"
} >> "\${GITHUB_STEP_SUMMARY}"
echo "::error title=Drift in stack \${STACK}::refresh \${REFRESH_OUTCOME}, preview \${PREVIEW_OUTCOME}: \${run_url}"
`;

function previewJob(stack: string, backend: PulumiBackend): Job {
  return {
    name: `preview ${stack}`,
    // Pull requests from forks get neither secrets nor a writable token.
    if: "github.event.pull_request.head.repo.full_name == github.repository",
    "runs-on": RUNNER,
    "timeout-minutes": 30,
    // A newer push to the same pull request supersedes this preview. Previews stay out of the
    // stack's apply group: a pending job there would replace a pending apply.
    concurrency: { group: `pulumi-preview-${stack}-\${{ github.event.pull_request.number }}`, "cancel-in-progress": true },
    steps: [
      // Two commits: the test merge and its parents, so the plan can render the base too.
      ...setupSteps(2),
      previewPlanStep(stack),
      pulumiStep("pulumi preview (with the policy pack)", "preview", "preview", stack, backend, {
        "comment-on-pr": true,
        "comment-on-summary": true,
        policyPacks: POLICY_PACK,
      }),
      {
        name: "Keep every rendered file (plan.md, plan.diff, configs, scripts)",
        if: "!cancelled() && steps.plan.outcome == 'success'",
        uses: GITHUB_ACTIONS.uploadArtifact,
        with: { name: `plan-${stack}`, path: `out/${stack}/`, "include-hidden-files": true, "retention-days": 14 },
      },
      {
        name: "Comment the plan (plan.md and the diff against the base)",
        if: "!cancelled() && (steps.plan.outcome == 'success' || steps.plan.outcome == 'failure')",
        env: {
          STACK: stack,
          REPO: "${{ github.repository }}",
          PR_NUMBER: "${{ github.event.pull_request.number }}",
          GH_TOKEN: "${{ github.token }}",
        },
        run: PLAN_COMMENT_SCRIPT,
      },
    ],
  };
}

function upJob(stack: string, previous: string | undefined, gated: boolean, backend: PulumiBackend): Job {
  return {
    name: `up ${stack}`,
    ...(previous ? { needs: [`up-${previous}`] } : {}),
    "runs-on": RUNNER,
    // A first deploy installs drivers, reboots and downloads the model.
    "timeout-minutes": 120,
    ...(gated ? { environment: { name: stack, url: "${{ steps.up.outputs.routerUrl }}" } } : {}),
    concurrency: { group: stackConcurrencyGroup(stack), "cancel-in-progress": false },
    steps: [
      ...setupSteps(),
      planStep(stack),
      pulumiStep("pulumi up (with the policy pack)", "up", "up", stack, backend, {
        "comment-on-summary": true,
        policyPacks: POLICY_PACK,
      }),
    ],
  };
}

function driftJob(stack: string, backend: PulumiBackend): Job {
  return {
    name: `drift ${stack}`,
    "runs-on": RUNNER,
    "timeout-minutes": 60,
    // refresh writes the state: it queues behind (never races) an apply of the same stack.
    concurrency: { group: stackConcurrencyGroup(stack), "cancel-in-progress": false },
    steps: [
      ...setupSteps(),
      pulumiStep("pulumi refresh", "refresh", "refresh", stack, backend, {}),
      pulumiStep("pulumi preview --expect-no-changes (with the policy pack)", "preview", "preview", stack, backend, {
        "expect-no-changes": true,
        "comment-on-summary": true,
        policyPacks: POLICY_PACK,
      }),
      {
        name: "Report drift",
        if: "failure()",
        env: {
          STACK: stack,
          REFRESH_OUTCOME: "${{ steps.refresh.outcome }}",
          PREVIEW_OUTCOME: "${{ steps.preview.outcome }}",
          GH_TOKEN: "${{ github.token }}",
        },
        run: DRIFT_REPORT_SCRIPT,
      },
    ],
  };
}

function generatedBy(options: GitopsOptions): string {
  const backend = options.backend && options.backend !== "cloud" ? ` --backend ${options.backend}` : "";
  return [
    `Generated by: npx tsx cli/gitops-init.ts --provider github --stacks ${options.stacks.join(",")}${backend}`,
    "Re-run it with --force to regenerate; change the renderer (core/gitops/) rather than this file.",
  ].join("\n");
}

function credentialsNote(backend: PulumiBackend): string {
  return backend === "cloud"
    ? [
      "Credentials: the secret PULUMI_ACCESS_TOKEN (Settings > Secrets and variables > Actions), never",
      "a file in the repository. Pulumi ESC environments listed in a stack file need nothing more.",
    ].join("\n")
    : [
      "Credentials: the secret PULUMI_CONFIG_PASSPHRASE and the variable PULUMI_BACKEND_URL (e.g.",
      "s3://bucket/prefix), never a file in the repository. Add the storage's own credentials to the",
      "Pulumi steps' env (preferably short-lived, through OIDC: then grant `id-token: write`).",
    ].join("\n");
}

function renderPreview(options: GitopsOptions, backend: PulumiBackend): string {
  const jobs = Object.fromEntries(options.stacks.map((s) => [`preview-${s}`, previewJob(s, backend)]));
  const data = {
    name: "pulumi preview",
    on: { pull_request: { branches: ["main"] } },
    permissions: { contents: "read", "pull-requests": "write" },
    jobs,
  };
  const header = [
    "On each pull request to main, for each stack: the offline plan (npm run plan) rendered at the",
    "pull request and at the base branch, and `pulumi preview` with the policy pack in policy/.",
    "The pull request gets out/<stack>/plan.md (problems, what happens to the servers, downloads,",
    "costs) with plan.diff (every rendered file and resource that merging changes) and the",
    "preview as comments; every rendered file is kept as the job's plan-<stack> artifact.",
    credentialsNote(backend),
    generatedBy(options),
  ].join("\n");
  const comments: KeyComment[] = [
    { path: ["permissions"], text: "Read the code; write pull request comments. Nothing else." },
  ];
  return toYaml(data, header, comments);
}

function renderUp(options: GitopsOptions, backend: PulumiBackend): string {
  const gated = gatedStack(options.stacks);
  const jobs = Object.fromEntries(options.stacks.map((s, i) => [`up-${s}`, upJob(s, options.stacks[i - 1], s === gated, backend)]));
  const data = {
    name: "pulumi up",
    on: { push: { branches: ["main"] }, workflow_dispatch: {} },
    permissions: { contents: "read" },
    jobs,
  };
  const header = [
    `On each push to main: \`pulumi up\` with the policy pack, stack by stack (${options.stacks.join(" -> ")}),`,
    "each only after the one before succeeded.",
    `Stack ${gated} waits for approval: create the environment "${gated}" (Settings > Environments)`,
    "with required reviewers and, if you like, a deployment branch rule for main only.",
    "Each stack's jobs share one concurrency group with the drift check (never cancelled), so",
    "two operations on a stack never run at once. GitHub keeps one pending job per group: a",
    "newer push replaces an older one still waiting, which is safe because main holds both.",
    credentialsNote(backend),
    generatedBy(options),
  ].join("\n");
  return toYaml(data, header, [{ path: ["permissions"], text: "Read the code; nothing else." }]);
}

function renderDrift(options: GitopsOptions, backend: PulumiBackend): string {
  const jobs = Object.fromEntries(options.stacks.map((s) => [`drift-${s}`, driftJob(s, backend)]));
  const data = {
    name: "pulumi drift",
    on: { schedule: [{ cron: "17 5 * * *" }], workflow_dispatch: {} },
    permissions: { contents: "read", issues: "write" },
    jobs,
  };
  const header = [
    "Every day (05:17 UTC) and on demand, for each stack: `pulumi refresh`, then",
    "`pulumi preview --expect-no-changes` with the policy pack. Any change fails the job and",
    'opens an issue "Drift detected in Pulumi stack <stack>" (or comments on the open one).',
    "The drift jobs read the same secrets as pulumi-up.yml; keep them repository secrets",
    "(environment secrets would put the drift check behind the approval gate).",
    credentialsNote(backend),
    generatedBy(options),
  ].join("\n");
  return toYaml(data, header, [{ path: ["permissions"], text: "Read the code; open and comment on drift issues." }]);
}

export function renderGithub(options: GitopsOptions): Record<string, string> {
  const backend = options.backend ?? "cloud";
  return {
    [WORKFLOW_FILES.preview]: renderPreview(options, backend),
    [WORKFLOW_FILES.up]: renderUp(options, backend),
    [WORKFLOW_FILES.drift]: renderDrift(options, backend),
  };
}
