/**
 * The rendered pipelines: valid YAML, the triggers and jobs the delivery model needs, and the
 * templates in templates/gitops/ exactly what the renderer produces for dev, staging, prod.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseDocument } from "yaml";
import { DEFAULT_STACKS, GitopsOptionsError, gatedStack, renderGitops } from "../../core/gitops/render";

const ROOT = path.join(__dirname, "..", "..");
const STACKS = ["dev", "staging", "prod"];

interface Step {
  readonly name?: string;
  readonly id?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, string>;
}
interface Job {
  readonly name?: string;
  readonly if?: string;
  readonly needs?: string[];
  readonly environment?: { name: string; url?: string };
  readonly concurrency?: { group: string; "cancel-in-progress": boolean };
  readonly steps: Step[];
}
interface Workflow {
  readonly name: string;
  readonly on: Record<string, unknown>;
  readonly permissions: Record<string, string>;
  readonly jobs: Record<string, Job>;
}

function yamlOf<T>(text: string): T {
  const doc = parseDocument(text);
  expect(doc.errors).toEqual([]);
  expect(doc.warnings).toEqual([]);
  return doc.toJS() as T;
}

const github = renderGitops({ provider: "github", stacks: STACKS });
const workflow = (file: string, files: Readonly<Record<string, string>> = github): Workflow => yamlOf<Workflow>(files[`.github/workflows/${file}`]!);
const pulumiStep = (job: Job, id: string): Step => {
  const step = job.steps.find((s) => s.id === id);
  expect(step, `step ${id}`).toBeDefined();
  expect(step!.uses).toBe("pulumi/actions@v7");
  return step!;
};

describe("templates/gitops", () => {
  it("holds exactly what the renderer writes for dev, staging and prod", () => {
    expect(DEFAULT_STACKS).toEqual(STACKS);
    for (const provider of ["github", "gitlab"] as const) {
      for (const [rel, content] of Object.entries(renderGitops({ provider, stacks: STACKS }))) {
        expect(readFileSync(path.join(ROOT, "templates", "gitops", provider, rel), "utf8"), `${provider}/${rel}: re-run gitops-init --force into templates/gitops/${provider}`).toBe(content);
      }
    }
  });

  it("renders three GitHub workflows and one GitLab file, each valid YAML", () => {
    expect(Object.keys(github).sort()).toEqual([".github/workflows/pulumi-drift.yml", ".github/workflows/pulumi-preview.yml", ".github/workflows/pulumi-up.yml"]);
    const gitlab = renderGitops({ provider: "gitlab", stacks: STACKS });
    expect(Object.keys(gitlab)).toEqual([".gitlab-ci.yml"]);
    for (const text of [...Object.values(github), ...Object.values(gitlab)]) expect(parse(text)).toBeTypeOf("object");
  });
});

describe("GitHub: pull request preview", () => {
  const wf = workflow("pulumi-preview.yml");

  it("runs on pull requests to main, with read access and pull request comments only", () => {
    expect(Object.keys(wf.on)).toEqual(["pull_request"]);
    expect(wf.on["pull_request"]).toEqual({ branches: ["main"] });
    expect(wf.permissions).toEqual({ contents: "read", "pull-requests": "write" });
  });

  it("previews each stack with the policy pack, plans it against the base branch, and comments plan.md with the diff", () => {
    expect(Object.keys(wf.jobs)).toEqual(STACKS.map((s) => `preview-${s}`));
    for (const stack of STACKS) {
      const job = wf.jobs[`preview-${stack}`]!;
      expect(job.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
      // The test merge commit and its parents: HEAD^1 is the base branch's tip.
      expect(job.steps[0]!.with).toMatchObject({ "fetch-depth": 2 });
      const plan = job.steps.find((s) => s.id === "plan")!;
      expect(plan.run).toContain('npm run plan -- --stack "${STACK}" --against HEAD^1 2>&1 | tee "${RUNNER_TEMP}/plan-output.txt"');
      expect(plan.run!.split("\n")[0]).toBe("set -o pipefail");
      expect(plan.env).toEqual({ STACK: stack });
      const preview = pulumiStep(job, "preview");
      expect(preview.with).toMatchObject({ command: "preview", "stack-name": stack, "work-dir": ".", "comment-on-pr": true, policyPacks: "policy" });
      const artifact = job.steps.find((s) => s.uses === "actions/upload-artifact@v4")!;
      expect(artifact.with).toMatchObject({ name: `plan-${stack}`, path: `out/${stack}/` });
      const comment = job.steps[job.steps.length - 1]!;
      expect(comment.if).toBe("!cancelled() && (steps.plan.outcome == 'success' || steps.plan.outcome == 'failure')");
      expect(comment.env).toMatchObject({ STACK: stack, GH_TOKEN: "${{ github.token }}" });
      expect(comment.run).toContain('"${dir}/plan.md"');
      expect(comment.run).toContain('"${dir}/plan.diff"');
      expect(comment.run).toContain("gh api --method POST");
      // A preview never joins the stack's apply group: it would replace a pending apply.
      expect(job.concurrency!.group).toBe(`pulumi-preview-${stack}-\${{ github.event.pull_request.number }}`);
    }
  });

  it("sets up Node 22 and installs with npm ci before anything runs", () => {
    for (const job of Object.values(wf.jobs)) {
      expect(job.steps.slice(0, 3).map((s) => s.uses ?? s.run)).toEqual(["actions/checkout@v5", "actions/setup-node@v5", "npm ci"]);
      expect(job.steps[1]!.with).toMatchObject({ "node-version": "22" });
    }
  });
});

describe("GitHub: apply on merge", () => {
  const wf = workflow("pulumi-up.yml");

  it("runs on pushes to main (and by hand), reading the code only", () => {
    expect(wf.on).toEqual({ push: { branches: ["main"] }, workflow_dispatch: {} });
    expect(wf.permissions).toEqual({ contents: "read" });
  });

  it("applies dev, then staging, then prod, prod behind its environment", () => {
    expect(Object.keys(wf.jobs)).toEqual(["up-dev", "up-staging", "up-prod"]);
    expect(wf.jobs["up-dev"]!.needs).toBeUndefined();
    expect(wf.jobs["up-staging"]!.needs).toEqual(["up-dev"]);
    expect(wf.jobs["up-prod"]!.needs).toEqual(["up-staging"]);
    expect(wf.jobs["up-prod"]!.environment).toEqual({ name: "prod", url: "${{ steps.up.outputs.routerUrl }}" });
    expect(wf.jobs["up-dev"]!.environment).toBeUndefined();
    expect(wf.jobs["up-staging"]!.environment).toBeUndefined();
    for (const stack of STACKS) {
      expect(pulumiStep(wf.jobs[`up-${stack}`]!, "up").with).toMatchObject({ command: "up", "stack-name": stack, policyPacks: "policy" });
    }
  });

  it("gives each stack one concurrency group that never cancels a running apply", () => {
    for (const stack of STACKS) {
      expect(wf.jobs[`up-${stack}`]!.concurrency).toEqual({ group: `pulumi-${stack}`, "cancel-in-progress": false });
    }
  });
});

describe("GitHub: scheduled drift check", () => {
  const wf = workflow("pulumi-drift.yml");

  it("runs on a schedule (and by hand) and may open issues", () => {
    expect(Object.keys(wf.on)).toEqual(["schedule", "workflow_dispatch"]);
    expect(wf.on["schedule"]).toEqual([{ cron: "17 5 * * *" }]);
    expect(wf.permissions).toEqual({ contents: "read", issues: "write" });
  });

  it("refreshes each stack, then previews it expecting no changes, in the stack's apply group", () => {
    const up = workflow("pulumi-up.yml");
    for (const stack of STACKS) {
      const job = wf.jobs[`drift-${stack}`]!;
      const refresh = pulumiStep(job, "refresh");
      const preview = pulumiStep(job, "preview");
      expect(job.steps.indexOf(refresh)).toBeLessThan(job.steps.indexOf(preview));
      expect(refresh.with).toMatchObject({ command: "refresh", "stack-name": stack });
      expect(preview.with).toMatchObject({ command: "preview", "stack-name": stack, "expect-no-changes": true, policyPacks: "policy" });
      expect(job.concurrency).toEqual(up.jobs[`up-${stack}`]!.concurrency);
    }
  });

  it("fails loudly: a failure opens or updates an issue and writes an error annotation", () => {
    for (const job of Object.values(wf.jobs)) {
      const report = job.steps[job.steps.length - 1]!;
      expect(report.if).toBe("failure()");
      expect(report.run).toContain("gh issue create");
      expect(report.run).toContain("gh issue comment");
      expect(report.run).toContain("::error title=Drift in stack");
      expect(report.env).toMatchObject({ REFRESH_OUTCOME: "${{ steps.refresh.outcome }}", PREVIEW_OUTCOME: "${{ steps.preview.outcome }}" });
    }
  });
});

describe("GitHub: credentials and pinning", () => {
  it("reads credentials only from the secret store, only into step env, and pins every action to a release tag", () => {
    for (const text of Object.values(github)) {
      const secrets = [...text.matchAll(/\$\{\{\s*secrets\.([A-Z_]+)\s*\}\}/g)].map((m) => m[1]);
      expect(new Set(secrets)).toEqual(new Set(["PULUMI_ACCESS_TOKEN"]));
      for (const line of text.split("\n").filter((l) => l.includes("secrets."))) expect(line).toMatch(/^\s+PULUMI_ACCESS_TOKEN: \$\{\{ secrets\.PULUMI_ACCESS_TOKEN \}\}$/);
      for (const m of text.matchAll(/uses: (\S+)/g)) expect(m[1]).toMatch(/^[\w.-]+\/[\w.-]+@v\d+(\.\d+){0,2}$/);
    }
  });

  it("uses the passphrase and the backend URL variable for a self-managed backend", () => {
    const files = renderGitops({ provider: "github", stacks: STACKS, backend: "self-managed" });
    const step = pulumiStep(workflow("pulumi-up.yml", files).jobs["up-dev"]!, "up");
    expect(step.with).toMatchObject({ "cloud-url": "${{ vars.PULUMI_BACKEND_URL }}" });
    expect(step.env).toMatchObject({ PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}" });
    expect(Object.values(files).join("\n")).not.toContain("PULUMI_ACCESS_TOKEN");
  });
});

describe("stack lists", () => {
  it("gates the last stack named prod, else the last stack", () => {
    expect(gatedStack(["dev", "staging", "prod"])).toBe("prod");
    expect(gatedStack(["prod", "dr"])).toBe("prod");
    expect(gatedStack(["qa", "live"])).toBe("live");
    const wf = workflow("pulumi-up.yml", renderGitops({ provider: "github", stacks: ["qa", "live"] }));
    expect(Object.keys(wf.jobs)).toEqual(["up-qa", "up-live"]);
    expect(wf.jobs["up-live"]!.environment!.name).toBe("live");
    expect(wf.jobs["up-live"]!.needs).toEqual(["up-qa"]);
    expect(wf.jobs["up-qa"]!.environment).toBeUndefined();
  });

  it("refuses names that cannot be jobs or groups, duplicates and an empty list", () => {
    const problems = (stacks: string[]) => {
      try {
        renderGitops({ provider: "github", stacks });
      } catch (e) {
        expect(e).toBeInstanceOf(GitopsOptionsError);
        return (e as GitopsOptionsError).problems;
      }
      return [];
    };
    expect(problems(["dev", "x.y", "-a", "dev"])).toEqual([
      'stack name "x.y" is not usable: it must start with a letter and contain only letters, digits, "-" or "_" (at most 63 characters)',
      'stack name "-a" is not usable: it must start with a letter and contain only letters, digits, "-" or "_" (at most 63 characters)',
      'stack "dev" is listed more than once',
    ]);
    expect(problems([])).toEqual(["no stacks given: pass them in promotion order, e.g. --stacks dev,staging,prod"]);
  });
});

describe("GitLab CI", () => {
  interface GitlabJob {
    readonly stage: string;
    readonly rules: { if: string; when?: string }[];
    readonly needs?: string[];
    readonly resource_group?: string;
    readonly environment?: { name: string; deployment_tier: string };
    readonly allow_failure?: boolean;
    readonly script: string[];
    readonly after_script?: string[];
  }
  const ci = yamlOf<Record<string, unknown>>(renderGitops({ provider: "gitlab", stacks: STACKS })[".gitlab-ci.yml"]!);
  const job = (name: string) => ci[name] as GitlabJob;

  it("has preview, deploy and drift stages and pipelines only for MRs, the default branch, schedules and manual runs", () => {
    expect(ci["stages"]).toEqual(["preview", "deploy", "drift"]);
    expect((ci["workflow"] as { rules: { if: string }[] }).rules.map((r) => r.if)).toEqual([
      '$CI_PIPELINE_SOURCE == "merge_request_event"',
      '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE == "push"',
      '$CI_PIPELINE_SOURCE == "schedule"',
      '$CI_PIPELINE_SOURCE == "web"',
    ]);
  });

  it("previews each stack with the policy pack on merge requests, plans it against the target branch and keeps the reports", () => {
    for (const stack of STACKS) {
      const j = job(`preview:${stack}`);
      expect(j.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }]);
      expect((j as unknown as { variables: Record<string, string> }).variables).toEqual({ STACK: stack, GIT_DEPTH: "0" });
      expect(j.script.join("\n")).toContain('npm run plan -- --stack "$STACK" --against "${CI_MERGE_REQUEST_TARGET_BRANCH_SHA:-$CI_MERGE_REQUEST_DIFF_BASE_SHA}" 2>&1 | tee plan-output.txt');
      expect(j.script.join("\n")).toContain('pulumi preview --stack "$STACK" --policy-pack policy');
      expect(j.after_script!.join("\n")).toContain("/merge_requests/");
    }
  });

  it("deploys in order on the default branch, one resource group per stack, prod behind a manual job", () => {
    expect(job("deploy:dev").needs).toBeUndefined();
    expect(job("deploy:staging").needs).toEqual(["deploy:dev"]);
    expect(job("deploy:prod").needs).toEqual(["deploy:staging"]);
    expect(job("deploy:prod").rules).toEqual([{ if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE == "push"', when: "manual" }]);
    expect(job("deploy:prod").allow_failure).toBe(false);
    expect(job("deploy:prod").environment).toEqual({ name: "prod", deployment_tier: "production" });
    expect(job("deploy:staging").rules[0]!.when).toBeUndefined();
    for (const stack of STACKS) {
      expect(job(`deploy:${stack}`).resource_group).toBe(`pulumi-${stack}`);
      expect(job(`deploy:${stack}`).script.join("\n")).toContain('pulumi up --stack "$STACK" --policy-pack policy --yes');
    }
  });

  it("checks drift on schedules: refresh, then preview expecting no changes, in the stack's resource group", () => {
    for (const stack of STACKS) {
      const j = job(`drift:${stack}`);
      expect(j.rules[0]).toEqual({ if: '$CI_PIPELINE_SOURCE == "schedule"' });
      expect(j.resource_group).toBe(`pulumi-${stack}`);
      expect(j.script[0]).toMatch(/^pulumi refresh --stack "\$STACK" --yes/);
      expect(j.script[1]).toContain("--expect-no-changes");
      expect(j.script[1]).toContain("--policy-pack policy");
      expect(j.after_script!.join("\n")).toContain('CI_JOB_STATUS !== "failed"');
    }
  });
});
