/**
 * The scripts that post the plan on a pull request (GitHub) or merge request (GitLab), run for
 * real: the GitHub one in bash with a stub `gh` that records what it was asked to post, the
 * GitLab one in Node against an HTTP server on 127.0.0.1 standing in for the GitLab API.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderGitops } from "../../core/gitops/render";

const work = mkdtempSync(path.join(tmpdir(), "hi-comment-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const PLAN_MD = "### Plan for stack `dev`\n\n#### Problems and warnings (0 errors, 1 warning)\n";
const PLAN_DIFF = "hybrid-inference plan diff: stack dev, HEAD^1 (abc) -> this checkout\n--- a/router/command.txt\n+++ b/router/command.txt\n";

function githubCommentScript(): string {
  const wf = parse(renderGitops({ provider: "github", stacks: ["dev"] })[".github/workflows/pulumi-preview.yml"]!) as { jobs: Record<string, { steps: { name: string; run?: string }[] }> };
  const steps = wf.jobs["preview-dev"]!.steps;
  return steps[steps.length - 1]!.run!;
}

/** Runs the GitHub comment step in `dir` with a stub gh; returns the bodies it posted and the job summary. */
function runGithub(dir: string, files: Record<string, string>, planOutput: string) {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
  const bin = path.join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  const log = path.join(dir, "gh.log");
  // The stub answers the comment listing with nothing (no earlier comment) and records every POST's body file.
  writeFileSync(path.join(bin, "gh"), `#!/usr/bin/env bash
for a in "$@"; do case "$a" in body=@*) cp "\${a#body=@}" "${dir}/posted-body.md";; esac; done
echo "$*" >> "${log}"
`);
  chmodSync(path.join(bin, "gh"), 0o755);
  const temp = path.join(dir, "runner-temp");
  mkdirSync(temp, { recursive: true });
  writeFileSync(path.join(temp, "plan-output.txt"), planOutput);
  const summary = path.join(dir, "summary.md");
  const r = spawnSync("bash", ["-e", "-c", githubCommentScript()], {
    // stdin closed: bash reads ~/.bashrc when its stdin is a socket, as Node's pipes are.
    cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: `${bin}:${process.env["PATH"]}`, STACK: "dev", REPO: "o/r", PR_NUMBER: "7", GH_TOKEN: "t", RUNNER_TEMP: temp, GITHUB_STEP_SUMMARY: summary },
  });
  return { r, body: readFileSync(path.join(dir, "posted-body.md"), "utf8"), log: readFileSync(log, "utf8"), summary: readFileSync(summary, "utf8") };
}

describe("GitHub: the plan comment", () => {
  it("posts plan.md first, then the diff against the base in a diff block", () => {
    const dir = path.join(work, "gh-ok");
    const { r, body, log, summary } = runGithub(dir, { "out/dev/plan.md": PLAN_MD, "out/dev/plan.diff": PLAN_DIFF }, "");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(body.startsWith(`<!-- hybrid-inference-plan:dev -->\n${PLAN_MD}`)).toBe(true);
    expect(body).toContain(`\`\`\`\`\`diff\n${PLAN_DIFF}`);
    expect(body).toContain("</details>");
    expect(log).toContain("repos/o/r/issues/7/comments");
    expect(log).toContain("--method POST");
    expect(summary).toContain(PLAN_MD);
  });

  it("cuts a diff too long for a comment and says where the whole one is", () => {
    const dir = path.join(work, "gh-long");
    const { body } = runGithub(dir, { "out/dev/plan.md": PLAN_MD, "out/dev/plan.diff": `${"+x\n".repeat(40_000)}` }, "");
    expect(body.length).toBeLessThan(61_000);
    expect(body).toContain("_Truncated: the whole diff is in the job's plan-dev artifact._");
  });

  it("posts what plan printed when the stack has errors (nothing was rendered)", () => {
    const dir = path.join(work, "gh-failed");
    const { body } = runGithub(dir, {}, "stack dev has errors; nothing would be deployed.\nerror: hybrid-inference:hosts[0].gpu: unknown GPU\n");
    expect(body).toContain("#### Plan for stack `dev` failed");
    expect(body).toContain("error: hybrid-inference:hosts[0].gpu: unknown GPU");
  });
});

describe("GitLab: the merge request note", () => {
  it("posts plan.md, the diff and the preview in one note", async () => {
    const ci = parse(renderGitops({ provider: "gitlab", stacks: ["dev"] })[".gitlab-ci.yml"]!) as Record<string, { after_script?: string[] }>;
    const script = ci["preview:dev"]!.after_script![0]!;
    const dir = path.join(work, "gl");
    mkdirSync(path.join(dir, "out", "dev"), { recursive: true });
    writeFileSync(path.join(dir, "out", "dev", "plan.md"), PLAN_MD);
    writeFileSync(path.join(dir, "out", "dev", "plan.diff"), PLAN_DIFF);
    writeFileSync(path.join(dir, "out", "dev", "preview.txt"), "Previewing update (dev)\n");
    const received: { url: string; token: string; body: string }[] = [];
    const server = createServer((req, res) => {
      let data = "";
      req.on("data", (c: Buffer) => (data += c.toString()));
      req.on("end", () => {
        received.push({ url: req.url ?? "", token: String(req.headers["private-token"]), body: (JSON.parse(data) as { body: string }).body });
        res.writeHead(201, { "Content-Type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child: ChildProcess = spawn("bash", ["-c", script], {
          cwd: dir, stdio: ["ignore", "pipe", "pipe"],
          env: { PATH: process.env["PATH"], STACK: "dev", GITLAB_API_TOKEN: "glpat-x", CI_API_V4_URL: `http://127.0.0.1:${port}/api/v4`, CI_PROJECT_ID: "42", CI_MERGE_REQUEST_IID: "9", CI_JOB_URL: "https://ci.example/job/1" },
        });
        let stderr = "";
        child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
        child.on("close", (status) => resolve({ status, stderr }));
      });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    } finally {
      server.close();
    }
    expect(received).toHaveLength(1);
    expect(received[0]!.url).toBe("/api/v4/projects/42/merge_requests/9/notes");
    expect(received[0]!.token).toBe("glpat-x");
    const body = received[0]!.body;
    expect(body.indexOf(PLAN_MD)).toBeGreaterThan(0);
    expect(body.indexOf(PLAN_MD)).toBeLessThan(body.indexOf(PLAN_DIFF));
    expect(body).toContain(`\`\`\`\`\`diff\n${PLAN_DIFF}`);
    expect(body).toContain("Previewing update (dev)");
  }, 30_000);
});
