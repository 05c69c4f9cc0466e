/**
 * The readiness gate's own check (the Python program inside templates/engine/readiness.sh, as
 * the rendered step carries it), run here against services on 127.0.0.1: what the gate runs
 * inside a container with `docker exec`, run with this machine's python3 and the environment
 * the container would have.
 */
import { spawn } from "node:child_process";
import { readinessProbeProgram } from "../../core/render/readiness";

/** Runs the check once, as `python3 - <mode> <probes>` with `env` only (plus PATH); asynchronous, so stubs in this process keep answering. */
export function runProbe(mode: string, probes: unknown, env: Readonly<Record<string, string>>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", ["-", mode, JSON.stringify(probes)], { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(readinessProbeProgram());
  });
}
