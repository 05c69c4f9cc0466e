/**
 * Runs the real program for one shipped stack under Pulumi's mocks, with a distinct
 * canary value for every secret, and gives tests the resources it asked for.
 */
import * as path from "node:path";
import { type RawStackConfig, readStackFile } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import type { DeploymentPlan } from "../../core/plan/types";
import { type MockRunResult, type RecordedResource, runProgramUnderMocks } from "../../cli/mock-run";

export interface StackRun extends MockRunResult {
  readonly plan: DeploymentPlan;
  /** Secret config key -> the canary value the program was given for it. */
  readonly canaries: Readonly<Record<string, string>>;
  ofType(type: string): RecordedResource[];
  byName(name: string): RecordedResource;
}

export function canaryFor(key: string): string {
  return `canary-${key}-0f9e8d7c6b5a`;
}

export async function runStack(stack: string): Promise<StackRun> {
  return runRaw(readStackFile(path.join(__dirname, "..", "..", "stacks", `Pulumi.${stack}.yaml`), stack));
}

export const CONTAINER = "docker:index/container:Container";
export const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";
export const REMOTE_COMMAND = "command:remote:Command";

/** The container's argv (command input). */
export function argv(r: RecordedResource): string[] {
  return r.inputs["command"] as string[];
}

/** Every place a string occurs in a value that is not inside a Pulumi secret. */
export function plaintextOccurrences(value: unknown, needle: string, at = "$"): string[] {
  if (typeof value === "string") return value.includes(needle) ? [at] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => plaintextOccurrences(v, needle, `${at}[${i}]`));
  if (typeof value === "object" && value !== null) {
    if ("secret" in value && Object.keys(value).length === 1) return [];
    return Object.entries(value).flatMap(([k, v]) => plaintextOccurrences(v, needle, `${at}.${k}`));
  }
  return [];
}

/** Runs the real program for any stack config (one per test file: Pulumi's mock state is per process). */
export async function runRaw(raw: RawStackConfig): Promise<StackRun> {
  const { plan, issues } = loadPlan(raw);
  if (!plan) throw new Error(`stack ${raw.stack} does not plan: ${JSON.stringify(issues)}`);
  const result = await runProgramUnderMocks(raw, plan, canaryFor);
  const canaries = Object.fromEntries([...raw.secretKeys].map((k) => [k, canaryFor(k)]));
  return {
    ...result,
    plan,
    canaries,
    ofType: (type) => result.resources.filter((r) => r.type === type),
    byName: (name) => {
      const matches = result.resources.filter((x) => x.name === name && x.type !== "pulumi:providers:docker");
      if (matches.length !== 1) throw new Error(`${matches.length} resources named ${name}; have: ${result.resources.map((x) => x.name).join(", ")}`);
      return matches[0]!;
    },
  };
}
