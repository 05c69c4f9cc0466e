/**
 * The readiness gate (templates/engine/readiness.sh, rendered by core/render/readiness.ts), run
 * for real with bash against the host-script harness. A stub `docker` stands in for the engine's
 * container: `exec -i <c> python3 - …` runs the gate's own Python check with the container's
 * environment (state/container-env), against a stub engine on 127.0.0.1 that plays vLLM's
 * /v1/models or LoRAX (the LoRAX stub of test/router-harness, which checks each request as
 * LoRAX 0.12.1's source does, behind /health). `sleep` is a stub, so the gate's deadline is
 * counted in attempts, not waited out.
 *
 * What a user cares about: `pulumi up` ends only once the engine lists the served model and
 * every adapter; a broken start fails it with the engine's own log, secrets redacted; the key
 * never leaves the container.
 */
import { spawn } from "node:child_process";
import { unlinkSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MASKED_SECRET, readStackFile } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import { dockerPart } from "../../core/plan/docker";
import { engineStartup } from "../../core/plan/engine";
import type { DeploymentPlan } from "../../core/plan/types";
import { dockerEngineInstance, engineContainer } from "../../core/render/containers";
import { type BootstrapStep, renderStepCommand } from "../../core/render/host-bootstrap";
import { engineReadinessStep } from "../../core/render/readiness";
import { startLoraxStub } from "../router-harness/lorax-stub";
import { firstEngineContainer, loraxContainerEnv, loraxStack, planOrThrow } from "../lorax/fixtures";
import { Sandbox } from "./harness";

const ROOT = path.join(__dirname, "..", "..");
/** The dev stack with a Hugging Face token: the engine container then holds two secrets, the engine key and the token. */
const devPlan = (() => {
  const raw = readStackFile(path.join(ROOT, "stacks", "Pulumi.dev.yaml"), "dev");
  const access = { ...(raw.values["access"] as Record<string, unknown>), hf_token_secret: "hfToken" };
  const { plan, issues } = loadPlan({ ...raw, values: { ...raw.values, access, hfToken: MASKED_SECRET }, secretKeys: new Set([...raw.secretKeys, "hfToken"]) });
  if (!plan) throw new Error(JSON.stringify(issues));
  return plan;
})();
const KEY = "engine-key-canary-4c1d9e";
const HF = "hf_token_canary_77aa01";

/** The engine's readiness step for the plan's first host, its engine URL pointed at a stub. */
function gateFor(plan: DeploymentPlan, url: string, patch: Record<string, string> = {}): BootstrapStep {
  const target = dockerPart(plan).hosts[0]!;
  const step = engineReadinessStep(plan, engineContainer(plan, dockerEngineInstance(plan.hosts[0]!, target)));
  const probes = { ...(JSON.parse(step.env["HI_PROBES"]!) as Record<string, unknown>), url };
  return { ...step, env: { ...step.env, HI_PROBES: JSON.stringify(probes), ...patch } };
}

/**
 * docker: `inspect` prints the next line of state/states (the last one repeats; none: the
 * container does not exist) or the container's env as JSON (state/container-env, one VAR=value
 * a line; state/env-unreadable makes it fail); `exec -i <c> python3 - …` runs python3 with
 * exactly that env; `logs` prints state/container-log.
 */
const DOCKER_STUB = String.raw`
case "$1" in
  inspect)
    if [[ "$3" == *Config.Env* ]]; then
      [[ ! -f "$S/env-unreadable" ]] || { echo "permission denied" >&2; exit 1; }
      python3 -c 'import json,sys; print(json.dumps([l for l in open(sys.argv[1]).read().splitlines() if l]))' "$S/container-env"; exit 0
    fi
    [[ -f "$S/states" ]] || { echo "Error: No such object: ${"$"}{!#}" >&2; exit 1; }
    n=$(cat "$S/inspects" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" >"$S/inspects"
    total=$(grep -c . "$S/states")
    sed -n "$(( n < total ? n : total ))p" "$S/states" ;;
  exec)
    shift 3
    mapfile -t vars <"$S/container-env"
    exec env -i "${"$"}{vars[@]}" "$@" ;;
  logs) cat "$S/container-log" ;;
esac`;

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
  sb.stub("docker", DOCKER_STUB);
  sb.stub("sleep", "exit 0");
  sb.set("states", "running 0 0\n");
  sb.set("container-env", `PATH=/usr/bin:/bin\nVLLM_API_KEY=${KEY}\nHF_TOKEN=${HF}\nHF_HOME=/root/.cache/huggingface\n`);
  sb.set("container-log", `INFO loading model\nINFO token ${HF} and key ${KEY} echoed by a careless library\nERROR CUDA out of memory\n`);
});
afterEach(() => sb.cleanup());

/** Runs the step as the component does (its rendered command, the script on stdin), without blocking the stubs' event loop. */
function runGate(step: BootstrapStep): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(sb.safe, "bash"), ["-c", renderStepCommand(step).replace(/^sudo -n /, "")], {
      env: { PATH: `${sb.stubs}:${sb.safe}`, HOME: sb.dir, HI_ROOT: sb.root, STUB_LOG: sb.log, STUB_STATE: sb.state },
      cwd: sb.dir,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(step.script);
  });
}

interface VllmStub {
  readonly url: string;
  /** Authorization headers of /v1/models requests. */
  readonly auth: string[];
  /** What it answers, by request number (1-based); the last entry repeats. */
  script: ({ status: number; models?: string[] } | "refuse")[];
  close(): Promise<void>;
}

/** An engine that plays vLLM's /v1/models, or refuses connections while "loading" (listening closed). */
async function vllmStub(): Promise<VllmStub> {
  const auth: string[] = [];
  let n = 0;
  const stub: VllmStub = {
    url: "",
    auth,
    script: [{ status: 200, models: [] }],
    close: () => new Promise((r) => server.close(() => r())),
  };
  const server = http.createServer((req, res) => {
    auth.push(String(req.headers.authorization ?? ""));
    const answer = stub.script[Math.min(n++, stub.script.length - 1)]!;
    if (answer === "refuse") {
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, { "content-type": "application/json" });
    res.end(JSON.stringify(answer.status === 200 ? { object: "list", data: (answer.models ?? []).map((id) => ({ id, object: "model" })) } : { error: "loading" }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return Object.assign(stub, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

const served = ["qwen2.5-7b-instruct", "support-bot"];

describe("readiness gate, vLLM", () => {
  let engine: VllmStub;
  beforeEach(async () => {
    engine = await vllmStub();
  });
  afterEach(async () => engine.close());

  it("waits out the model load (connections refused, then 503) and passes once /v1/models lists the model and its adapter", async () => {
    engine.script = ["refuse", "refuse", { status: 503 }, { status: 200, models: ["qwen2.5-7b-instruct"] }, { status: 200, models: served }];
    const r = await runGate(gateFor(devPlan, engine.url));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`dev-gpu-1-engine is ready after 40s: serving qwen2.5-7b-instruct, support-bot on ${engine.url}/v1`);
    expect(r.stdout).toContain("waiting for dev-gpu-1-engine (0s of 660s)");
    // The key went from the container's own environment to the engine, and nowhere else.
    expect(new Set(engine.auth)).toEqual(new Set([`Bearer ${KEY}`]));
    expect(sb.callLines().filter((l) => l.includes(KEY))).toEqual([]);
    expect(renderStepCommand(gateFor(devPlan, engine.url))).not.toContain(KEY);
  });

  it("waits the router's cooldown_time once serving, when another host follows in the rollout", async () => {
    engine.script = [{ status: 200, models: served }];
    const r = await runGate(gateFor(devPlan, engine.url, { HI_SETTLE_S: "30" }));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("waiting 30s (the router's cooldown_time) so the router takes dev-gpu-1-engine back into rotation before the next host changes");
    expect(sb.callLines("sleep")).toEqual(["sleep 30"]);
  });

  it("fails at the plan's deadline when an adapter never appears, with the engine's last log lines, secrets redacted", async () => {
    engine.script = [{ status: 200, models: ["qwen2.5-7b-instruct"] }];
    const step = gateFor(devPlan, engine.url);
    expect(step.env["HI_SECRET_ENV"]).toBe("HF_TOKEN,VLLM_API_KEY");
    // The shipped deadline: the dev model's cold start (6 min download + 5 min load), polled every 10 s.
    const d = engineStartup(devPlan.engine.weightBytes);
    expect(step.env["HI_TIMEOUT_S"]).toBe(String((d.downloadMinutes + d.loadMinutes) * 60));
    expect(step.env["HI_TIMEOUT_S"]).toBe("660");
    const r = await runGate(step);
    expect(r.status).toBe(1);
    // 660 s at 10 s a try: 67 attempts, then the verdict.
    expect(sb.calls("docker").filter((c) => c[1] === "exec")).toHaveLength(67);
    expect(r.stderr).toContain("dev-gpu-1-engine is not ready: still not serving after 660s (the plan's deadline)");
    expect(r.stderr).toContain("lists qwen2.5-7b-instruct, not support-bot");
    expect(r.stderr).toContain("container state: running 0 0");
    expect(r.stderr).toContain("    ERROR CUDA out of memory");
    expect(r.stderr).toContain("token [redacted] and key [redacted] echoed");
    expect(r.stderr + r.stdout).not.toContain(KEY);
    expect(r.stderr + r.stdout).not.toContain(HF);
    expect(sb.callLines("docker")).toContain("docker logs --tail 50 dev-gpu-1-engine");
  });

  it("gives up early on an engine that keeps crashing, instead of waiting out the deadline", async () => {
    sb.set("states", "running 0 0\nrestarting 1 1\nrunning 1 0\nrestarting 2 1\nrestarting 3 1\n");
    engine.script = ["refuse"];
    const r = await runGate(gateFor(devPlan, engine.url));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("it crashed and was restarted 3 times in 40s");
    expect(r.stderr).toContain("the container is restarting (last exit code 1)");
    expect(r.stderr).toContain("    ERROR CUDA out of memory");
  });

  it("withholds the log when it cannot read the container's secrets to redact them", async () => {
    sb.set("env-unreadable", "");
    engine.script = [{ status: 401 }];
    const r = await runGate(gateFor(devPlan, engine.url, { HI_TIMEOUT_S: "10" }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("(withheld: the container's environment could not be read to redact its secrets)");
    expect(r.stderr).not.toContain("CUDA out of memory");
  });

  it("fails at once when the container does not exist", async () => {
    unlinkSync(path.join(sb.state, "states"));
    const r = await runGate(gateFor(devPlan, engine.url));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the container dev-gpu-1-engine does not exist");
  });

  it("says which variable is missing when the container has no engine key", async () => {
    sb.set("container-env", "PATH=/usr/bin:/bin\n");
    const r = await runGate(gateFor(devPlan, engine.url, { HI_TIMEOUT_S: "10" }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("VLLM_API_KEY is not set in the container");
    expect(engine.auth).toEqual([]);
  });
});

describe("readiness gate, LoRAX (no /v1/models: /health, then one token per model name)", () => {
  it("asks for the base model by its repo id and each adapter with its source, as the router will", async () => {
    const plan = planOrThrow(loraxStack([{ name: "support-bot", source: "/srv/adapters/support-bot" }, { name: "sql", source: "hf://acme/qwen-sql-lora" }]));
    const spec = firstEngineContainer(plan);
    const lorax = await startLoraxStub({ argv: spec.command, env: loraxContainerEnv(spec), mounts: spec.volumes, hubRepos: ["acme/qwen-sql-lora"], hostAdapterDirs: ["/srv/adapters/support-bot"] });
    // LoRAX answers /health once its shard is up; the stub plays the generation routes, a front adds /health.
    let healthy = 0;
    const front = http.createServer((req, res) => {
      if (req.url === "/health") {
        res.writeHead(healthy++ < 2 ? 503 : 200).end();
        return;
      }
      const upstream = http.request(`${lorax.url}${req.url}`, { method: req.method, headers: req.headers }, (u) => {
        res.writeHead(u.statusCode ?? 502, u.headers);
        u.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
      const r = await runGate(gateFor(plan, url));
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toContain("serving qwen2.5-7b-instruct, support-bot, sql");
      const gens = lorax.generations().map((g) => ({ body: g.body as Record<string, unknown>, status: g.status, resolution: g.resolution }));
      expect(gens.map((g) => [g.body["model"], g.body["adapter_source"], g.status])).toEqual([
        [plan.engine.hfRepo, undefined, 200],
        ["/srv/adapters/support-bot", "local", 200],
        ["acme/qwen-sql-lora", "hub", 200],
      ]);
      expect(gens[0]!.resolution).toEqual({ kind: "base" });
    } finally {
      await new Promise((r) => front.close(r));
      await lorax.close();
    }
  });
});
