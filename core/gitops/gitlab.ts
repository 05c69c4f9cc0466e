/**
 * The GitLab CI equivalent of the GitHub workflows, as data: merge request previews, applies
 * on the default branch in promotion order with a manual gate on the gated stack, and a
 * scheduled drift pipeline. One `resource_group` per stack serializes every job that touches
 * a stack's state, across pipelines.
 *
 * Sources (read 2026-11): GitLab CI/CD YAML reference (`workflow:rules`, `rules:when: manual`
 * with `allow_failure: false` blocks the pipeline until someone runs the job; `resource_group`;
 * `environment:deployment_tier`; `after_script` sees `CI_JOB_STATUS`); GitLab predefined
 * variables (`CI_PIPELINE_SOURCE` is `merge_request_event`, `push`, `schedule`, `web`, …);
 * GitLab REST API (merge request notes, issues); Pulumi docs "Installing Pulumi"
 * (`curl -fsSL https://get.pulumi.com | sh -s -- --version <v>`).
 */
import { type GitopsOptions, type PulumiBackend, gatedStack } from "./options";
import { type KeyComment, toYaml } from "./yaml-doc";

export const GITLAB_FILE = ".gitlab-ci.yml";
export const GITLAB_IMAGE = "node:22-bookworm";
/** The Pulumi CLI the jobs install: the release of the `@pulumi/pulumi` SDK this project pins. */
export const PULUMI_CLI_VERSION = "3.270.0";
const POLICY_PACK = "policy";

const IS_MR = '$CI_PIPELINE_SOURCE == "merge_request_event"';
const IS_DEFAULT_BRANCH_PUSH = '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE == "push"';
const IS_SCHEDULE = '$CI_PIPELINE_SOURCE == "schedule"';
const IS_MANUAL_RUN = '$CI_PIPELINE_SOURCE == "web"';

export function stackResourceGroup(stack: string): string {
  return `pulumi-${stack}`;
}

function tier(stack: string, gated: boolean): string {
  if (gated) return "production";
  if (/stag/i.test(stack)) return "staging";
  if (/^(dev|development)$/i.test(stack)) return "development";
  return "testing";
}

/**
 * The base a merge request preview compares with: in a merged-results pipeline the target
 * branch's tip (the checkout is the merge of the two), otherwise the merge base of the merge
 * request's diff (GitLab predefined variables; CI_MERGE_REQUEST_TARGET_BRANCH_SHA exists only in
 * merged-results pipelines).
 */
export const PREVIEW_BASE_REF = "${CI_MERGE_REQUEST_TARGET_BRANCH_SHA:-$CI_MERGE_REQUEST_DIFF_BASE_SHA}";

/**
 * Posts plan.md, the diff against the base (plan.diff) and the preview output as one merge request
 * note (Node 22's fetch; no extra tools). When the stack has errors, plan wrote nothing: the note
 * carries what plan printed instead.
 */
const MR_NOTE_SCRIPT = `node --input-type=module -e '
import { existsSync, readFileSync } from "node:fs";
const { STACK, GITLAB_API_TOKEN, CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID, CI_JOB_URL } = process.env;
if (!GITLAB_API_TOKEN) {
  console.log("GITLAB_API_TOKEN is not set: no merge request note (the reports are in the job artifacts).");
  process.exit(0);
}
const read = (f, limit) => {
  if (!existsSync(f)) return undefined;
  const t = readFileSync(f, "utf8");
  return t.length > limit ? t.slice(0, limit) + "\\n... (truncated: see the job artifacts)" : t;
};
const fence = "\`\`\`\`\`";
const dir = "out/" + STACK + "/";
const plan = read(dir + "plan.md", 30000);
const diff = read(dir + "plan.diff", 30000);
const body = [
  "#### hybrid-inference: stack \`" + STACK + "\` ([job](" + CI_JOB_URL + "))",
  "", plan ?? ["npm run plan failed:", "", fence + "text", read("plan-output.txt", 20000) ?? "(no output)", fence].join("\\n"),
  ...(diff === undefined ? [] : ["", "<details><summary>What merging changes: rendered files and resources against the base (plan.diff)</summary>", "", fence + "diff", diff, fence, "</details>"]),
  "", "<details><summary>pulumi preview</summary>", "", fence + "text", read(dir + "preview.txt", 30000) ?? "(not run)", fence, "</details>",
].join("\\n");
const url = CI_API_V4_URL + "/projects/" + CI_PROJECT_ID + "/merge_requests/" + CI_MERGE_REQUEST_IID + "/notes";
const res = await fetch(url, { method: "POST", headers: { "PRIVATE-TOKEN": GITLAB_API_TOKEN, "Content-Type": "application/json" }, body: JSON.stringify({ body }) });
if (!res.ok) { console.error("posting the note failed: " + res.status + " " + (await res.text())); process.exit(1); }
'`;

/** Opens (or comments on) a drift issue when the job failed. Runs in after_script. */
const DRIFT_ISSUE_SCRIPT = `node --input-type=module -e '
const { STACK, CI_JOB_STATUS, GITLAB_API_TOKEN, CI_API_V4_URL, CI_PROJECT_ID, CI_JOB_URL, CI_COMMIT_SHA } = process.env;
if (CI_JOB_STATUS !== "failed") process.exit(0);
const title = "Drift detected in Pulumi stack " + STACK;
const body = "The scheduled drift check of stack \`" + STACK + "\` failed at " + CI_COMMIT_SHA + ": " + CI_JOB_URL +
  "\\n\\nA failed preview with --expect-no-changes means what is deployed no longer matches the program on the default branch; a failed refresh means a host or the state backend could not be read.";
console.log("ERROR: " + title + ": " + CI_JOB_URL);
if (!GITLAB_API_TOKEN) { console.log("GITLAB_API_TOKEN is not set: no issue opened."); process.exit(0); }
const api = CI_API_V4_URL + "/projects/" + CI_PROJECT_ID;
const headers = { "PRIVATE-TOKEN": GITLAB_API_TOKEN, "Content-Type": "application/json" };
const open = await (await fetch(api + "/issues?state=opened&in=title&search=" + encodeURIComponent(title), { headers })).json();
const same = Array.isArray(open) ? open.find((i) => i.title === title) : undefined;
const res = same
  ? await fetch(api + "/issues/" + same.iid + "/notes", { method: "POST", headers, body: JSON.stringify({ body }) })
  : await fetch(api + "/issues", { method: "POST", headers, body: JSON.stringify({ title, description: body }) });
if (!res.ok) console.error("reporting the drift failed: " + res.status + " " + (await res.text()));
'`;

function loginScript(backend: PulumiBackend): string[] {
  // Pulumi Cloud: the CLI reads PULUMI_ACCESS_TOKEN itself. Self-managed: log in to the URL.
  return backend === "cloud" ? [] : ['pulumi login "$PULUMI_BACKEND_URL"'];
}

type Job = Readonly<Record<string, unknown>>;

function previewJob(stack: string): Job {
  return {
    extends: ".pulumi",
    stage: "preview",
    rules: [{ if: IS_MR }],
    // The whole history: the plan renders the base commit as well (plan --against).
    variables: { STACK: stack, GIT_DEPTH: "0" },
    script: [
      "set -o pipefail",
      `npm run plan -- --stack "$STACK" --against "${PREVIEW_BASE_REF}" 2>&1 | tee plan-output.txt`,
      `pulumi preview --stack "$STACK" --policy-pack ${POLICY_PACK} --non-interactive --diff 2>&1 | tee "out/$STACK/preview.txt"`,
    ],
    after_script: [MR_NOTE_SCRIPT],
    artifacts: { when: "always", expire_in: "2 weeks", paths: [`out/${stack}/`, "plan-output.txt"] },
  };
}

function deployJob(stack: string, previous: string | undefined, gated: boolean): Job {
  return {
    extends: ".pulumi",
    stage: "deploy",
    rules: [gated ? { if: IS_DEFAULT_BRANCH_PUSH, when: "manual" } : { if: IS_DEFAULT_BRANCH_PUSH }],
    ...(gated ? { allow_failure: false } : {}),
    ...(previous ? { needs: [`deploy:${previous}`] } : {}),
    resource_group: stackResourceGroup(stack),
    environment: { name: stack, deployment_tier: tier(stack, gated) },
    variables: { STACK: stack },
    timeout: "2h",
    script: [
      'npm run plan -- --stack "$STACK"',
      `pulumi up --stack "$STACK" --policy-pack ${POLICY_PACK} --yes --non-interactive --diff`,
    ],
  };
}

function driftJob(stack: string): Job {
  return {
    extends: ".pulumi",
    stage: "drift",
    rules: [{ if: IS_SCHEDULE }, { if: IS_MANUAL_RUN, when: "manual" }],
    resource_group: stackResourceGroup(stack),
    variables: { STACK: stack },
    script: [
      'pulumi refresh --stack "$STACK" --yes --non-interactive --skip-preview',
      `pulumi preview --stack "$STACK" --policy-pack ${POLICY_PACK} --expect-no-changes --non-interactive --diff`,
    ],
    after_script: [DRIFT_ISSUE_SCRIPT],
  };
}

export function renderGitlab(options: GitopsOptions): Record<string, string> {
  const backend = options.backend ?? "cloud";
  const gated = gatedStack(options.stacks);
  const jobs: Record<string, Job> = {};
  for (const s of options.stacks) jobs[`preview:${s}`] = previewJob(s);
  options.stacks.forEach((s, i) => (jobs[`deploy:${s}`] = deployJob(s, options.stacks[i - 1], s === gated)));
  for (const s of options.stacks) jobs[`drift:${s}`] = driftJob(s);

  const data = {
    workflow: {
      rules: [{ if: IS_MR }, { if: IS_DEFAULT_BRANCH_PUSH }, { if: IS_SCHEDULE }, { if: IS_MANUAL_RUN }],
    },
    stages: ["preview", "deploy", "drift"],
    default: { image: GITLAB_IMAGE, interruptible: false },
    variables: {
      PULUMI_VERSION: PULUMI_CLI_VERSION,
      // The program writes the SSH key file for OpenSSH here (components/ssh-key-file.ts).
      HYBRID_INFERENCE_KEY_DIR: "/tmp/hybrid-inference-keys",
      npm_config_cache: "$CI_PROJECT_DIR/.npm",
    },
    ".pulumi": {
      cache: { key: { files: ["package-lock.json"] }, paths: [".npm/"] },
      before_script: [
        'curl -fsSL https://get.pulumi.com | sh -s -- --version "$PULUMI_VERSION"',
        'export PATH="$HOME/.pulumi/bin:$PATH"',
        ...loginScript(backend),
        "npm ci",
      ],
    },
    ...jobs,
  };
  const credentials = backend === "cloud"
    ? [
      "Credentials: the masked CI/CD variable PULUMI_ACCESS_TOKEN (Settings > CI/CD > Variables), never a",
      "file in the repository; Pulumi ESC environments in a stack file need nothing more. Merge request",
      "pipelines run on unprotected branches: a protected variable is not visible to the previews.",
    ]
    : [
      "Credentials: the masked CI/CD variables PULUMI_CONFIG_PASSPHRASE and PULUMI_BACKEND_URL (e.g.",
      "s3://bucket/prefix) plus the storage's own credentials, never a file in the repository.",
    ];
  const header = [
    "Pulumi pipelines for a hybrid-inference repository:",
    "- merge requests: per stack, the offline plan (plan.md, and plan.diff: what merging changes in",
    "  every rendered file and resource, against the target branch) and `pulumi preview` with the",
    "  policy pack, posted as a merge request note when GITLAB_API_TOKEN (a project access token,",
    "  api scope) is set;",
    `- the default branch: \`pulumi up\` per stack in order (${options.stacks.join(" -> ")}); ${gated} waits`,
    "  for someone to run its manual job (protect the environment to choose who may);",
    "- schedules (CI/CD > Schedules, e.g. daily): `pulumi refresh` then `pulumi preview",
    "  --expect-no-changes`; drift fails the job and opens an issue when GITLAB_API_TOKEN is set.",
    "Every job that changes a stack's state holds that stack's resource_group, so they never race.",
    ...credentials,
    `Generated by: npx tsx cli/gitops-init.ts --provider gitlab --stacks ${options.stacks.join(",")}${backend === "cloud" ? "" : ` --backend ${backend}`}`,
    "Re-run it with --force to regenerate; change the renderer (core/gitops/) rather than this file.",
  ].join("\n");
  const comments: KeyComment[] = [
    { path: ["workflow"], text: "Merge request pipelines, default-branch pushes, schedules and manual runs; no duplicate branch pipelines." },
    { path: [".pulumi"], text: `Shared by every job: the pinned Pulumi CLI and the project's npm dependencies.` },
  ];
  return { [GITLAB_FILE]: toYaml(data, header, comments) };
}
