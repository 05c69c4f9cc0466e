import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readStackFile } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import { renderStepCommand } from "../../core/render/host-bootstrap";
import { prefetchCommand, prefetchStep } from "../../core/render/prefetch";
import { renderScript } from "../../core/render/script";
import { Sandbox } from "./harness";

const SCRIPT = renderScript(path.join("engine", "prefetch-weights.sh"));
const env = {
  HI_ENGINE_IMAGE: "vllm/vllm-openai:v0.33.0",
  HI_CACHE_DIR: "/var/lib/hybrid-inference/models",
  HI_ENGINE_CACHE_DIR: "/var/lib/hybrid-inference/models",
  HI_ENGINE_CACHE_MOUNT: "/root/.cache/huggingface",
  HI_HUB_CACHE: "/root/.cache/huggingface/hub",
  HI_MODEL_REPO: "Qwen/Qwen2.5-7B-Instruct",
  HI_ADAPTER_REPOS: "acme/support-lora,acme/legal-lora",
};

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
  sb.file("var/lib/hybrid-inference/models/.keep", "");
});
afterEach(() => sb.cleanup());

describe("prefetch-weights", () => {
  it("downloads the model and hub adapters with the engine image into the cache the engine mounts", () => {
    const r = sb.runText(SCRIPT, { ...env, HF_TOKEN: "hf_canary" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const run = sb.calls("docker").find((c) => c[1] === "run");
    expect(run?.slice(0, 3)).toEqual(["docker", "run", "--rm"]);
    expect(run).toEqual(expect.arrayContaining(["--volume", "/var/lib/hybrid-inference/models:/root/.cache/huggingface", "--entrypoint", "python3", "vllm/vllm-openai:v0.33.0"]));
    expect(run).toEqual(expect.arrayContaining(["--env", "HF_HUB_CACHE=/root/.cache/huggingface/hub", "--env", "HUGGINGFACE_HUB_CACHE=/root/.cache/huggingface/hub"]));
    expect(run?.slice(-3)).toEqual(["Qwen/Qwen2.5-7B-Instruct", "acme/support-lora", "acme/legal-lora"]);
    // The token reaches Docker by name from the environment, never as an argument.
    expect(run?.join(" ")).not.toContain("hf_canary");
    expect(sb.getState("docker-run-env")).toBe("HF_TOKEN=hf_canary\n");
  });

  it("says what to check when the download fails", () => {
    sb.set("docker-run-rc", "1");
    const r = sb.runText(SCRIPT, env);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("[hybrid-inference:prefetch-weights] the download of Qwen/Qwen2.5-7B-Instruct failed");
    expect(r.stderr).toContain("re-running resumes it");
  });

  it("refuses an unpinned image and a malformed repo id", () => {
    expect(sb.runText(SCRIPT, { ...env, HI_ENGINE_IMAGE: "vllm/vllm-openai" }).stderr).toContain("must be a pinned image reference");
    expect(sb.runText(SCRIPT, { ...env, HI_MODEL_REPO: "Qwen/x; rm -rf /" }).stderr).toContain("must be a Hugging Face repo id");
    expect(sb.calls("docker")).toEqual([]);
  });

  it("is rendered from the plan with the engine's image and repo, and the token only in the command", () => {
    const file = path.join(__dirname, "..", "..", "stacks", "Pulumi.staging.yaml");
    const { plan } = loadPlan(readStackFile(file, "staging"));
    const step = prefetchStep(plan!);
    expect(step.env).toEqual({
      HI_ENGINE_IMAGE: "vllm/vllm-openai:v0.33.0",
      HI_CACHE_DIR: "/var/lib/hybrid-inference/models",
      HI_ENGINE_CACHE_DIR: "/var/lib/hybrid-inference/models",
      HI_ENGINE_CACHE_MOUNT: "/root/.cache/huggingface",
      HI_HUB_CACHE: "/root/.cache/huggingface/hub",
      HI_MODEL_REPO: plan!.engine.hfRepo,
    });
    const command = prefetchCommand(step, "hf_canary", renderStepCommand);
    expect(command).toContain("HF_TOKEN='hf_canary'");
    expect(step.sha256).toBe(prefetchStep(plan!).sha256);
    // Running the rendered command for real passes the values through as data.
    sb.file("var/lib/hybrid-inference/models/.keep", "");
    const r = sb.runCommand(command.replace(/^sudo -n /, ""), step.script);
    expect(r.status).toBe(0);
    expect(sb.getState("docker-run-env")).toBe("HF_TOKEN=hf_canary\n");
  });
});
