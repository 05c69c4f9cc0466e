/**
 * Runs the host bootstrap scripts for real, with bash, against a scratch directory standing in
 * for "/" (HI_ROOT) and stub executables standing in for everything that would touch the
 * machine (apt-get, systemctl, ufw, nvidia-smi, …).
 *
 * PATH holds only the stubs and a directory of symlinks to harmless real tools (coreutils,
 * sed, grep, awk, python3). A script calling anything else fails with "command not found"
 * instead of reaching the real system: these tests run as root in CI, and a real apt-get or
 * ufw there would change the machine.
 *
 * Stubs log every call (argv, NUL-separated) and answer from files under `state/`, which the
 * tests set up. Several are stateful (apt-get install records packages that dpkg-query then
 * reports; ufw keeps its rules), so re-running a step shows what it does on a host where the
 * work is already done.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { hostTemplatesDir } from "../../core/render/host-bootstrap";
import { renderScript } from "../../core/render/script";

export const TEMPLATES = hostTemplatesDir();

/** Real tools the scripts may use; everything else must be a stub. */
const SAFE_TOOLS = [
  "bash", "cat", "sed", "grep", "awk", "cut", "tr", "head", "tail", "sort", "uniq", "wc", "mkdir",
  "rm", "mv", "cp", "chmod", "touch", "stat", "sha256sum", "mktemp", "dirname", "basename", "cmp",
  "tee", "install", "paste", "python3", "env", "base64", "od", "date", "comm", "gzip",
];

/**
 * Bash started by a test never reads startup files: spawned with a socket for stdin (Node's
 * default) and SHLVL unset, Debian's bash takes itself for an sshd session and sources
 * ~/.bashrc, which runs the developer's own shell setup inside the fake root (here, `pyenv init`
 * at about 160 ms a call: a 20x slower suite when `npm test` was started from a shell without
 * SHLVL).
 */
const NORC = "--norc";

const found = new Map<string, string>();

function which(tool: string): string {
  // python3 may be a pyenv shim that needs its own PATH; prefer the system interpreter.
  if (tool === "python3" && existsSync("/usr/bin/python3")) return "/usr/bin/python3";
  const cached = found.get(tool);
  if (cached) return cached;
  const r = spawnSync("bash", [NORC, "-c", `command -v -- "$1"`, "_", tool], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const where = r.stdout.trim();
  if (r.status !== 0 || !where.startsWith("/")) throw new Error(`test harness needs ${tool} on PATH`);
  found.set(tool, where);
  return where;
}

/** Prologue of every stub: log argv, then run the stub's body. */
const STUB_PROLOGUE = [
  "#!/bin/bash",
  "set -u",
  // argv NUL-separated, one record per call ended by \x1e: survives spaces and newlines.
  `printf '%s\\0' "\${0##*/}" "$@" >>"$STUB_LOG"`,
  `printf '\\036' >>"$STUB_LOG"`,
  'S="$STUB_STATE"',
  "",
].join("\n");

/** Stub bodies live in ./stubs, one file per command (bash, without the prologue). */
const STUB_DIR = path.join(__dirname, "stubs");

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface SandboxOptions {
  /** Ubuntu release in the fake /etc/os-release. */
  ubuntu?: "22.04" | "24.04";
}

export class Sandbox {
  readonly dir: string;
  readonly root: string;
  readonly stubs: string;
  readonly safe: string;
  readonly state: string;
  readonly log: string;

  constructor(opts: SandboxOptions = {}) {
    this.dir = mkdtempSync(path.join(tmpdir(), "hi-host-"));
    this.root = path.join(this.dir, "root");
    this.stubs = path.join(this.dir, "stubs");
    this.safe = path.join(this.dir, "safe");
    this.state = path.join(this.dir, "state");
    this.log = path.join(this.dir, "calls.log");
    for (const d of [this.root, this.stubs, this.safe, this.state]) mkdirSync(d, { recursive: true });
    writeFileSync(this.log, "");
    for (const tool of SAFE_TOOLS) symlinkSync(which(tool), path.join(this.safe, tool));
    for (const name of readdirSync(STUB_DIR)) this.stub(name, readFileSync(path.join(STUB_DIR, name), "utf8"));
    this.osRelease(opts.ubuntu ?? "24.04");
    this.file("etc/default/ufw", 'IPV6=yes\nDEFAULT_INPUT_POLICY="DROP"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\n');
    this.file("etc/ufw/after.rules", "# ufw after.rules (fixture)\n*filter\n:ufw-after-input - [0:0]\nCOMMIT\n");
    this.file("etc/ufw/after6.rules", "# ufw after6.rules (fixture)\n*filter\n:ufw6-after-input - [0:0]\nCOMMIT\n");
    this.file("proc/sys/kernel/random/boot_id", "11111111-1111-1111-1111-111111111111\n");
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Replaces a stub's body (bash; `$S` is the state dir; argv is already logged). */
  stub(name: string, body: string): void {
    const file = path.join(this.stubs, name);
    writeFileSync(file, STUB_PROLOGUE + body + "\n");
    chmodSync(file, 0o755);
  }

  /** Writes a file in the fake root (path relative to "/"). */
  file(rel: string, content: string): string {
    const file = path.join(this.root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    return file;
  }

  read(rel: string): string {
    return readFileSync(path.join(this.root, rel), "utf8");
  }

  exists(rel: string): boolean {
    return existsSync(path.join(this.root, rel));
  }

  /** Writes a stub answer file under state/. */
  set(name: string, content: string): void {
    const file = path.join(this.state, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }

  getState(name: string): string {
    const file = path.join(this.state, name);
    return existsSync(file) ? readFileSync(file, "utf8") : "";
  }

  /** Marks packages installed (dpkg-query reports them as "ii"). */
  installed(...pkgs: string[]): void {
    const lines = pkgs.map((p) => (p.includes(" ") ? p : `${p} 1.0-1`));
    this.set("dpkg", this.getState("dpkg") + lines.map((l) => `${l}\n`).join(""));
  }

  osRelease(version: string, id = "ubuntu"): void {
    const codename = version === "22.04" ? "jammy" : version === "24.04" ? "noble" : version === "20.04" ? "focal" : "bookworm";
    const pretty = id === "ubuntu" ? `Ubuntu ${version} LTS` : `Debian GNU/Linux ${version}`;
    this.file(
      "etc/os-release",
      `PRETTY_NAME="${pretty}"\nNAME="${id === "ubuntu" ? "Ubuntu" : "Debian GNU/Linux"}"\nVERSION_ID="${version}"\n` +
        `VERSION_CODENAME=${codename}\nID=${id}\n${id === "ubuntu" ? `UBUNTU_CODENAME=${codename}\n` : ""}`,
    );
  }

  private env(extra: Record<string, string>): NodeJS.ProcessEnv {
    return {
      PATH: `${this.stubs}:${this.safe}`,
      HOME: this.dir,
      HI_ROOT: this.root,
      STUB_LOG: this.log,
      STUB_STATE: this.state,
      ...extra,
    };
  }

  /**
   * Runs a step the way the component does: the script text on bash's stdin (`bash -s`),
   * its variables in the environment.
   */
  runStep(step: string, env: Record<string, string>): RunResult {
    const script = renderScript(path.join(TEMPLATES, `${step}.sh`));
    return this.runText(script, env);
  }

  runText(script: string, env: Record<string, string>): RunResult {
    const r = spawnSync(path.join(this.safe, "bash"), [NORC, "-s"], {
      input: script,
      env: this.env(env),
      encoding: "utf8",
      cwd: this.dir,
      timeout: 20_000,
    });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs a script file with arguments (run-all.sh needs to know where it lives). */
  runFile(file: string, args: string[], env: Record<string, string>): RunResult {
    const r = spawnSync(path.join(this.safe, "bash"), [NORC, file, ...args], {
      env: this.env(env),
      encoding: "utf8",
      cwd: this.dir,
      timeout: 60_000,
    });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs a shell command line (e.g. the one renderStepCommand produces) with bash -c. */
  runCommand(command: string, stdin: string, env: Record<string, string> = {}): RunResult {
    const r = spawnSync(path.join(this.safe, "bash"), [NORC, "-c", command], {
      input: stdin,
      env: this.env(env),
      encoding: "utf8",
      cwd: this.dir,
      timeout: 20_000,
    });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Every stub call so far, as argv arrays (argv[0] is the command name). */
  calls(command?: string): string[][] {
    const all = readFileSync(this.log, "utf8")
      .split("\x1e")
      .filter((rec) => rec.length > 0)
      .map((rec) => rec.split("\0").slice(0, -1));
    return command === undefined ? all : all.filter((argv) => argv[0] === command);
  }

  /** Calls rendered as space-joined strings, for readable assertions. */
  callLines(command?: string): string[] {
    return this.calls(command).map((argv) => argv.join(" "));
  }

  clearCalls(): void {
    writeFileSync(this.log, "");
  }
}

/** apt-get calls that install something (not `update`). */
export function aptInstalls(sb: Sandbox): string[][] {
  return sb.calls("apt-get").filter((argv) => argv.includes("install"));
}
