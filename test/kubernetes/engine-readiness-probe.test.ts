/**
 * The kubernetes target's engine readiness probe: the pod is Ready only when vLLM lists the
 * served name and every adapter, judged by the docker target's readiness check (the same Python
 * program, core/render/readiness.ts). The probe's exact argv from the rendered Deployment is run
 * here with this machine's python3 against a stand-in for vLLM's `/v1/models` on 127.0.0.1 (the
 * probe's URL moved to the stand-in's port: inside the pod it is the engine's own port).
 */
import { spawn } from "node:child_process";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENGINE_API_KEY_ENV } from "../../core/plan/env";
import type { DeploymentPlan } from "../../core/plan/types";
import { renderKubernetesWorkloads } from "../../core/render/kubernetes/workloads";
import type { Container } from "../../core/render/kubernetes/types";
import { DEFAULT_SECRETS } from "../fixtures";
import { k8sValues, planOf, shippedPlan } from "./fixtures";

const KEY = "test-engine-key";

const withAdapters = planOf(k8sValues({
  model: { id: "qwen2.5-7b-instruct", quantization: "bf16" },
  engine: {},
  adapters: [
    { name: "support-bot", source: "hf://acme/support-lora", rank: 16, base_model: "qwen2.5-7b-instruct" },
    { name: "legal", source: "/srv/adapters/legal", rank: 8, base_model: "qwen2.5-7b-instruct" },
  ],
}), DEFAULT_SECRETS);

function engineContainerOf(plan: DeploymentPlan): Container {
  const w = renderKubernetesWorkloads(plan).engines[0];
  if (!w) throw new Error("no engine workload rendered");
  return w.deployment.spec.template.spec.containers[0]!;
}

function execOf(probe: Container["readinessProbe"]): string[] {
  const command = probe?.exec?.command;
  if (!command) throw new Error("the probe is not an exec probe");
  return [...command];
}

/** vLLM's `/v1/models` as the stand-in serves it: these ids, to a caller with the key. */
let listed: string[] = [];
let server: Server;
let port = 0;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== "/v1/models") return void res.writeHead(404).end();
    if (req.headers.authorization !== `Bearer ${KEY}`) return void res.writeHead(401, { "content-type": "application/json" }).end('{"error":"Unauthorized"}');
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ object: "list", data: listed.map((id) => ({ id, object: "model" })) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Runs the probe's argv with the pod's engine key (or `env`), its URL pointed at the stand-in. */
function runProbe(argv: readonly string[], env: Record<string, string> = { [ENGINE_API_KEY_ENV]: KEY }): Promise<{ status: number | null; out: string }> {
  const probes = JSON.parse(argv[4]!) as { url: string };
  const moved = [...argv.slice(0, 4), JSON.stringify({ ...probes, url: probes.url.replace(/:\d+$/, `:${port}`) })];
  return new Promise((resolve, reject) => {
    const child = spawn(moved[0]!, moved.slice(1), { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", ...env } });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, out: out.trim() }));
  });
}

describe("the engine's readiness probe on the kubernetes target", () => {
  const c = engineContainerOf(withAdapters);
  const argv = execOf(c.readinessProbe);

  it("runs the readiness check on the engine's own port, for the served name and every adapter, with the pod's engine key", () => {
    expect(argv.slice(0, 2)).toEqual(["python3", "-c"]);
    expect(argv[3]).toBe("vllm");
    expect(JSON.parse(argv[4]!)).toEqual({
      url: `http://127.0.0.1:${withAdapters.engine.port}`, key_env: ENGINE_API_KEY_ENV, models: ["qwen2.5-7b-instruct", "support-bot", "legal"],
    });
    // The key is read from the pod's environment, which the engine Secret fills: never in the argv.
    expect(c.env?.some((e) => e.name === ENGINE_API_KEY_ENV && e.valueFrom !== undefined)).toBe(true);
  });

  it("is Ready when /v1/models lists the base model and both adapters", async () => {
    listed = ["qwen2.5-7b-instruct", "support-bot", "legal"];
    const r = await runProbe(argv);
    expect(r).toEqual({ status: 0, out: `serving qwen2.5-7b-instruct, support-bot, legal on http://127.0.0.1:${port}/v1` });
  });

  it("is not Ready while an adapter is missing, and says which", async () => {
    listed = ["qwen2.5-7b-instruct", "support-bot"];
    const r = await runProbe(argv);
    expect(r).toEqual({ status: 1, out: `http://127.0.0.1:${port}/v1/models lists qwen2.5-7b-instruct, support-bot, not legal` });
  });

  it("is not Ready when the engine refuses the key, or the pod has none", async () => {
    listed = ["qwen2.5-7b-instruct", "support-bot", "legal"];
    const wrong = await runProbe(argv, { [ENGINE_API_KEY_ENV]: "another-key" });
    expect(wrong.status).toBe(1);
    expect(wrong.out).toContain("/v1/models answered HTTP 401");
    const none = await runProbe(argv, {});
    expect(none).toEqual({ status: 1, out: `${ENGINE_API_KEY_ENV} is not set in the container` });
  });

  it("leaves startup and liveness on /health: a missing adapter takes the pod out of rotation, never restarts it", () => {
    for (const probe of [c.startupProbe, c.livenessProbe]) {
      const cmd = execOf(probe).join(" ");
      expect(cmd).toContain("/health");
      expect(cmd).not.toContain("/v1/models");
    }
    // Same cadence as before: only the command changed.
    expect(c.readinessProbe?.periodSeconds).toBe(c.startupProbe?.periodSeconds);
  });

  it("holds for the shipped prod-k8s stack: its base model is what the probe waits for", () => {
    const shipped = shippedPlan("prod-k8s");
    const probes = JSON.parse(execOf(engineContainerOf(shipped).readinessProbe)[4]!) as { models: string[] };
    expect(probes.models).toEqual([shipped.engine.servedModelName]);
  });
});
