/**
 * The weights the prefetch step downloads land where the engine reads them: for each engine,
 * the host directory behind the engine container's Hugging Face hub cache equals the host
 * directory behind the prefetch container's download, worked out from each container's
 * mounts and env as the code inside it reads them. The prefetch is run for real (its rendered
 * command, with a stub `docker` that records the `docker run` argv).
 */
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readStackFile } from "../../core/config/source";
import type { EngineKind } from "../../core/catalog/types";
import type { DeploymentPlan } from "../../core/plan/types";
import { renderStepCommand } from "../../core/render/host-bootstrap";
import { renderKubernetesWorkloads } from "../../core/render/kubernetes/workloads";
import { prefetchCommand, prefetchStep } from "../../core/render/prefetch";
import { Sandbox } from "../host-bootstrap/harness";
import { firstEngineContainer, loraxStack, planOrThrow } from "./fixtures";

/**
 * Env the images set. LoRAX: `ENV HUGGINGFACE_HUB_CACHE=/data` (Dockerfile:171 at v0.12.1).
 * vLLM: none of the variables below is set by the image [U: vllm-openai's Dockerfile not re-read here].
 */
const IMAGE_ENV: Readonly<Record<EngineKind, Readonly<Record<string, string>>>> = {
  lorax: { HUGGINGFACE_HUB_CACHE: "/data" },
  vllm: {},
};

const HOME_CACHE = "/root/.cache/huggingface";

/**
 * Where the engine's own code looks for the hub cache. LoRAX: huggingface_hub 0.23.5
 * (server/requirements.txt) `constants.HUGGINGFACE_HUB_CACHE`, which reads HUGGINGFACE_HUB_CACHE
 * or HF_HOME/hub and ignores HF_HUB_CACHE (constants.py:98-110), as LoRAX's sources do
 * (utils/sources/hub.py:8, 20-23) and its Rust router (router/src/main.rs:211-213). vLLM:
 * huggingface_hub's `HF_HUB_CACHE` (HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else HF_HOME/hub).
 */
function engineHubCache(kind: EngineKind, env: Readonly<Record<string, string>>): string {
  const home = `${env["HF_HOME"] ?? HOME_CACHE}/hub`;
  return kind === "lorax" ? (env["HUGGINGFACE_HUB_CACHE"] ?? home) : (env["HF_HUB_CACHE"] ?? env["HUGGINGFACE_HUB_CACHE"] ?? home);
}

/** Where `snapshot_download` writes in any huggingface_hub: HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else HF_HOME/hub (constants.py:114). */
function downloadHubCache(env: Readonly<Record<string, string>>): string {
  return env["HF_HUB_CACHE"] ?? env["HUGGINGFACE_HUB_CACHE"] ?? `${env["HF_HOME"] ?? HOME_CACHE}/hub`;
}

/** The host path behind a container path, or undefined when no mount covers it (the container's own layer). */
function onHost(containerPath: string, mounts: readonly { hostPath: string; containerPath: string }[]): string | undefined {
  const covering = mounts
    .filter((m) => containerPath === m.containerPath || containerPath.startsWith(`${m.containerPath}/`))
    .sort((a, b) => b.containerPath.length - a.containerPath.length)[0];
  return covering ? path.posix.join(covering.hostPath, containerPath.slice(covering.containerPath.length)) : undefined;
}

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

/** Runs the plan's prefetch step and returns the host directory its download went to. */
function prefetchHostDir(plan: DeploymentPlan): string | undefined {
  sb.file(path.join(plan.spec.access.cache_dir, ".keep").slice(1), "");
  const step = prefetchStep(plan);
  const r = sb.runCommand(prefetchCommand(step, undefined, renderStepCommand).replace(/^sudo -n /, ""), step.script);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  const run = sb.calls("docker").find((argv) => argv[1] === "run")!;
  const mounts = run.flatMap((a, i) => (run[i - 1] === "--volume" ? [{ hostPath: a.split(":")[0]!, containerPath: a.split(":")[1]! }] : []));
  const env = Object.fromEntries(run.flatMap((a, i) => (run[i - 1] === "--env" && a.includes("=") ? [a.split(/=(.*)/s).slice(0, 2) as [string, string]] : [])));
  return onHost(downloadHubCache({ ...IMAGE_ENV[plan.engine.kind], ...env }), mounts);
}

const stacks: readonly [EngineKind, () => DeploymentPlan][] = [
  ["lorax", () => planOrThrow(loraxStack([{ name: "support-bot", source: "hf://acme/support-lora" }]))],
  ["vllm", () => planOrThrow(readStackFile(path.join(__dirname, "..", "..", "stacks", "Pulumi.dev.yaml"), "dev"))],
];

describe("the model cache", () => {
  for (const [kind, planFor] of stacks) {
    it(`${kind}: the prefetch downloads into the host directory the engine reads, <cache_dir>/hub`, () => {
      const plan = planFor();
      expect(plan.engine.kind).toBe(kind);
      const spec = firstEngineContainer(plan);
      const engineDir = onHost(engineHubCache(kind, { ...IMAGE_ENV[kind], ...spec.env }), spec.volumes);
      expect(engineDir).toBe(`${plan.spec.access.cache_dir}/hub`);
      expect(prefetchHostDir(plan)).toBe(engineDir);
      // The directory the engine mounts exists before the engine container is created.
      expect(sb.exists(spec.volumes[0]!.hostPath.slice(1))).toBe(true);
    });
  }

  it("LoRAX mounts it at /data, where its image points HUGGINGFACE_HUB_CACHE, writable", () => {
    const spec = firstEngineContainer(stacks[0]![1]());
    expect(spec.env["HUGGINGFACE_HUB_CACHE"]).toBe("/data");
    expect(spec.volumes[0]).toEqual({ hostPath: "/var/lib/hybrid-inference/models/hub", containerPath: "/data", readOnly: false });
    // The old layout (cache_dir at HF_HOME): LoRAX would read /data, inside the container's own layer.
    expect(onHost(engineHubCache("lorax", { ...IMAGE_ENV.lorax, HF_HOME: HOME_CACHE }), [{ hostPath: "/var/lib/hybrid-inference/models", containerPath: HOME_CACHE }])).toBeUndefined();
  });

  it("LoRAX on Kubernetes: the /data mount is the model-cache volume, not an adapter volume", () => {
    const raw = loraxStack([], { target: "kubernetes", kubernetes: { cluster: "k3s", namespace: "hi", model_cache: { type: "host_path" } } });
    const plan = planOrThrow(raw);
    const pod = renderKubernetesWorkloads(plan).engines[0]!.deployment.spec!.template.spec!;
    const mount = pod.containers[0]!.volumeMounts!.find((m) => m.mountPath === "/data");
    expect(mount?.name).toBe("model-cache");
    expect(pod.volumes!.find((v) => v.name === "model-cache")?.hostPath).toEqual({ path: "/var/lib/hybrid-inference/models/hub", type: "DirectoryOrCreate" });
  });
});
