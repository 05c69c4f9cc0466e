/**
 * A bastion (jump host) on loopback for the tests of `access.bastion`: Debian's OpenSSH server on
 * 127.0.0.3 and a free port, with its own host key, that accepts the test client's key and lets
 * it forward TCP to one destination only (the SSH test host: ssh-host.ts), and runs no command
 * (`ForceCommand /bin/false`): what a hardened bastion allows and nothing more. Its log shows
 * which logins it accepted, so a test can tell a connection went through it.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import * as path from "node:path";
import { sshdPath } from "./ssh-host";

export const BASTION_ADDRESS = "127.0.0.3";

export interface TestBastion {
  readonly address: string;
  readonly port: number;
  readonly user: string;
  /** The bastion's public host key, `<type> <base64>`, as `access.bastion.host_key` takes it. */
  readonly hostKey: string;
  /** sshd's log. */
  log(): string;
  /** How many logins it accepted so far. */
  acceptedLogins(): number;
  stop(): Promise<void>;
}

function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, address, () => {
      const a = srv.address();
      const port = typeof a === "object" && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(address: string, port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the bastion's sshd exited with ${child.exitCode}:\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: address, port }, () => {
        s.end();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the bastion did not listen on ${address}:${port}:\n${log()}`);
}

/** Starts the bastion in front of `target`, accepting the key whose public half is `clientPublicKeyFile`. */
export async function startBastion(target: { readonly address: string; readonly port: number }, clientPublicKeyFile: string): Promise<TestBastion> {
  const sshd = sshdPath();
  if (!sshd) throw new Error("sshd is not installed: run 'bash scripts/install-sshd.sh'");
  const dir = mkdtempSync(path.join(tmpdir(), "hi-bastion-"));
  try {
    const hostKeyFile = path.join(dir, "ssh_host_ed25519_key");
    const gen = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "hybrid-inference-test-bastion", "-f", hostKeyFile], { encoding: "utf8" });
    if (gen.status !== 0) throw new Error(`ssh-keygen failed: ${gen.stderr}`);
    const [type, key] = readFileSync(`${hostKeyFile}.pub`, "utf8").trim().split(/\s+/);
    writeFileSync(path.join(dir, "authorized_keys"), readFileSync(clientPublicKeyFile, "utf8"), { mode: 0o600 });
    const user = userInfo().username;
    const port = await freePort(BASTION_ADDRESS);
    const config = path.join(dir, "sshd_config");
    writeFileSync(config, [
      `ListenAddress ${BASTION_ADDRESS}:${port}`,
      `HostKey ${hostKeyFile}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
      `AllowUsers ${user}`,
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "UsePAM no",
      "StrictModes no",
      // A jump host: TCP forwarding to the one host behind it, nothing else.
      "AllowTcpForwarding local",
      `PermitOpen ${target.address}:${target.port}`,
      "AllowAgentForwarding no",
      "AllowStreamLocalForwarding no",
      "X11Forwarding no",
      "PermitTunnel no",
      "PermitTTY no",
      "ForceCommand /bin/false",
      "LogLevel VERBOSE",
      "",
    ].join("\n"));
    const check = spawnSync(sshd, ["-t", "-f", config], { encoding: "utf8" });
    if (check.status !== 0) throw new Error(`sshd -t rejected the bastion config: ${check.stderr}`);
    const logFile = path.join(dir, "sshd.log");
    const fd = openSync(logFile, "a");
    const child = spawn(sshd, ["-D", "-e", "-f", config], { stdio: ["ignore", fd, fd] });
    closeSync(fd);
    const log = (): string => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
    await waitForPort(BASTION_ADDRESS, port, child, log);
    return {
      address: BASTION_ADDRESS, port, user, hostKey: `${type} ${key}`, log,
      acceptedLogins: () => (log().match(/Accepted publickey for /g) ?? []).length,
      stop: async () => {
        if (child.exitCode === null) {
          const exited = new Promise((r) => child.once("exit", r));
          child.kill("SIGTERM");
          await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
