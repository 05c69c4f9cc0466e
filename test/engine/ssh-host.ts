/**
 * An SSH test host on loopback: Debian's OpenSSH server (scripts/install-sshd.sh), started by
 * the test on 127.0.0.2 and a free port, with its own host key, config and authorized key in a
 * temp directory (key-only auth, a throwaway key pair), logging in as the user running the
 * tests. It stands in for a GPU server, so the host bootstrap runs over a real SSH connection,
 * exactly as `command.remote.Command` sends it (`sudo -n env HI_…='…' bash -s`, script on
 * stdin), without touching this machine:
 *
 * - sshd's `ForceCommand` runs every session through a wrapper that clears the environment and
 *   runs the client's command with PATH = a `sudo` stub + harmless tools only;
 * - that `sudo` never elevates: it logs the call, drops `-n`, and runs the command with
 *   HI_ROOT = the fake root and PATH = the host-bootstrap harness's stubs (apt-get, ufw,
 *   systemctl, nvidia-smi, … from test/host-bootstrap/stubs) + harmless tools
 *   (test/host-bootstrap/harness.ts, whose Sandbox this reuses).
 *
 * `readyHost` puts the fake root and the stubs' state in the shape of a freshly rented GPU
 * server: Ubuntu 24.04 with the NVIDIA driver installed and loaded and the declared cards
 * visible, nothing else (the bootstrap then installs the toolkit, Docker, the firewall, …).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import * as path from "node:path";
import { shellQuote } from "../../core/render/host-bootstrap";
import { Sandbox } from "../host-bootstrap/harness";
import type { Unavailable } from "./toolchain";

export const SSH_TEST_ADDRESS = "127.0.0.2";

/** Where sshd is: Debian installs it in /usr/sbin, which is not on every user's PATH. */
export function sshdPath(): string | undefined {
  for (const p of ["/usr/sbin/sshd", "/usr/local/sbin/sshd"]) if (existsSync(p)) return p;
  const r = spawnSync("bash", ["-c", "command -v sshd"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim().startsWith("/") ? r.stdout.trim() : undefined;
}

/**
 * What the SSH test host needs on this machine, as reasons it cannot start (empty: it can).
 * Required under HI_REQUIRE_ENGINE=1: scripts/install-sshd.sh installs all of it.
 */
export function sshHostMissing(): Unavailable[] {
  const out: string[] = [];
  if (!sshdPath()) out.push("sshd is not installed: run 'bash scripts/install-sshd.sh'");
  for (const tool of ["ssh", "ssh-keygen"]) {
    if (spawnSync("bash", ["-c", `command -v ${tool}`]).status !== 0) out.push(`${tool} is not installed: run 'bash scripts/install-sshd.sh'`);
  }
  if (process.getuid?.() === 0 && !existsSync("/run/sshd")) out.push("/run/sshd (sshd's privilege separation directory) is missing: run 'bash scripts/install-sshd.sh'");
  return out.map((reason) => ({ what: "sshd", reason, required: true }));
}

export interface SshTestHost {
  readonly address: string;
  readonly port: number;
  readonly user: string;
  /** The throwaway client key (OpenSSH format) and its file (0600). */
  readonly privateKey: string;
  readonly keyFile: string;
  /** The fake host: root, stubs, their state and call log. */
  readonly sandbox: Sandbox;
  /** Runs a command on the host over real ssh, `stdin` fed to it. */
  ssh(command: string, stdin?: string): { status: number | null; stdout: string; stderr: string };
  /** sshd's own log (debugging failed logins). */
  sshdLog(): string;
  stop(): Promise<void>;
}

function keygen(file: string, comment: string): void {
  const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
}

async function freePort(address: string): Promise<number> {
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

async function waitForPort(address: string, port: number, child: ChildProcess, log: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}:\n${log()}`);
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
  throw new Error(`sshd did not listen on ${address}:${port} within ${timeoutMs} ms:\n${log()}`);
}

/** Writes an executable script. */
function script(file: string, text: string): void {
  writeFileSync(file, text);
  chmodSync(file, 0o755);
}

export async function startSshTestHost(address = SSH_TEST_ADDRESS): Promise<SshTestHost> {
  const sshd = sshdPath();
  if (!sshd) throw new Error("sshd is not installed: run 'bash scripts/install-sshd.sh'");
  if (!address.startsWith("127.")) throw new Error(`the SSH test host listens on loopback only, not ${address}`);
  const dir = mkdtempSync(path.join(tmpdir(), "hi-sshd-"));
  const sb = new Sandbox();
  const user = userInfo().username;
  try {
    const hostKey = path.join(dir, "ssh_host_ed25519_key");
    const keyFile = path.join(dir, "client_ed25519");
    keygen(hostKey, "hybrid-inference-test-host");
    keygen(keyFile, "hybrid-inference-test-client");
    // `restrict`: no forwarding, no pty, no ~/.ssh/rc, whatever the config says.
    writeFileSync(path.join(dir, "authorized_keys"), `restrict ${readFileSync(`${keyFile}.pub`, "utf8")}`, { mode: 0o600 });

    // The session's sudo: logs like the harness's stubs (argv NUL-separated, records ended by \x1e).
    const sessionBin = path.join(dir, "session-bin");
    mkdirSync(sessionBin);
    const q = shellQuote;
    script(path.join(sessionBin, "sudo"), [
      "#!/bin/bash",
      "# sudo of the SSH test host: never elevates. Logs the call, drops -n and runs the command",
      "# with HI_ROOT = the fake root and PATH = the bootstrap stubs and harmless tools only.",
      "set -u",
      `printf '%s\\0' sudo "$@" >>${q(sb.log)}`,
      `printf '\\036' >>${q(sb.log)}`,
      'if [[ "${1:-}" == -n ]]; then shift; fi',
      `exec /usr/bin/env -i PATH=${q(`${sb.stubs}:${sb.safe}`)} HOME=${q(sb.dir)} LC_ALL=C HI_ROOT=${q(sb.root)} STUB_LOG=${q(sb.log)} STUB_STATE=${q(sb.state)} "$@"`,
      "",
    ].join("\n"));
    // Every session (ForceCommand): the client's command with a clean environment.
    const session = path.join(dir, "session");
    script(session, [
      "#!/bin/bash",
      "# ForceCommand of the SSH test host: runs the client's command with PATH = the sudo stub and",
      "# harmless tools, so nothing a session runs can reach the real apt-get, systemctl, ufw, ...",
      'if [[ -z "${SSH_ORIGINAL_COMMAND:-}" ]]; then echo "SSH test host: interactive sessions are not supported" >&2; exit 1; fi',
      `printf '%s\\0' ssh-session "$SSH_ORIGINAL_COMMAND" >>${q(sb.log)}`,
      `printf '\\036' >>${q(sb.log)}`,
      `exec /usr/bin/env -i PATH=${q(`${sessionBin}:${sb.safe}`)} HOME=${q(sb.dir)} USER=${q(user)} LC_ALL=C /bin/bash --noprofile --norc -c "$SSH_ORIGINAL_COMMAND"`,
      "",
    ].join("\n"));

    const port = await freePort(address);
    const config = path.join(dir, "sshd_config");
    writeFileSync(config, [
      `ListenAddress ${address}:${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
      `AllowUsers ${user}`,
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "HostbasedAuthentication no",
      "PermitEmptyPasswords no",
      "PermitRootLogin prohibit-password",
      "UsePAM no",
      // The temp directory's modes are not sshd's business here.
      "StrictModes no",
      "PermitUserEnvironment no",
      "AllowTcpForwarding no",
      "AllowAgentForwarding no",
      "AllowStreamLocalForwarding no",
      "X11Forwarding no",
      "PermitTunnel no",
      "PermitTTY no",
      "PrintMotd no",
      "MaxStartups 50:30:100",
      "LogLevel VERBOSE",
      `ForceCommand ${session}`,
      "",
    ].join("\n"));
    const check = spawnSync(sshd, ["-t", "-f", config], { encoding: "utf8" });
    if (check.status !== 0) throw new Error(`sshd -t rejected the test config: ${check.stderr}`);

    const logFile = path.join(dir, "sshd.log");
    const fd = openSync(logFile, "a");
    // -D: foreground, -e: log to stderr (the log file).
    const child = spawn(sshd, ["-D", "-e", "-f", config], { stdio: ["ignore", fd, fd] });
    closeSync(fd);
    const sshdLog = (): string => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
    await waitForPort(address, port, child, sshdLog);

    const privateKey = readFileSync(keyFile, "utf8");
    const ssh = (command: string, stdin = ""): { status: number | null; stdout: string; stderr: string } => {
      const r = spawnSync("ssh", [
        "-F", "/dev/null", "-i", keyFile, "-p", String(port),
        "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
        "--", `${user}@${address}`, command,
      ], { input: stdin, encoding: "utf8", timeout: 60_000 });
      if (r.error) throw r.error;
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const stop = async (): Promise<void> => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      }
      sb.cleanup();
      rmSync(dir, { recursive: true, force: true });
    };
    return { address, port, user, privateKey, keyFile, sandbox: sb, ssh, sshdLog, stop };
  } catch (e) {
    sb.cleanup();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

export interface ReadyHostOptions {
  /** The SSH user (gets an account in the stubs' `id`). */
  user: string;
  /** Exact nvidia-smi name, count and memory of the declared cards. */
  gpuName: string;
  gpuCount: number;
  memoryMiB: number;
  /** Installed and loaded driver branch, e.g. 580, and whether its open kernel modules are used. */
  driverBranch: number;
  openKernelModules: boolean;
}

export const DRIVER_PATCH = "95.05";

/** A freshly rented GPU server: Ubuntu 24.04 (the Sandbox's default), the driver installed and loaded, nothing else. */
export function readyHost(sb: Sandbox, o: ReadyHostOptions): void {
  const driver = `${o.driverBranch}.${DRIVER_PATCH}`;
  const flavour = o.openKernelModules ? "-open" : "";
  sb.set("users", `${o.user}\n`);
  sb.set("apt-cache-all", "");
  sb.installed(
    `nvidia-dkms-${o.driverBranch}-server${flavour} ${driver}-0ubuntu1`,
    `libnvidia-compute-${o.driverBranch}-server ${driver}-0ubuntu1`,
    `nvidia-utils-${o.driverBranch}-server ${driver}-0ubuntu1`,
  );
  sb.file(
    "proc/driver/nvidia/version",
    o.openKernelModules
      ? `NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  ${driver}  Release Build  (dvs-builder@U22-I3-AE18-23-3)\n`
      : `NVRM version: NVIDIA UNIX x86_64 Kernel Module  ${driver}  Release Build  (dvs-builder@U22-I3-AE18-23-3)\n`,
  );
  sb.set("nvidia-smi-query", Array.from({ length: o.gpuCount }, () => `${o.gpuName}, ${o.memoryMiB - 12}, ${driver}\n`).join(""));
  sb.set(
    "nvidia-smi-table",
    `| NVIDIA-SMI ${driver}              Driver Version: ${driver}      CUDA Version: 13.0     |\n`,
  );
  sb.file("etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n");
}
