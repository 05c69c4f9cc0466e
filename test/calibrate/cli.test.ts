/**
 * `npm run calibrate` end to end, on temporary copies of the shipped stack files: what it writes,
 * that the rest of the file is untouched (comments included), and that a bad file leaves the stack
 * file byte for byte as it was, with a message naming the file and what was expected.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MEASURED_KEY } from "../../core/calibrate/stack-file";
import { parseStackYaml } from "../../core/config/source";
import { loadPlan } from "../../core/load";

const root = path.join(__dirname, "..", "..");
const tsx = path.join(root, "node_modules", ".bin", "tsx");
const fixtures = path.join(__dirname, "fixtures");
const work = mkdtempSync(path.join(tmpdir(), "hi-calibrate-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A fresh copy of a shipped stack file, named as the stack. */
function copyOf(stack: string, dir = mkdtempSync(path.join(work, "stack-"))): string {
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  copyFileSync(path.join(root, "stacks", `Pulumi.${stack}.yaml`), file);
  return file;
}

function calibrate(...args: string[]) {
  return spawnSync(tsx, [path.join(root, "cli", "calibrate.ts"), ...args], { cwd: root, encoding: "utf8", timeout: 60_000 });
}

const from = (...files: string[]) => files.flatMap((f) => ["--from", path.join(fixtures, f)]);

/** The text with the measured key (its comment and entries) cut out. */
function withoutMeasured(text: string): string {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`  ${MEASURED_KEY}:`));
  let first = start;
  while (first > 0 && lines[first - 1]!.startsWith("  #")) first--;
  let end = start + 1;
  while (end < lines.length && (lines[end]!.startsWith("    ") || lines[end] === "")) end++;
  return [...lines.slice(0, first), ...lines.slice(end)].join("\n");
}

describe("npm run calibrate", () => {
  it("writes the host's measured entry from vLLM's files, leaves every other line and comment as it was, and the stack plans from it", () => {
    const file = copyOf("staging");
    const before = readFileSync(file, "utf8");
    const r = calibrate("--file", file, ...from("bench-c1.json", "bench-c4.json", "bench-c16.json", "engine-startup.log"));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const after = readFileSync(file, "utf8");
    expect(withoutMeasured(after)).toBe(before);
    expect(after).toContain([
      "  # Written by `npm run calibrate`: capacity measured on the hosts by vLLM itself. It takes",
      "  # precedence over the capacity model's estimate (README, \"Measuring capacity on your hosts\").",
      `  ${MEASURED_KEY}:`,
      "    stg-gpu-1:",
      '      measured_on: "2026-11-30"',
    ].join("\n"));
    expect(after).toContain("        - { concurrency: 16, requests_per_s: 1.2309, output_tokens_per_s: 492.4, ttft_ms: 390.2, tpot_ms: 31.6 }");
    // The entry sits before the secrets, and the file plans with it in use.
    expect(after.indexOf(`${MEASURED_KEY}:`)).toBeLessThan(after.indexOf("hybrid-inference:sshPrivateKey:"));
    const { plan } = loadPlan(parseStackYaml(after, "staging"));
    const host = plan!.hosts[0]!;
    expect(host.measured?.kvTokens?.measured).toBe(35_984);
    expect(host.measured?.curve?.points.map((p) => p.concurrency)).toEqual([1, 4, 16]);
    // 35,984 tokens hold 18 requests of 1500 + 400 tokens, so the measured level 16 is inside the engine.
    expect(host.replicaCapacity.maxConcurrency).toBe(18);
    expect(r.stdout).toContain("KV cache: 35,984 tokens per replica measured, 29,003 estimated (+24%)");
    expect(r.stdout).toMatch(/router limit: 53 rpm before, \d+ rpm now/);
    expect(r.stdout).toContain(`router rpm ${host.capacity.routerRpm} (estimate`);
  }, 60_000);

  it("replaces the host's entry on a second run, and reads the benchmark step's file", () => {
    const file = copyOf("staging");
    expect(calibrate("--file", file, ...from("engine-startup.log")).status).toBe(0);
    const once = readFileSync(file, "utf8");
    const benchmark = path.join(work, "benchmark.json");
    writeFileSync(benchmark, JSON.stringify({
      kind: "hybrid-inference/benchmark", version: 1, stack: "staging", host: "stg-gpu-1", engine_image: "vllm/vllm-openai:v0.33.0", engine_fingerprint: "ab",
      started_at: "2026-12-01T09:00:00Z", finished_at: "2026-12-01T09:04:00Z",
      results: ["bench-c1.json", "bench-c4.json"].map((f) => JSON.parse(readFileSync(path.join(fixtures, f), "utf8")) as unknown),
      startup_log: readFileSync(path.join(fixtures, "engine-startup.log"), "utf8").split("\n").filter((l) => l.includes("KV cache size")),
    }));
    const r = calibrate("--file", file, "--from", benchmark);
    expect(r.status).toBe(0);
    const twice = readFileSync(file, "utf8");
    expect(twice.match(/^ {4}stg-gpu-1:$/gm)).toHaveLength(1); // replaced, not added
    expect(twice).toContain("source: \"hybrid-inference benchmark step (vllm/vllm-openai:v0.33.0): benchmark.json\"");
    expect(withoutMeasured(twice)).toBe(withoutMeasured(once));
  }, 60_000);

  it("refuses a foreign file, naming it and what was expected, and writes nothing", () => {
    const file = copyOf("staging");
    const before = readFileSync(file, "utf8");
    const r = calibrate("--file", file, ...from("bench-c1.json", "throughput.json"));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`calibrate: ${path.join(fixtures, "throughput.json")}: is the output of \`vllm bench throughput\` (offline throughput, no latencies), not of \`vllm bench serve\`\n` +
      "  expected: the JSON `vllm bench serve --save-result` writes, a vLLM start-up log, the benchmark step's benchmark.json, or `pulumi stack output measuredCapacity --json`\nNothing was written.\n");
    expect(readFileSync(file, "utf8")).toBe(before);
  }, 60_000);

  it("refuses a host the stack does not have, and asks which host on a stack of several", () => {
    const staging = copyOf("staging");
    const before = readFileSync(staging, "utf8");
    const r = calibrate("--file", staging, "--host", "gpu-9", ...from("bench-c1.json"));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("calibrate: --host gpu-9 is not a host of stack staging (hosts: stg-gpu-1)\nNothing was written.\n");
    expect(readFileSync(staging, "utf8")).toBe(before);
    const prod = copyOf("prod");
    const hosts = loadPlan(parseStackYaml(readFileSync(prod, "utf8"), "prod")).plan!.hosts.map((h) => h.name);
    const several = calibrate("--file", prod, ...from("engine-startup.log"));
    expect(several.status).toBe(1);
    expect(several.stderr).toContain(`engine-startup.log: does not say which host it measured, and stack prod has ${hosts.length}\n  expected: --host <one of ${hosts.join(", ")}>`);
  }, 60_000);

  it("shows the entry with --dry-run and leaves the file alone; usage mistakes exit 2", () => {
    const file = copyOf("staging");
    const before = readFileSync(file, "utf8");
    const r = calibrate("--file", file, "--dry-run", ...from("engine-startup.log"));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("--dry-run: the stack file is unchanged.");
    expect(r.stdout).toContain("    stg-gpu-1:\n      measured_on: \"2026-11-30\"");
    expect(readFileSync(file, "utf8")).toBe(before);
    const noFrom = calibrate("--file", file);
    expect(noFrom.status).toBe(2);
    expect(noFrom.stderr).toMatch(/^--from <file> is required/);
  }, 60_000);
});
