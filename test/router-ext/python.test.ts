/**
 * The extension's Python side without a proxy: its unit tests (test/router-ext/python,
 * run with the pinned LiteLLM venv's interpreter, which the router image also runs),
 * `mypy --strict` against the pinned LiteLLM's own types, and the settings schema: what
 * core/render/router-extension.ts renders for the shipped stacks is what settings.py reads.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { routerExtension, routerExtensionInput } from "../../core/render/router-extension";
import { liteLlmExecutable } from "../router-harness/litellm-proxy";
import { planOf, shippedStack } from "../router/router-fixture";

const REPO = path.resolve(__dirname, "..", "..");
const PACKAGE_ROOT = path.join(REPO, "templates", "router");
/** prometheus_client (scripts/install-prometheus.sh), which the router image ships: the exporter's tests and types. */
const PROMETHEUS_CLIENT = path.join(REPO, ".venv", "prometheus-client");
const python = liteLlmExecutable().python;
const tmp = mkdtempSync(path.join(os.tmpdir(), "router-ext-py-"));

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}): { status: number | null; output: string } {
  const res = spawnSync(python, args, { cwd: REPO, env: { PATH: process.env["PATH"] ?? "", PYTHONPATH: [PACKAGE_ROOT, PROMETHEUS_CLIENT].join(path.delimiter), ...env }, encoding: "utf8", timeout: 300_000 });
  return { status: res.status, output: `${res.stdout}\n${res.stderr}` };
}

describe("router extension: Python", () => {
  it("passes its unit tests", () => {
    expect(existsSync(path.join(PROMETHEUS_CLIENT, "prometheus_client")), "prometheus_client is missing: run bash scripts/install-prometheus.sh").toBe(true);
    const res = run(["-W", "ignore::ResourceWarning", "-m", "unittest", "discover", "-s", "test/router-ext/python", "-t", "test/router-ext/python"]);
    expect(res.status, res.output).toBe(0);
    expect(res.output).toMatch(/Ran \d+ tests/);
  }, 300_000);

  it("is mypy --strict clean against the pinned LiteLLM", () => {
    const mypy = path.join(REPO, ".venv", "mypy", "bin", "mypy");
    expect(existsSync(mypy), "mypy is missing: run bash scripts/install-mypy.sh").toBe(true);
    const res = spawnSync(mypy, ["--python-executable", python, "--strict", "--follow-imports=silent", "--cache-dir", path.join(tmp, "mypy-cache"), "hybrid_router"], {
      cwd: PACKAGE_ROOT,
      // prometheus_client is not in the LiteLLM venv (see install-prometheus.sh); it ships its own types.
      env: { ...process.env, MYPYPATH: PROMETHEUS_CLIENT },
      encoding: "utf8",
      timeout: 600_000,
    });
    expect(res.status, `${res.stdout}${res.stderr}`).toBe(0);
  }, 600_000);

  it.each(["dev", "staging", "prod"])("reads the settings rendered for the %s stack", (stack) => {
    const plan = planOf(shippedStack(stack));
    const options = { escalation: { enabled: plan.router.frontier.length > 0, minMeanLogprob: -1 }, midStream: "continue" as const };
    const settings = routerExtension(routerExtensionInput(plan, options)).settings;
    const file = path.join(tmp, `${stack}.json`);
    writeFileSync(file, JSON.stringify(settings));
    const out = execFileSync(
      python,
      ["-c", "import sys; from hybrid_router.settings import load_settings; from pathlib import Path; s = load_settings(Path(sys.argv[1])); print(len(s.engines), len(s.deployments), s.engine_timeouts.first_token_s, s.mid_stream.mode)", file],
      { env: { PATH: process.env["PATH"] ?? "", PYTHONPATH: PACKAGE_ROOT }, encoding: "utf8" },
    ).trim();
    expect(out).toBe(`${plan.hosts.length} ${Object.keys(settings.deployments).length} ${settings.engine_timeouts.first_token_s.toFixed(1)} continue`);
  }, 60_000);

  it("refuses a settings file from another version, saying what to do", () => {
    const settings = { ...routerExtension(routerExtensionInput(planOf(shippedStack("dev")))).settings, version: 99 };
    const file = path.join(tmp, "bad.json");
    writeFileSync(file, JSON.stringify(settings));
    const res = run(["-c", "import sys; from pathlib import Path; from hybrid_router.settings import load_settings; load_settings(Path(sys.argv[1]))", file]);
    expect(res.status).not.toBe(0);
    expect(res.output).toContain("settings.version: 99, but this package reads version 1; render the settings and the package from the same hybrid-inference version");
  }, 60_000);
});
