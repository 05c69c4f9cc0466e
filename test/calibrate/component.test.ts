/**
 * The EngineBenchmark component under Pulumi's mocks: the command it asks the provider to run
 * carries no key, the key travels only in the (secret) stdin, and the step's printed file becomes
 * a plain output for the `measuredCapacity` stack output.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { readStackFile } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import { BENCHMARK_RESULT_PREFIX, benchmarkSteps } from "../../core/render/benchmark";

const KEY = "engine-key-canary-91bd";
const published = { kind: "hybrid-inference/benchmark", version: 1, stack: "staging", host: "stg-gpu-1", engine_image: "vllm/vllm-openai:v0.33.0", engine_fingerprint: "ab",
  started_at: "2026-11-30T14:05:00Z", finished_at: "2026-11-30T14:09:00Z", results: [], startup_log: [] };
const recorded: { type: string; name: string; inputs: Record<string, unknown> }[] = [];

beforeAll(async () => {
  await pulumi.runtime.setMocks({
    newResource(args) {
      recorded.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
      const stdout = args.type === "command:remote:Command" ? `[hybrid-inference:benchmark] done\n${BENCHMARK_RESULT_PREFIX}${JSON.stringify(published)}\n` : undefined;
      return { id: `${args.name}-id`, state: { ...args.inputs, ...(stdout !== undefined ? { stdout, stderr: "" } : {}) } };
    },
    call: (args) => args.inputs as Record<string, unknown>,
  }, "hybrid-inference", "staging", false);
});

const unwrap = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((resolve) => o.apply((v) => resolve(v)));

describe("EngineBenchmark", () => {
  it("runs the rendered step with the key on stdin only, and publishes the printed file", async () => {
    const { EngineBenchmark } = await import("../../components/benchmark");
    const plan = loadPlan(readStackFile(path.join(__dirname, "..", "..", "stacks", "Pulumi.staging.yaml"), "staging")).plan!;
    const [bench] = benchmarkSteps(plan);
    const component = new EngineBenchmark("stg-gpu-1-benchmark", {
      benchmark: bench!,
      connection: { host: "203.0.113.20", user: "ubuntu", privateKey: pulumi.secret("ssh-key") },
      engineKey: pulumi.secret(KEY),
    });
    const result = await unwrap(component.result);
    expect(result).toEqual(published);
    expect(await pulumi.isSecret(component.result)).toBe(false);
    const run = recorded.find((r) => r.name === "stg-gpu-1-benchmark-run")!;
    expect(run.type).toBe("command:remote:Command");
    expect(String(run.inputs["create"])).not.toContain(KEY);
    expect(run.inputs["triggers"]).toEqual([bench!.step.sha256]);
    // The stdin arrives as a secret holding the key's line, then the script.
    const stdin = JSON.stringify(run.inputs["stdin"]);
    expect(stdin).toContain("1b47061264138c4ac30d75fd1eb44270"); // Pulumi's secret signature
    expect(stdin).toContain(KEY);
  });
});
