/**
 * `pulumi up` of the host bootstrap with the real Pulumi engine and command provider, against
 * the SSH test host on loopback (ssh-host.ts: a real sshd on 127.0.0.2, whose sessions' `sudo`
 * runs the steps against a fake root and stub tools that answer like a ready GPU server).
 *
 * The stack (loopback-stack.ts) has `workloads: false`: hosts only, so no Docker provider, engine
 * or router (they need a Docker engine this machine lacks). Asserted, in order, on one stack:
 * 1. `pulumi up` runs every bootstrap step over SSH, in order, once, and the stack's
 *    gpuInventory output is what the host's nvidia-smi reported;
 * 2. a second `pulumi up` changes nothing, opens no SSH session (checked against a session
 *    the log does record), and gpuInventory is unchanged;
 * 3. `pulumi preview --expect-no-changes` passes;
 * 4. `pulumi refresh` finds no drift (and contacts nothing: the command provider reads state only);
 * 5. a stack change that alters one step's input (a second admin CIDR: the firewall step's
 *    HI_ADMIN_CIDRS) re-runs that step and what depends on it, and nothing else: the firewall,
 *    the reboot check and verify-gpus (whose triggers are every step's hash: hostSteps in
 *    core/render/host-bootstrap.ts) are replaced and run on the host, in step order, and the
 *    local wait for the reboot follows the reboot check (its trigger is that resource's id) but
 *    returns at once (no reboot was announced); the other seven steps stay; gpuInventory survives;
 * 6. `pulumi destroy` removes every resource (the steps have no delete command: nothing runs
 *    on the host).
 *
 * Needs the CLI and the command and random plugins (scripts/build-pulumi.sh) and OpenSSH's
 * server (scripts/install-sshd.sh); skipped with the reason without them, failed with
 * HI_REQUIRE_ENGINE=1 (CI), where all of them can be built and installed. A phase that fails
 * skips the later ones (they depend on its state), so a failure shows once, where it happened.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { BOOTSTRAP_STEPS, type GpuInventory, hostSteps, renderHostBootstrap, renderStepCommand } from "../../core/render/host-bootstrap";
import { LOOPBACK_HOST, LOOPBACK_STACK, loopbackHostPlan, loopbackValues, readyHostOptions, schemaHasWorkloads, writeLoopbackStackFile } from "./loopback-stack";
import { type SshTestHost, readyHost, sshHostMissing, startSshTestHost } from "./ssh-host";
import { PROJECT, findToolchain, missing, skipUnlessBuilt, versionWarnings } from "./toolchain";
import { type EngineStack, createEngineStack, errorDiagnostics, lastOutput, recorder, resourceSteps } from "./workspace";

const tc = findToolchain();
const unavailable = [...missing(tc, ["pulumi", "pulumi-resource-command", "pulumi-resource-random"]), ...sshHostMissing()];

let host: SshTestHost | undefined;
let es: EngineStack | undefined;
let dir: string | undefined;
/** Set when a phase fails: the later ones depend on it and skip. */
let broken: string | undefined;
/** gpuInventory after the first up, which every later up must leave as it is. */
let firstInventory: GpuInventory | undefined;

/** The second admin network the one-step change adds (a bastion, on loopback like everything here). */
const BASTION_CIDR = "127.0.0.3/32";

beforeAll(async () => {
  if (unavailable.length > 0) return;
  dir = mkdtempSync(path.join(tmpdir(), "hi-engine-up-"));
  host = await startSshTestHost();
  const values = loopbackValues(host);
  readyHost(host.sandbox, readyHostOptions(loopbackHostPlan(values)));
  const stackFile = path.join(dir, `Pulumi.${LOOPBACK_STACK}.yaml`);
  writeLoopbackStackFile(stackFile, values);
  es = await createEngineStack(tc, { stackFile, secrets: { sshPrivateKey: host.privateKey }, resetModules: () => vi.resetModules() });
}, 180_000);

afterAll(async () => {
  es?.cleanup();
  await host?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Ctx {
  skip(note?: string): never;
}

function ready(ctx: Ctx): { host: SshTestHost; es: EngineStack } {
  skipUnlessBuilt(ctx, unavailable);
  if (broken) ctx.skip(`an earlier phase failed: ${broken}`);
  if (!host || !es) throw new Error("the SSH test host or the stack was not set up");
  return { host, es };
}

/** Runs a phase; a failure marks the later phases as skipped. */
async function phase<T>(name: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    broken = name;
    throw e;
  }
}

/** Counts of the operation's resource changes other than "same". */
function changes(summary: { resourceChanges?: Partial<Record<string, number>> }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [op, n] of Object.entries(summary.resourceChanges ?? {})) if (op !== "same" && n !== undefined && n > 0) out[op] = n;
  return out;
}

/** Names of the bootstrap steps whose resource the last operation replaced, in step order. */
function replacedSteps(es: EngineStack): string[] {
  const replaced = new Set(resourceSteps(es).filter((t) => t.op === "replace").map((t) => t.urn));
  // Step resources are named `<…>-<host>-<step>` (the component's naming, e.g. engine-loopback-loop-gpu-1-firewall).
  return BOOTSTRAP_STEPS.filter((step) => [...replaced].some((urn) => urn.endsWith(`${LOOPBACK_HOST}-${step}`)));
}

/**
 * Proves the host's session log works now, so that "no session" above it means none happened,
 * not that nothing was recorded: one session of our own must appear in it.
 */
function expectSessionLogRecords(h: SshTestHost): void {
  const before = h.sandbox.calls("ssh-session").length;
  expect(h.ssh("true").status).toBe(0);
  expect(h.sandbox.calls("ssh-session"), "the SSH test host's session log does not record sessions").toHaveLength(before + 1);
  h.sandbox.clearCalls();
}

describe("pulumi up of the host bootstrap against the SSH test host (real engine)", () => {
  it("uses a stack the schema accepts (hybrid-inference:workloads)", () => {
    // Not a skip: the stack relies on this key, which core/config/schema.ts must define.
    expect(schemaHasWorkloads(), "core/config/schema.ts has no `workloads` key: the up test's stack sets workloads: false").toBe(true);
  });

  it("pulumi up runs every bootstrap step over SSH, in order, and reports the host's GPUs", async (ctx) => {
    const { host: h, es: s } = ready(ctx);
    await phase("first pulumi up", async () => {
      const plan = loopbackHostPlan(loopbackValues(h));
      const steps = renderHostBootstrap(plan.bootstrap);
      expect(steps.map((st) => st.name)).toEqual([...BOOTSTRAP_STEPS]);
      const res = await s.stack.up(recorder(s));
      expect(errorDiagnostics(s), lastOutput(s)).toEqual([]);
      expect(res.summary.result, lastOutput(s)).toBe("succeeded");

      const touched = resourceSteps(s);
      const types = touched.map((t) => t.type);
      // Hosts only: nothing of Docker (no provider dials a daemon that is not there).
      expect(types.filter((t) => t.includes("docker")), lastOutput(s)).toEqual([]);
      expect(types).toContain("hybrid:host:GpuHost");
      expect(touched.filter((t) => t.type === "command:remote:Command" && t.op === "create")).toHaveLength(steps.length);
      expect(touched.filter((t) => t.type === "command:local:Command" && t.urn.endsWith("wait-for-reboot"))).toHaveLength(1);

      // On the host: one SSH session per step, in order, each the component's exact command line.
      const sb = h.sandbox;
      expect(sb.calls("ssh-session").map((c) => c[1])).toEqual(steps.map(renderStepCommand));
      expect(sb.calls("sudo")).toHaveLength(steps.length);
      // Each step spoke (logging: stdoutAndStderr puts its output in the update's log).
      const log = s.output.join("");
      for (const step of steps) expect(log, `no output of step ${step.name}`).toContain(`[hybrid-inference:${step.name}]`);
      // The command and random plugins report the versions @pulumi/command and @pulumi/random ask for.
      expect(versionWarnings(log), log).toEqual([]);
      expect(sb.callLines("apt-get").some((l) => l.includes("docker-ce"))).toBe(true);
      expect(sb.callLines("ufw")).toContain("ufw --force enable");
      expect(sb.calls("systemd-run"), "no reboot is due on a host whose driver is loaded").toEqual([]);

      const o = readyHostOptions(plan);
      expect(res.outputs["gpuInventory"]?.value).toEqual({
        [LOOPBACK_HOST]: {
          gpus: Array.from({ length: o.gpuCount }, () => ({ name: o.gpuName, memoryMiB: o.memoryMiB - 12 })),
          driverVersion: expect.stringMatching(new RegExp(`^${o.driverBranch}\\.`)),
          cudaVersion: "13.0",
        },
      });
      firstInventory = res.outputs["gpuInventory"]?.value as GpuInventory;
    });
  }, 600_000);

  it("a second pulumi up changes nothing, opens no SSH session and keeps gpuInventory", async (ctx) => {
    const { host: h, es: s } = ready(ctx);
    await phase("second pulumi up", async () => {
      h.sandbox.clearCalls();
      const res = await s.stack.up(recorder(s));
      expect(errorDiagnostics(s), lastOutput(s)).toEqual([]);
      expect(changes(res.summary), lastOutput(s)).toEqual({});
      expect(res.summary.resourceChanges?.["same"] ?? 0, "the second up saw no resources at all").toBeGreaterThanOrEqual(BOOTSTRAP_STEPS.length);
      expect(h.sandbox.calls("ssh-session")).toEqual([]);
      expectSessionLogRecords(h);
      expect(firstInventory).toBeDefined();
      expect(res.outputs["gpuInventory"]?.value).toEqual(firstInventory);
    });
  }, 300_000);

  it("pulumi preview --expect-no-changes passes", async (ctx) => {
    const { host: h, es: s } = ready(ctx);
    await phase("preview --expect-no-changes", async () => {
      const res = await s.stack.preview({ ...recorder(s), expectNoChanges: true });
      expect(changes({ resourceChanges: res.changeSummary }), lastOutput(s)).toEqual({});
      expect(h.sandbox.calls("ssh-session")).toEqual([]);
    });
  }, 300_000);

  it("pulumi refresh finds no drift", async (ctx) => {
    const { host: h, es: s } = ready(ctx);
    await phase("refresh", async () => {
      const res = await s.stack.refresh({ ...recorder(s), expectNoChanges: true });
      expect(errorDiagnostics(s), lastOutput(s)).toEqual([]);
      expect(res.summary.result, lastOutput(s)).toBe("succeeded");
      expect(changes(res.summary), lastOutput(s)).toEqual({});
      // Every command resource was read back (and read only: no session on the host).
      const commands = resourceSteps(s).filter((t) => t.type === "command:remote:Command" || t.type === "command:local:Command");
      expect(commands.length, lastOutput(s)).toBe(BOOTSTRAP_STEPS.length + 1);
      expect(h.sandbox.calls("ssh-session")).toEqual([]);
    });
  }, 300_000);

  it("a change to one step's input re-runs that step, the reboot check and verify-gpus, and nothing else", async (ctx) => {
    const { host: h, es: s } = ready(ctx);
    await phase("one-step change", async () => {
      const before = loopbackValues(h);
      const beforeAccess = before["access"] as Record<string, unknown>;
      const after = { ...before, access: { ...beforeAccess, admin_cidrs: [...(beforeAccess["admin_cidrs"] as string[]), BASTION_CIDR] } };
      const oldSteps = hostSteps(loopbackHostPlan(before).bootstrap);
      const newSteps = hostSteps(loopbackHostPlan(after).bootstrap);
      // The premise: this config change alters exactly one step's script or input, the firewall's;
      // by the steps' triggers (core/render/host-bootstrap.ts hostSteps) that re-runs the
      // firewall, the reboot check and verify-gpus (both re-run after any change), in step order.
      expect(newSteps.filter((st, i) => st.sha256 !== oldSteps[i]?.sha256).map((st) => st.name)).toEqual(["firewall"]);
      const rerun = newSteps.filter((st, i) => JSON.stringify(st.triggers) !== JSON.stringify(oldSteps[i]?.triggers));
      expect(rerun.map((st) => st.name)).toEqual(["reboot-if-required", "firewall", "verify-gpus"]);

      await s.stack.setConfig(`${PROJECT}:access.admin_cidrs[1]`, { value: BASTION_CIDR }, true);
      h.sandbox.clearCalls();
      const res = await s.stack.up(recorder(s));
      expect(errorDiagnostics(s), lastOutput(s)).toEqual([]);
      expect(res.summary.result, lastOutput(s)).toBe("succeeded");
      // Replaced: those three steps and the wait for the reboot (triggered by the reboot
      // check's id); nothing else changed.
      expect(replacedSteps(s), lastOutput(s)).toEqual(rerun.map((st) => st.name));
      const replacedWait = resourceSteps(s).filter((t) => t.op === "replace" && t.type === "command:local:Command" && t.urn.endsWith(`${LOOPBACK_HOST}-wait-for-reboot`));
      expect(replacedWait, lastOutput(s)).toHaveLength(1);
      expect(changes(res.summary), lastOutput(s)).toEqual({ replace: rerun.length + 1 });
      // On the host: exactly those sessions, in order, each with its new command line; the
      // reboot check finds the driver loaded and reboots nothing.
      expect(h.sandbox.calls("ssh-session").map((c) => c[1])).toEqual(rerun.map(renderStepCommand));
      expect(h.sandbox.calls("sudo")).toHaveLength(rerun.length);
      expect(h.sandbox.calls("systemd-run"), "no reboot is due on a host whose driver is loaded").toEqual([]);
      expect(h.sandbox.callLines("ufw").some((l) => l.startsWith(`ufw allow from ${BASTION_CIDR.replace(/\/32$/, "")}`) && l.includes(`port ${h.port} `)), h.sandbox.callLines("ufw").join("\n")).toBe(true);
      expect(h.sandbox.callLines("apt-get"), "no other step ran").toEqual([]);
      expect(res.outputs["gpuInventory"]?.value).toEqual(firstInventory);
    });
  }, 300_000);

  it("pulumi destroy removes every resource without running anything on the host", async (ctx) => {
    const { host: h, es: s } = ready(ctx);
    await phase("destroy", async () => {
      h.sandbox.clearCalls();
      const res = await s.stack.destroy(recorder(s));
      expect(errorDiagnostics(s), lastOutput(s)).toEqual([]);
      expect(res.summary.result, lastOutput(s)).toBe("succeeded");
      expect(res.summary.resourceChanges?.["delete"] ?? 0).toBeGreaterThan(0);
      expect(h.sandbox.calls("sudo")).toEqual([]);
      const state = await s.stack.exportStack();
      const left = (state.deployment as { resources?: unknown[] }).resources ?? [];
      expect(left).toEqual([]);
    });
  }, 300_000);
});
