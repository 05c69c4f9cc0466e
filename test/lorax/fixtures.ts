/**
 * LoRAX stacks for the tests: the shipped dev stack (one RTX 4090, Qwen 2.5 7B, a managed
 * tier) with `engine.kind: lorax` and the adapters a test asks for, planned by the real
 * planner; and the LoRAX stub started the way the engine container would run.
 */
import * as path from "node:path";
import { type RawStackConfig, readStackFile } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import type { DeploymentPlan } from "../../core/plan/types";
import { type ContainerSpec, dockerEngineInstance, engineContainer } from "../../core/render/containers";
import { LORAX_HUB_CACHE } from "../../core/render/lorax";
import { type LoraxStub, type LoraxStubOptions, startLoraxStub } from "../router-harness/lorax-stub";

const REPO_ROOT = path.join(__dirname, "..", "..");

export interface AdapterEntry {
  readonly name: string;
  /** `hf://org/repo` or an absolute host path. */
  readonly source: string;
  readonly rank?: number;
}

/** The dev stack as LoRAX with these adapters (and any other top-level keys replaced). */
export function loraxStack(adapters: readonly AdapterEntry[], patch: Readonly<Record<string, unknown>> = {}): RawStackConfig {
  const raw = readStackFile(path.join(REPO_ROOT, "stacks", "Pulumi.dev.yaml"), "lorax-test");
  const engine = { ...(raw.values["engine"] as Record<string, unknown>), kind: "lorax" };
  const model = raw.values["model"] as { id: string };
  return {
    ...raw,
    values: {
      ...raw.values,
      engine,
      adapters: adapters.map((a) => ({ name: a.name, source: a.source, rank: a.rank ?? 16, base_model: model.id })),
      ...patch,
    },
  };
}

export function planOrThrow(raw: RawStackConfig): DeploymentPlan {
  const { plan, issues } = loadPlan(raw);
  if (!plan) throw new Error(`stack does not plan: ${JSON.stringify(issues, null, 1)}`);
  return plan;
}

/** The docker engine container of the plan's first host. */
export function firstEngineContainer(plan: DeploymentPlan): ContainerSpec {
  if (plan.target.kind !== "docker") throw new Error("expected the docker target");
  return engineContainer(plan, dockerEngineInstance(plan.hosts[0]!, plan.target.hosts[0]!));
}

/**
 * The environment the launcher sees in the container: the image's ENV (Dockerfile:167-173 at
 * v0.12.1), the host name Docker gives every container, then ours.
 */
export function loraxContainerEnv(spec: ContainerSpec): Record<string, string> {
  return { PATH: "/opt/conda/bin:/usr/bin", HUGGINGFACE_HUB_CACHE: LORAX_HUB_CACHE, HF_HUB_ENABLE_HF_TRANSFER: "1", PORT: "80", HOSTNAME: "3f2a9c1b7d4e", ...spec.env };
}

/** A LoRAX stub running the plan's first engine container: its argv, env and mounts. */
export function startEngineStub(plan: DeploymentPlan, world: Pick<LoraxStubOptions, "hubRepos" | "hostAdapterDirs">): Promise<LoraxStub> {
  const spec = firstEngineContainer(plan);
  return startLoraxStub({ name: `lorax-${plan.hosts[0]!.name}`, argv: spec.command, env: loraxContainerEnv(spec), mounts: spec.volumes, ...world });
}
