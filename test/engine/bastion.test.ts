/**
 * The bastion ProxyCommand (core/render/ssh-access.ts) with real OpenSSH: the local reboot wait
 * (templates/local/wait-for-reboot.sh), the one deployment SSH client the tests can run here
 * (the Docker provider uses the same options), reaches the SSH test host through a bastion on
 * loopback that only forwards, with the bastion's host key pinned. Needs OpenSSH's server
 * (scripts/install-sshd.sh); skipped with the reason without it.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bastionKnownHostsLine, bastionProxyCommand } from "../../core/render/ssh-access";
import { type TestBastion, startBastion } from "./bastion";
import { type SshTestHost, sshHostMissing, startSshTestHost } from "./ssh-host";
import { skipUnlessBuilt } from "./toolchain";

// sshd is required under HI_REQUIRE_ENGINE=1 (CI): there a missing one fails instead of skipping.
const unavailable = sshHostMissing();
const WAIT = path.join(__dirname, "..", "..", "templates", "local", "wait-for-reboot.sh");

let host: SshTestHost | undefined;
let bastion: TestBastion | undefined;
let dir: string;

beforeAll(async () => {
  if (unavailable.length > 0) return;
  dir = mkdtempSync(path.join(tmpdir(), "hi-bastion-test-"));
  host = await startSshTestHost();
  bastion = await startBastion(host, `${host.keyFile}.pub`);
}, 60_000);

afterAll(async () => {
  await bastion?.stop();
  await host?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** ssh with a throwaway known_hosts for the target (the deployment's own default is ~/.ssh/known_hosts). */
function sshClient(): string {
  const file = path.join(dir, "ssh");
  writeFileSync(file, `#!/usr/bin/env bash\nexec ssh -F /dev/null -o UserKnownHostsFile=${path.join(dir, "known_hosts")} "$@"\n`);
  chmodSync(file, 0o755);
  return file;
}

function waitThrough(hostKey: string) {
  const h = host!;
  const b = bastion!;
  const knownHosts = path.join(dir, `bastion_known_hosts-${hostKey.length}`);
  const plan = { address: b.address, port: b.port, user: b.user, hostKey };
  writeFileSync(knownHosts, bastionKnownHostsLine(plan), { mode: 0o600 });
  return spawnSync("bash", [WAIT], {
    encoding: "utf8",
    timeout: 60_000,
    env: {
      PATH: process.env["PATH"] ?? "",
      HI_HOST: h.address, HI_PORT: String(h.port), HI_USER: h.user, HI_KEY_FILE: h.keyFile,
      // Another boot id than the host's: the wait ends as soon as the host answers through the bastion.
      HI_OLD_BOOT_ID: "00000000-0000-0000-0000-000000000000", HI_TIMEOUT_S: "8", HI_POLL_S: "1",
      HI_SSH: sshClient(),
      HI_SSH_PROXY_COMMAND: bastionProxyCommand(plan, h.keyFile, knownHosts),
    },
  });
}

describe("the reboot wait through a bastion (real OpenSSH)", () => {
  it("reaches the host through the bastion, which accepts the deployment's key", (ctx) => {
    skipUnlessBuilt(ctx, unavailable);
    const before = bastion!.acceptedLogins();
    const r = waitThrough(bastion!.hostKey);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    expect(r.stdout).toContain(`${host!.address} is back after its reboot (boot id ${bootId})`);
    expect(bastion!.acceptedLogins()).toBe(before + 1);
    expect(bastion!.log()).toMatch(/direct-tcpip|Connection from 127\.0\.0\.\d+/);
  });

  it("refuses a bastion whose host key is not the pinned one, and never logs in to it", (ctx) => {
    skipUnlessBuilt(ctx, unavailable);
    const before = bastion!.acceptedLogins();
    const r = waitThrough("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh5bWJhc3Rpb25ob3N0a2V5Zm9ydGVzdHNvbmx5MDAw");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("did not come back within 8s");
    expect(bastion!.acceptedLogins()).toBe(before);
  });
});
