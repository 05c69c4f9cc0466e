/**
 * Engine self-healing on the Docker target: the engine-watchdog bootstrap step installs the
 * watchdog and its timer; the watchdog restarts an engine container whose health check has
 * been failing longer than its labels (derived from the plan) allow, never within its start
 * period, at most a few times an hour, and logs each restart. Docker is a stub that reports
 * the health states a test sets up, in `docker inspect`'s JSON shape.
 */
import { statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readStackFile } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import { dockerEngineInstance, engineContainer, ENGINE_HEALTH, engineWatchdog, WATCHDOG_INTERVAL_S, WATCHDOG_MARGIN_S } from "../../core/render/containers";
import { dockerPart } from "../../core/plan/docker";
import { renderHostBootstrap, watchdogProgram } from "../../core/render/host-bootstrap";
import type { DeploymentPlan } from "../../core/plan/types";
import { Sandbox } from "./harness";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => {
  sb.cleanup();
});

function shippedPlan(stack: string): DeploymentPlan {
  const { plan } = loadPlan(readStackFile(path.join(__dirname, "..", "..", "stacks", `Pulumi.${stack}.yaml`), stack));
  return plan!;
}

/** The dev stack's engine container spec: its labels and health check are what the host sees. */
function shippedEngine(): ReturnType<typeof engineContainer> {
  const plan = shippedPlan("dev");
  const target = dockerPart(plan).hosts[0]!;
  return engineContainer(plan, dockerEngineInstance(plan.hosts[0]!, target));
}

const ID = "4f1c2a9be07d5a3e8c6b1f0d2e4a6c8b0d1f3a5c7e9b2d4f6a8c0e1b3d5f7a9c";
const OTHER = "9c7a5f3d1b8e6c4a2f0d9b7e5c3a1f8d6b4e2c0a9f7d5b3e1c8a6f4d2b0e9c7a";

interface Health {
  readonly status: "starting" | "healthy" | "unhealthy";
  readonly streak: number;
  /** Seconds since the container (re)started. */
  readonly startedAgoS: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly name?: string;
}

/** `docker inspect ID` as Docker prints it (the fields the watchdog reads, in their real places). */
function container(id: string, h: Health): void {
  const spec = shippedEngine();
  const started = new Date(Date.now() - h.startedAgoS * 1000).toISOString().replace(/\.(\d{3})Z$/, ".$1456789Z");
  const inspect = [{
    Id: id,
    Name: `/${h.name ?? spec.name}`,
    State: {
      Status: "running", Running: true, Pid: 4242, StartedAt: started,
      Health: { Status: h.status, FailingStreak: h.streak, Log: [{ Start: started, End: started, ExitCode: 1, Output: "urllib.error.URLError: timed out" }] },
    },
    Config: {
      Image: "vllm/vllm-openai:v0.33.0",
      Labels: h.labels ?? spec.labels,
      Healthcheck: { Test: [...spec.healthcheck.test], Interval: 30e9, Timeout: 10e9, StartPeriod: 600e9, Retries: 3 },
    },
  }];
  sb.set(`docker-inspect/${id}.json`, JSON.stringify(inspect, null, 2));
  const ps = sb.getState("docker-ps").split("\n").filter((l) => l && l !== id);
  sb.set("docker-ps", [...ps, id].map((l) => `${l}\n`).join(""));
}

/** Runs the watchdog as the timer does: the installed program, stubs on PATH. */
function watch(): ReturnType<Sandbox["runText"]> {
  return sb.runText(watchdogProgram(), {});
}

const restarts = (): string[][] => sb.calls("docker").filter((c) => c[1] === "restart");

describe("the watchdog policy the plan derives", () => {
  it("restarts after interval x retries plus the margin, never within the engine's start period", () => {
    const spec = shippedEngine();
    const plan = shippedPlan("dev");
    const policy = engineWatchdog(plan.engine.startupSeconds);
    expect(policy.restartAfterS).toBe(ENGINE_HEALTH.intervalS * ENGINE_HEALTH.retries + WATCHDOG_MARGIN_S);
    // the shipped check: 30 s x 3 + 60 s, looked at every 30 s
    expect([policy.restartAfterS, WATCHDOG_INTERVAL_S]).toEqual([150, 30]);
    // the watchdog's start period is the health check's own, in seconds
    expect(`${policy.startPeriodS / 60}m`).toBe(spec.healthcheck.startPeriod);
    expect(spec.labels).toEqual({
      "hybrid-inference.stack": plan.spec.stack,
      "hybrid-inference.role": "engine",
      "hybrid-inference.watchdog": "restart",
      "hybrid-inference.watchdog.restart-after-s": "150",
      "hybrid-inference.watchdog.start-period-s": String(policy.startPeriodS),
      "hybrid-inference.watchdog.max-restarts-per-hour": "3",
    });
  });
});

describe("engine-watchdog (the program)", () => {
  it("restarts an engine whose health check has failed for the derived period, and logs it", () => {
    container(ID, { status: "unhealthy", streak: 5, startedAgoS: 3600 });
    const r = watch();
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(restarts()).toEqual([["docker", "restart", "--time", "30", ID]]);
    expect(sb.callLines("docker")[0]).toBe("docker ps --quiet --no-trunc --filter label=hybrid-inference.watchdog=restart");
    // the journal line (stdout under systemd) and the log file
    expect(r.stdout).toContain(`[hybrid-inference:engine-watchdog] restarted ${shippedEngine().name} (${ID.slice(0, 12)}): ` +
      "its health check had failed for ~150 s (5 checks in a row, limit 150 s); restart 1 of at most 3 an hour");
    const log = sb.read("var/log/hybrid-inference/engine-watchdog.log");
    expect(log).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ restarted ${shippedEngine().name} \\(${ID.slice(0, 12)}\\): unhealthy for ~150 s \\(5 failed health checks; limit 150 s\\)\\n$`));
  });

  it("leaves a healthy, a starting and a briefly unhealthy engine alone", () => {
    container(ID, { status: "healthy", streak: 0, startedAgoS: 3600 });
    container(OTHER, { status: "starting", streak: 0, startedAgoS: 30, name: "other-engine" });
    expect(watch().status).toBe(0);
    // Docker calls it unhealthy after 3 failures (90 s); the watchdog gives it the margin
    container(ID, { status: "unhealthy", streak: 4, startedAgoS: 3600 });
    const r = watch();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("is unhealthy: 4 failed health checks (~120 s); restarting it once they have failed for 150 s");
    expect(restarts()).toEqual([]);
    expect(sb.exists("var/log/hybrid-inference/engine-watchdog.log")).toBe(false);
  });

  it("never restarts within the start period, however long the check has failed", () => {
    const startPeriod = Number(shippedEngine().labels["hybrid-inference.watchdog.start-period-s"]);
    container(ID, { status: "unhealthy", streak: 40, startedAgoS: startPeriod - 60 });
    const r = watch();
    expect(r.stdout).toContain(`within its ${startPeriod} s start period (loading the model): not restarting`);
    expect(restarts()).toEqual([]);
    container(ID, { status: "unhealthy", streak: 40, startedAgoS: startPeriod + 5 });
    watch();
    expect(restarts()).toHaveLength(1);
  });

  it("stops after the hourly limit and says what to look at; older restarts do not count", () => {
    const now = Math.floor(Date.now() / 1000);
    const name = shippedEngine().name;
    sb.file(`var/lib/hybrid-inference/engine-watchdog/${name}.restarts`, [now - 7200, now - 3000, now - 2000, now - 1000].map((t) => `${t}\n`).join(""));
    container(ID, { status: "unhealthy", streak: 10, startedAgoS: 3600 });
    const r = watch();
    expect(r.status).toBe(0);
    expect(restarts()).toEqual([]);
    expect(r.stderr).toContain(`${name} has been unhealthy for ~300 s, but it was already restarted 3 times in the last hour (limit 3): not restarting it again`);
    expect(r.stderr).toContain(`docker logs --tail 200 ${name}`);
    // the record keeps the last hour only
    expect(sb.read(`var/lib/hybrid-inference/engine-watchdog/${name}.restarts`).trim().split("\n")).toHaveLength(3);

    // two restarts in the last hour: one more is allowed
    sb.file(`var/lib/hybrid-inference/engine-watchdog/${name}.restarts`, `${now - 7200}\n${now - 3000}\n${now - 2000}\n`);
    expect(watch().stdout).toContain("restart 3 of at most 3 an hour");
    expect(restarts()).toHaveLength(1);
  });

  it("logs a failed restart and goes on with the next container", () => {
    container(ID, { status: "unhealthy", streak: 6, startedAgoS: 3600, name: "a-engine" });
    container(OTHER, { status: "unhealthy", streak: 6, startedAgoS: 3600, name: "b-engine" });
    sb.set("docker-restart-rc", "1");
    const r = watch();
    expect(r.status).toBe(0);
    expect(restarts().map((c) => c.at(-1))).toEqual([ID, OTHER]);
    expect(r.stderr).toContain("a-engine has been unhealthy for ~180 s, but 'docker restart' failed");
    expect(sb.read("var/log/hybrid-inference/engine-watchdog.log")).toContain(`FAILED to restart b-engine (${OTHER})`);
  });

  it("refuses to act on a labelled container without a policy, and fails when Docker does not answer", () => {
    container(ID, { status: "unhealthy", streak: 50, startedAgoS: 3600, labels: { "hybrid-inference.watchdog": "restart", "hybrid-inference.watchdog.restart-after-s": "soon" } });
    const r = watch();
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("carries hybrid-inference.watchdog=restart but not whole numbers");
    // a missing first label does not shift the others into its place
    container(ID, { status: "unhealthy", streak: 50, startedAgoS: 3600, labels: { "hybrid-inference.watchdog": "restart", "hybrid-inference.watchdog.start-period-s": "600", "hybrid-inference.watchdog.max-restarts-per-hour": "3" } });
    expect(watch().stderr).toContain("carries hybrid-inference.watchdog=restart but not whole numbers");
    expect(restarts()).toEqual([]);
    sb.set("docker-info-fails", "");
    const down = watch();
    expect(down.status).toBe(1);
    expect(down.stderr).toContain("cannot list containers: Cannot connect to the Docker daemon");
  });
});

describe("engine-watchdog (the bootstrap step)", () => {
  const base = {
    hostName: "gpu-1", sshUser: "ubuntu",
    gpu: { smiName: "NVIDIA GeForce RTX 4090", count: 1, minDriverBranch: 580, openKernelModules: false },
    cacheDir: "/var/lib/hybrid-inference/models", minFreeDiskGB: 100, adminCidrs: ["203.0.113.0/24"], router: null, engine: null,
  };
  const step = (): ReturnType<typeof renderHostBootstrap>[number] => renderHostBootstrap(base).find((s) => s.name === "engine-watchdog")!;

  it("installs the program and a timer, enables it, and a re-run changes nothing", () => {
    const s = step();
    const r = sb.runText(s.script, { ...s.env });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(sb.read("usr/local/lib/hybrid-inference/engine-watchdog")).toBe(watchdogProgram());
    expect(statSync(path.join(sb.root, "usr/local/lib/hybrid-inference/engine-watchdog")).mode & 0o777).toBe(0o755);
    const service = sb.read("etc/systemd/system/hybrid-inference-engine-watchdog.service");
    expect(service).toContain("ExecStart=/usr/local/lib/hybrid-inference/engine-watchdog\n");
    expect(service).toContain("Type=oneshot\n");
    const timer = sb.read("etc/systemd/system/hybrid-inference-engine-watchdog.timer");
    expect(timer).toContain("OnUnitActiveSec=30\n");
    expect(timer).toContain("WantedBy=timers.target\n");
    expect(sb.callLines("systemctl")).toEqual([
      "systemctl daemon-reload",
      "systemctl is-enabled --quiet hybrid-inference-engine-watchdog.timer",
      "systemctl enable --now hybrid-inference-engine-watchdog.timer",
    ]);
    sb.clearCalls();
    const again = sb.runText(s.script, { ...s.env });
    expect(again.stdout).toContain("already installed and running every 30 s; nothing to do");
    expect(sb.callLines("systemctl")).not.toContain("systemctl daemon-reload");
  });

  it("the installed program restarts a hung engine on the host", () => {
    const s = step();
    expect(sb.runText(s.script, { ...s.env }).status).toBe(0);
    container(ID, { status: "unhealthy", streak: 5, startedAgoS: 3600 });
    const r = sb.runFile(path.join(sb.root, "usr/local/lib/hybrid-inference/engine-watchdog"), [], {});
    expect(r.status).toBe(0);
    expect(restarts()).toEqual([["docker", "restart", "--time", "30", ID]]);
  });

  it("rejects a program that is not a bash script and an interval out of range", () => {
    const s = step();
    const gz = (text: string): string => gzipSync(Buffer.from(text)).toString("base64");
    expect(sb.runText(s.script, { ...s.env, HI_WATCHDOG_PROGRAM_GZ: gz("rm -rf /\n") }).stderr).toContain("HI_WATCHDOG_PROGRAM_GZ must hold a bash script");
    expect(sb.runText(s.script, { ...s.env, HI_WATCHDOG_PROGRAM_GZ: "$(reboot)" }).stderr).toContain("HI_WATCHDOG_PROGRAM_GZ must be base64");
    expect(sb.runText(s.script, { ...s.env, HI_WATCHDOG_PROGRAM_GZ: Buffer.from("not gzip").toString("base64") }).stderr).toContain("does not decode");
    expect(sb.runText(s.script, { ...s.env, HI_WATCHDOG_INTERVAL_S: "5" }).stderr).toContain("HI_WATCHDOG_INTERVAL_S must be a whole number of seconds from 10 to 3600, got '5'");
    expect(sb.exists("usr/local/lib/hybrid-inference/engine-watchdog")).toBe(false);
  });
});
