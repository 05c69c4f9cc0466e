/**
 * The SSH test host that `pulumi up` deploys to (up.test.ts), checked without Pulumi: every
 * bootstrap step, sent over a real SSH connection the way `command.remote.Command` sends it
 * (the command line from renderStepCommand, the script on the session's stdin), runs to
 * success against a ready GPU host, a second pass changes nothing, and nothing reaches this
 * machine (the fake root takes every write, the stubs every privileged command).
 *
 * Needs OpenSSH's server: `bash scripts/install-sshd.sh`. Skipped without it (HI_REQUIRE_ENGINE=1
 * makes that a failure).
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseGpuInventory, renderHostBootstrap, renderStepCommand } from "../../core/render/host-bootstrap";
import { LOOPBACK_HOST, loopbackHostPlan, loopbackValues, readyHostOptions } from "./loopback-stack";
import { DRIVER_PATCH, SSH_TEST_ADDRESS, type SshTestHost, readyHost, sshHostMissing, startSshTestHost } from "./ssh-host";
import { skipUnlessBuilt } from "./toolchain";

const unavailable = sshHostMissing();
let host: SshTestHost | undefined;

beforeAll(async () => {
  if (unavailable.length === 0) host = await startSshTestHost();
});
afterAll(async () => {
  await host?.stop();
});

function up(ctx: { skip(note?: string): never }): SshTestHost {
  skipUnlessBuilt(ctx, unavailable);
  if (!host) throw new Error("the SSH test host did not start");
  return host;
}

describe("SSH test host on loopback (fixture of the pulumi up test)", () => {
  it("logs in with the throwaway key only, and a session cannot reach the real system", (ctx) => {
    const h = up(ctx);
    const r = h.ssh("echo hello from $USER; command -v apt-get || echo no-apt-get; sudo -n id -u");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // apt-get is not on the session's PATH; `sudo id -u` is the stub's answer (root), not a real sudo.
    expect(r.stdout).toBe(`hello from ${h.user}\nno-apt-get\n0\n`);
    expect(h.sandbox.callLines("sudo")).toEqual(["sudo -n id -u"]);
    h.sandbox.clearCalls();
  });

  it("runs every bootstrap step over SSH against a ready GPU host, then re-runs them without changes", (ctx) => {
    const h = up(ctx);
    const plan = loopbackHostPlan(loopbackValues(h));
    readyHost(h.sandbox, readyHostOptions(plan));
    const steps = renderHostBootstrap(plan.bootstrap);
    expect(steps.map((s) => s.name)).toContain("verify-gpus");

    const runAll = (): Map<string, string> => {
      const out = new Map<string, string>();
      for (const step of steps) {
        const r = h.ssh(renderStepCommand(step), step.script);
        if (r.status !== 0) throw new Error(`step ${step.name} failed (${r.status}):\n${r.stdout}\n${r.stderr}\n${h.sshdLog().slice(-2000)}`);
        expect(r.stdout).toContain(`[hybrid-inference:${step.name}]`);
        out.set(step.name, r.stdout);
      }
      return out;
    };

    const first = runAll();
    const sb = h.sandbox;
    // One session and one sudo per step, each exactly the component's command line.
    expect(sb.calls("ssh-session").map((c) => c[1])).toEqual(steps.map(renderStepCommand));
    expect(sb.calls("sudo")).toHaveLength(steps.length);
    // What a fresh server gets: kernel headers, the toolkit and Docker from apt, the nvidia runtime, the firewall.
    const installs = sb.callLines("apt-get").filter((l) => l.includes(" install "));
    expect(installs.join("\n")).toMatch(/linux-headers-/);
    expect(installs.join("\n")).toMatch(/nvidia-container-toolkit/);
    expect(installs.join("\n")).toMatch(/docker-ce/);
    expect(installs.join("\n")).not.toMatch(/nvidia-headless/);
    expect(sb.callLines("nvidia-ctk")).toHaveLength(1);
    expect(sb.callLines("ufw")).toContain("ufw allow from 127.0.0.0/8 to any port 4000 proto tcp comment hybrid-inference router");
    expect(sb.callLines("ufw")).toContain("ufw --force enable");
    expect(sb.calls("systemd-run")).toEqual([]);
    expect(first.get("reboot-if-required")).not.toContain("HI_REBOOT_SCHEDULED=1");
    expect(sb.read("etc/ssh/sshd_config.d/01-hybrid-inference.conf")).toContain("PasswordAuthentication no");
    expect(sb.exists("var/lib/hybrid-inference/models")).toBe(true);
    const o = readyHostOptions(plan);
    expect(parseGpuInventory(first.get("verify-gpus") ?? "")).toEqual({
      gpus: [{ name: o.gpuName, memoryMiB: o.memoryMiB - 12 }],
      driverVersion: `${o.driverBranch}.${DRIVER_PATCH}`,
      cudaVersion: "13.0",
    });

    // A second pass on the bootstrapped host installs and restarts nothing.
    sb.clearCalls();
    runAll();
    expect(sb.callLines("apt-get")).toEqual([]);
    expect(sb.callLines("ufw").filter((l) => !/^ufw (status|show)/.test(l))).toEqual([]);
    expect(sb.callLines("systemctl").filter((l) => /restart|reload|start /.test(l))).toEqual([]);

    // Nothing landed on this machine.
    expect(existsSync("/etc/ssh/sshd_config.d/01-hybrid-inference.conf")).toBe(false);
    expect(existsSync("/var/lib/hybrid-inference/gpu-inventory.json")).toBe(false);
    expect(plan.name).toBe(LOOPBACK_HOST);
    expect(plan.address).toBe(SSH_TEST_ADDRESS);
  }, 120_000);

  // Found by this host (sshd on a non-22 port): the plan once left the bootstrap's SSH port
  // at 22, so the firewall would have admitted SSH on 22 only and locked the deployment out.
  it("opens the firewall for SSH on the host's ssh_port, not on 22", (ctx) => {
    const h = up(ctx);
    const plan = loopbackHostPlan(loopbackValues(h));
    const firewall = renderHostBootstrap(plan.bootstrap).find((s) => s.name === "firewall");
    expect(firewall?.env["HI_SSH_PORT"]).toBe(String(h.port));
  });
});
