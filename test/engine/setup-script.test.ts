/**
 * scripts/setup-test-tools.sh starts the Pulumi build in the background (it is the longest
 * install on a fresh machine) while the other installs run. A background job's failure is easy
 * to lose: these tests run the real script, copied beside stub install scripts, and check that
 * a failed build fails the setup (and so `npm test`), with its exit status and a message, and
 * that a failed install does not leave the build running behind it.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { REPO } from "./toolchain";

const SCRIPT = path.join(REPO, "scripts", "setup-test-tools.sh");

/** The scripts setup-test-tools.sh runs (`${here}/<name>.sh`), read from it so a new install is stubbed too. */
function calledScripts(): string[] {
  return [...new Set([...readFileSync(SCRIPT, "utf8").matchAll(/\$\{here\}\/([\w-]+\.sh)/g)].map((m) => m[1] ?? ""))];
}

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A copy of the script with each called script replaced by `bodies[name]` (default: succeed). */
function sandbox(bodies: Record<string, string>): string {
  dir = mkdtempSync(path.join(tmpdir(), "hi-setup-script-"));
  copyFileSync(SCRIPT, path.join(dir, "setup-test-tools.sh"));
  for (const name of calledScripts()) {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/usr/bin/env bash\nset -euo pipefail\ncd "$(dirname "$0")"\n${bodies[name] ?? "exit 0"}\n`);
    chmodSync(file, 0o755);
  }
  return dir;
}

function run(d: string): { status: number | null; stderr: string } {
  const r = spawnSync("bash", [path.join(d, "setup-test-tools.sh")], { encoding: "utf8", timeout: 30_000 });
  return { status: r.status, stderr: r.stderr };
}

/** True while the process exists and is not a zombie (an orphan nobody has reaped yet is dead). */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(stat, "utf8"));
  } catch {
    return false;
  }
}

describe("scripts/setup-test-tools.sh and its background Pulumi build", () => {
  it("runs the Pulumi build and every other install", () => {
    expect(calledScripts()).toContain("build-pulumi.sh");
    expect(calledScripts().length).toBeGreaterThan(1);
  });

  it("a failed Pulumi build fails the setup with its exit status, even when it finishes after the other installs", () => {
    // The build fails last: its status must still be collected, not lost with the background job.
    const d = sandbox({ "build-pulumi.sh": "sleep 1\necho 'go not found' >&2\nexit 1" });
    const r = run(d);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("go not found");
    expect(r.stderr).toContain("[setup-test-tools] scripts/build-pulumi.sh failed with exit status 1");
  });

  it("a failed Pulumi build fails the setup when it finishes before the other installs", () => {
    const d = sandbox({ "build-pulumi.sh": "exit 3", "install-sshd.sh": "sleep 1" });
    expect(run(d).status).toBe(3);
  });

  it("succeeds when the build and every install succeed, and says nothing about the build", () => {
    const d = sandbox({ "build-pulumi.sh": "sleep 0.5\necho built > built" });
    const r = run(d);
    expect(r.status).toBe(0);
    expect(readFileSync(path.join(d, "built"), "utf8")).toBe("built\n");
    expect(r.stderr).not.toContain("failed");
  });

  it("a failed install fails the setup and stops the build still running (and the compilers it started)", async () => {
    const d = sandbox({
      // Stands in for go build: a child process that would run on for a minute.
      "build-pulumi.sh": "sleep 60 &\necho $! > compiler.pid\nwait\necho finished > finished",
      "install-litellm.sh": "for _ in $(seq 50); do [[ -f compiler.pid ]] && break; sleep 0.1; done\necho 'pip failed' >&2\nexit 7",
    });
    const r = run(d);
    expect(r.status).toBe(7);
    expect(r.stderr).toContain("pip failed");
    const pid = Number(readFileSync(path.join(d, "compiler.pid"), "utf8"));
    expect(pid).toBeGreaterThan(0);
    // SIGTERM was sent before the script exited; give the process a moment to go.
    for (let i = 0; i < 40 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid), `the build's child ${pid} still runs after the setup failed`).toBe(false);
    expect(existsSync(path.join(d, "finished"))).toBe(false);
  });
});
