/**
 * A driver change deployed with the real Pulumi engine and command provider, through a bastion,
 * against the SSH test host on loopback (ssh-host.ts: a real sshd whose sessions' `sudo` runs the
 * steps against a fake root and stub tools answering like a ready GPU server), behind a real
 * forwarding-only bastion (bastion.ts). The stack is the hosts-only loopback stack
 * (loopback-stack.ts) with `access.bastion` set: every step, and the reboot wait, go through it.
 *
 * The test host's stubs simulate the reboot: `systemd-run` (which reboot-if-required schedules
 * the reboot with) makes the host come back at once, as a real one would a minute later: a new
 * boot id, the newly installed driver loaded, /var/run emptied, nvidia-smi on the new version.
 * The reboot wait reads the boot id over SSH with a plain `cat`, which on the test host is
 * pointed at the fake root's /proc for that one file.
 *
 * Asserted, in order, on one stack:
 * 1. the first `pulumi up` bootstraps the host through the bastion (the bastion accepted a login
 *    for every session the host saw) and reboots nothing (the driver is loaded);
 * 2. `driver.refresh` (a new label) re-runs the driver step, which upgrades the driver; the reboot
 *    step reboots; the wait sees a new boot id; verify-gpus reports the new driver; nothing else
 *    runs: exactly those four resources are replaced;
 * 3. a second `pulumi up` changes nothing and opens no SSH session.
 *
 * Needs the CLI and the command and random plugins (scripts/build-pulumi.sh) and OpenSSH's
 * server (scripts/install-sshd.sh); skipped with the reason without them, failed with
 * HI_REQUIRE_ENGINE=1.
 */
import { chmodSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { hostSteps, renderStepCommand } from "../../core/render/host-bootstrap";
import { type TestBastion, startBastion } from "./bastion";
import { LOOPBACK_HOST, LOOPBACK_STACK, loopbackHostPlan, loopbackValues, readyHostOptions, writeLoopbackStackFile } from "./loopback-stack";
import { DRIVER_PATCH, type SshTestHost, readyHost, sshHostMissing, startSshTestHost } from "./ssh-host";
import { PROJECT, findToolchain, missing, skipUnlessBuilt } from "./toolchain";
import { type EngineStack, createEngineStack, errorDiagnostics, lastOutput, recorder, resourceSteps } from "./workspace";

const tc = findToolchain();
const unavailable = [...missing(tc, ["pulumi", "pulumi-resource-command", "pulumi-resource-random"]), ...sshHostMissing()];

const REFRESH = "2026-12-01";
/** The version the refresh finds in the archive. */
const NEW_DRIVER = "580.105.08";

let host: SshTestHost | undefined;
let bastion: TestBastion | undefined;
let es: EngineStack | undefined;
let dir: string | undefined;
let broken: string | undefined;
let values: Record<string, unknown> = {};
const savedSsh = process.env["HI_SSH"];

/**
 * The host's reboot, as `systemd-run … systemctl reboot` would bring it about: back at once with
 * a new boot id, the installed driver loaded (the newest libnvidia-compute in the stubs' dpkg
 * state), /var/run emptied, nvidia-smi on the new version.
 */
const REBOOT_STUB = String.raw`
case "$*" in
  *"systemctl reboot"*)
    python3 -c 'import uuid; print(uuid.uuid4())' >"$HI_ROOT/proc/sys/kernel/random/boot_id"
    v=$(awk '$1 ~ /^libnvidia-compute-/ { sub(/-.*/, "", $2); print $2 }' "$S/dpkg" | sort -V | tail -n 1)
    sed -i -E "s/  [0-9]{3}\.[0-9]+(\.[0-9]+)?  /  $v  /" "$HI_ROOT/proc/driver/nvidia/version"
    rm -rf "$HI_ROOT/var/run/hybrid-inference" "$HI_ROOT/var/run/reboot-required" "$HI_ROOT/var/run/reboot-required.pkgs"
    sed -i -E "s/[0-9]{3}\.[0-9]+\.[0-9]+/$v/g" "$S/nvidia-smi-query" "$S/nvidia-smi-table"
    echo "$v" >>"$S/reboots" ;;
esac`;

/** `cat /proc/sys/kernel/random/boot_id` in the host's sessions reads the fake root's (the reboot wait's only command). */
function bootIdFromFakeRoot(h: SshTestHost): void {
  const realCat = spawnSync("bash", ["-c", "command -v cat"], { encoding: "utf8" }).stdout.trim();
  const cat = path.join(h.sandbox.safe, "cat");
  unlinkSync(cat);
  writeFileSync(cat, [
    "#!/bin/bash",
    `if [[ $# == 1 && "$1" == /proc/sys/kernel/random/boot_id ]]; then exec ${realCat} '${h.sandbox.root}/proc/sys/kernel/random/boot_id'; fi`,
    `exec ${realCat} "$@"`,
    "",
  ].join("\n"));
  chmodSync(cat, 0o755);
}

beforeAll(async () => {
  if (unavailable.length > 0) return;
  dir = mkdtempSync(path.join(tmpdir(), "hi-engine-driver-"));
  host = await startSshTestHost();
  bastion = await startBastion(host, `${host.keyFile}.pub`);
  const base = loopbackValues(host);
  values = { ...base, access: { ...(base["access"] as Record<string, unknown>), bastion: { address: bastion.address, port: bastion.port, user: bastion.user, host_key: bastion.hostKey } } };
  readyHost(host.sandbox, readyHostOptions(loopbackHostPlan(values)));
  host.sandbox.stub("systemd-run", REBOOT_STUB);
  bootIdFromFakeRoot(host);
  // The reboot wait's ssh keeps the test host's key out of ~/.ssh/known_hosts (the deployment's default).
  const ssh = path.join(dir, "ssh");
  writeFileSync(ssh, `#!/usr/bin/env bash\nexec ssh -o UserKnownHostsFile=${path.join(dir, "known_hosts")} "$@"\n`);
  chmodSync(ssh, 0o755);
  process.env["HI_SSH"] = ssh;
  const stackFile = path.join(dir, `Pulumi.${LOOPBACK_STACK}.yaml`);
  writeLoopbackStackFile(stackFile, values);
  // resetModules: for workspace.ts versions that take it (inline programs re-import index.ts per operation).
  const opts = { stackFile, secrets: { sshPrivateKey: host.privateKey }, resetModules: () => vi.resetModules() };
  es = await createEngineStack(tc, opts);
}, 180_000);

afterAll(async () => {
  if (savedSsh === undefined) delete process.env["HI_SSH"];
  else process.env["HI_SSH"] = savedSsh;
  es?.cleanup();
  await bastion?.stop();
  await host?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function ready(ctx: { skip(note?: string): never }): { host: SshTestHost; bastion: TestBastion; es: EngineStack } {
  skipUnlessBuilt(ctx, unavailable);
  if (broken) ctx.skip(`an earlier phase failed: ${broken}`);
  if (!host || !bastion || !es) throw new Error("the SSH test host, the bastion or the stack was not set up");
  return { host, bastion, es };
}

async function phase<T>(name: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    broken = name;
    throw e;
  }
}

function changes(summary: { resourceChanges?: Partial<Record<string, number>> }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [op, n] of Object.entries(summary.resourceChanges ?? {})) if (op !== "same" && n !== undefined && n > 0) out[op] = n;
  return out;
}

/** Resource names (after the host's prefix) the last operation replaced, in the order the engine began them. */
function replaced(s: EngineStack): string[] {
  return resourceSteps(s).filter((t) => t.op === "replace").map((t) => t.urn.slice(t.urn.indexOf(`${LOOPBACK_HOST}-`) + LOOPBACK_HOST.length + 1));
}

describe("a driver change with the real engine, through a bastion", () => {
  it("pulumi up bootstraps the host through the bastion and reboots nothing", async (ctx) => {
    const { host: h, bastion: b, es: s } = ready(ctx);
    await phase("first pulumi up", async () => {
      const res = await s.stack.up(recorder(s));
      expect(errorDiagnostics(s), lastOutput(s)).toEqual([]);
      expect(res.summary.result, lastOutput(s)).toBe("succeeded");
      const sessions = h.sandbox.calls("ssh-session").length;
      expect(sessions).toBe(hostSteps(loopbackHostPlan(values).bootstrap).length);
      // Every step dialled the host through the bastion (a forwarding-only jump host): one login there per session here.
      expect(b.acceptedLogins()).toBeGreaterThanOrEqual(sessions);
      expect(h.sandbox.calls("systemd-run")).toEqual([]);
    });
  }, 600_000);

  it("driver.refresh upgrades the driver, reboots the host and waits for it, and verifies the new driver: nothing else runs", async (ctx) => {
    const { host: h, bastion: b, es: s } = ready(ctx);
    await phase("driver refresh", async () => {
      const loginsBefore = b.acceptedLogins();
      const sb = h.sandbox;
      // The archive has a newer driver of the same branch.
      sb.set("apt-versions", `nvidia-utils-580-server ${NEW_DRIVER}-0ubuntu1\n`);
      // The card's flavour: open kernel modules for RTX 50xx only (the loopback host has an RTX 4090).
      const flavour = readyHostOptions(loopbackHostPlan(values)).openKernelModules ? "-open" : "";
      sb.set(`apt-brings/nvidia-headless-580-server${flavour}`, `libnvidia-compute-580-server ${NEW_DRIVER}-0ubuntu1\nnvidia-dkms-580-server${flavour} ${NEW_DRIVER}-0ubuntu1\n`);
      const before = hostSteps(loopbackHostPlan(values).bootstrap);
      const after = hostSteps(loopbackHostPlan({ ...values, driver: { refresh: REFRESH } }).bootstrap);
      expect(after.filter((st, i) => st.sha256 !== before[i]!.sha256).map((st) => st.name)).toEqual(["nvidia-driver"]);
      const oldBootId = sb.read("proc/sys/kernel/random/boot_id").trim();

      await s.stack.setConfig(`${PROJECT}:driver.refresh`, { value: REFRESH }, true);
      sb.clearCalls();
      const res = await s.stack.up(recorder(s));
      expect(errorDiagnostics(s), lastOutput(s)).toEqual([]);
      expect(res.summary.result, lastOutput(s)).toBe("succeeded");
      // The driver step (its input changed), the reboot check and the card check (they re-run after any step), the wait (after the reboot check).
      expect(replaced(s).sort(), lastOutput(s)).toEqual(["nvidia-driver", "reboot-if-required", "verify-gpus", "wait-for-reboot"]);
      expect(changes(res.summary), lastOutput(s)).toEqual({ replace: 4 });
      // On the host: the three steps' sessions, in order, each with its new command line, plus the wait's boot id reads.
      const steps = h.sandbox.calls("ssh-session").map((c) => c[1]!).filter((cmd) => cmd.startsWith("sudo "));
      const rerun = after.filter((st) => ["nvidia-driver", "reboot-if-required", "verify-gpus"].includes(st.name));
      expect(steps).toEqual(rerun.map(renderStepCommand));
      expect(sb.getState("reboots").trim(), lastOutput(s, 20000)).toBe(NEW_DRIVER);
      // The wait read the new boot id over SSH, through the bastion like every step.
      const sessions = h.sandbox.calls("ssh-session").map((c) => c[1]!);
      expect(sessions).toContain("cat /proc/sys/kernel/random/boot_id");
      expect(b.acceptedLogins() - loginsBefore).toBeGreaterThanOrEqual(sessions.length);
      const newBootId = sb.read("proc/sys/kernel/random/boot_id").trim();
      expect(newBootId).not.toBe(oldBootId);
      const log = s.output.join("");
      expect(log).toContain(`HI_BOOT_ID=${oldBootId}`);
      expect(log).toContain(`is back after its reboot (boot id ${newBootId})`);
      expect(log).toContain(`driver.refresh is now '${REFRESH}'`);
      expect(sb.callLines("apt-get").some((l) => / install .*nvidia-headless-580-server/.test(l)), sb.callLines("apt-get").join("\n")).toBe(true);
      const inventory = res.outputs["gpuInventory"]?.value as Record<string, { driverVersion: string }>;
      expect(inventory[LOOPBACK_HOST]!.driverVersion).toBe(NEW_DRIVER);
      expect(NEW_DRIVER).not.toContain(DRIVER_PATCH);
    });
  }, 600_000);

  it("a second pulumi up changes nothing and opens no SSH session", async (ctx) => {
    const { host: h, es: s } = ready(ctx);
    await phase("second pulumi up", async () => {
      h.sandbox.clearCalls();
      const res = await s.stack.up(recorder(s));
      expect(errorDiagnostics(s), lastOutput(s)).toEqual([]);
      expect(changes(res.summary), lastOutput(s)).toEqual({});
      expect(res.summary.resourceChanges?.["same"] ?? 0).toBeGreaterThan(5);
      expect(h.sandbox.calls("ssh-session")).toEqual([]);
      // The log does record sessions: one of our own shows up.
      expect(h.ssh("true").status).toBe(0);
      expect(h.sandbox.calls("ssh-session")).toHaveLength(1);
    });
  }, 300_000);
});
