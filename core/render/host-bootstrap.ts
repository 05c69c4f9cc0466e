/**
 * Renders the GPU host bootstrap: the shell scripts in `templates/host/`, one per step, and
 * the quoted data they run with.
 *
 * The scripts are real files, never assembled from strings: every value reaches them as an
 * environment variable whose value is single-quoted on the command line
 * (`sudo -n env HI_X='…' bash -s`, script on stdin), so a value is data even when it contains
 * `$(…)`, backticks, quotes or newlines. The same steps are also rendered as cloud-init
 * user-data for hosts provisioned that way.
 *
 * Pure: reads the template files, imports nothing from Pulumi.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { stringify as stringifyYaml } from "yaml";
import { cidrProblem } from "../net/address";
import type { HostBootstrapParams } from "../plan/types";
import { VLLM_COMPILE_CACHES, WATCHDOG_INTERVAL_S, imageName } from "./containers";
import { renderScript } from "./script";

export type { HostBootstrapParams };

export interface BootstrapStep {
  /** Step name, also the script's file name without `.sh`. */
  name: string;
  /** The script text, fed to `bash -s` on stdin. */
  script: string;
  /** The variables the script reads; values are passed quoted, never spliced into code. */
  env: Readonly<Record<string, string>>;
  /** sha256 over name, script and env: use it as the step's trigger so either change re-runs it. */
  sha256: string;
}

/** Step order. `templates/host/run-all.sh` lists the same order (a test keeps them equal). */
export const BOOTSTRAP_STEPS = [
  "preflight",
  "ssh-hardening",
  "nvidia-driver",
  "reboot-if-required",
  "container-toolkit",
  "docker",
  "firewall",
  "cache-dir",
  "engine-watchdog",
  "verify-gpus",
] as const;
export type BootstrapStepName = (typeof BOOTSTRAP_STEPS)[number];

/**
 * A step as the GpuHost component runs it over SSH: what re-runs it and whether the host may
 * reboot after it. Decided here, not in the component.
 */
export interface HostStep extends BootstrapStep {
  /** Hashes whose change re-runs the step (Pulumi `triggers`). */
  readonly triggers: readonly string[];
  /** The host may reboot after this step: wait until it answers with a new boot id before the next one. */
  readonly rebootAfter: boolean;
  /**
   * Running this step may interrupt what the host serves: it replaces the driver under the
   * running engine, reboots, or restarts Docker (and with it every container). A rollout that
   * keeps the router serving drains the host before these run ({@link DISRUPTIVE_STEPS}).
   */
  readonly disruptsServing: boolean;
}

/**
 * The steps that may interrupt serving when they run: `nvidia-driver` (a branch change or
 * refresh replaces the libraries under the engine), `reboot-if-required` (reboots when the
 * driver needs it; it re-runs after any change but reboots only then), `docker` (restarts
 * dockerd when daemon.json changes). The others leave running containers alone.
 */
export const DISRUPTIVE_STEPS: readonly BootstrapStepName[] = ["nvidia-driver", "reboot-if-required", "docker"];

/** The step whose stdout announces a reboot (`HI_BOOT_ID=…`); the wait for the new boot follows it. */
export const REBOOT_STEP: BootstrapStepName = "reboot-if-required";
/** The card check, which re-runs after any change to the bootstrap. */
export const VERIFY_STEP: BootstrapStepName = "verify-gpus";

/**
 * The bootstrap steps with their triggers: each step re-runs when its own script or inputs
 * change; the reboot check and the card check after any change. The reboot check decides from
 * the host's state (driver marker, module not loaded, loaded module older than the installed
 * libraries), not from what changed, so a reboot the driver needs happens whatever triggered
 * the run, before the card check that would fail without it; it reboots only then.
 */
export function hostSteps(p: HostBootstrapParams): HostStep[] {
  const steps = renderHostBootstrap(p);
  const all = steps.map((x) => x.sha256);
  return steps.map((s) => ({
    ...s,
    triggers: s.name === VERIFY_STEP || s.name === REBOOT_STEP ? all : [s.sha256],
    rebootAfter: s.name === REBOOT_STEP,
    disruptsServing: (DISRUPTIVE_STEPS as readonly string[]).includes(s.name),
  }));
}

/** How long the local wait gives a rebooting host to come back over SSH. */
export const REBOOT_WAIT_TIMEOUT_S = 900;

/** The local wait for a host's reboot (templates/local/wait-for-reboot.sh) and its plain inputs; the component adds the host address, key file and old boot id. */
export interface RebootWait {
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
}

export function rebootWait(p: HostBootstrapParams): RebootWait {
  return {
    script: renderScript(path.join("local", "wait-for-reboot.sh")),
    env: { HI_PORT: String(p.sshPort ?? 22), HI_USER: p.sshUser, HI_TIMEOUT_S: String(REBOOT_WAIT_TIMEOUT_S) },
  };
}

/** The boot id the reboot step printed before scheduling a reboot; empty when none was scheduled. */
export function bootIdFrom(stdout: string): string {
  return /^HI_BOOT_ID=(\S+)$/m.exec(stdout)?.[1] ?? "";
}

/** Where the cloud-init user-data puts the scripts and the environment file on the host. */
export const CLOUD_INIT_SCRIPT_DIR = "/opt/hybrid-inference/bootstrap";
export const CLOUD_INIT_ENV_FILE = "/etc/hybrid-inference/bootstrap.env";

/** Lines the scripts print on stdout for the component to parse. */
export const REBOOT_REQUIRED_LINE = "HI_REBOOT_REQUIRED=1";
export const REBOOT_SCHEDULED_LINE = "HI_REBOOT_SCHEDULED=1";
export const GPU_INVENTORY_PREFIX = "HI_GPU_INVENTORY=";

/** What verify-gpus reports (the JSON after `HI_GPU_INVENTORY=`). */
export interface GpuInventory {
  gpus: { name: string; memoryMiB: number }[];
  driverVersion: string;
  cudaVersion: string | null;
}

/**
 * Finds the `HI_GPU_INVENTORY=` line in the verify-gpus step's stdout and parses it.
 * Throws when the line is missing or malformed.
 */
export function parseGpuInventory(stdout: string): GpuInventory {
  const line = stdout.split("\n").find((l) => l.startsWith(GPU_INVENTORY_PREFIX));
  if (line === undefined) {
    throw new Error(`verify-gpus printed no ${GPU_INVENTORY_PREFIX} line`);
  }
  const value: unknown = JSON.parse(line.slice(GPU_INVENTORY_PREFIX.length));
  if (!isGpuInventory(value)) {
    throw new Error(`malformed ${GPU_INVENTORY_PREFIX} line: ${line}`);
  }
  return value;
}

function isGpuInventory(v: unknown): v is GpuInventory {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    Array.isArray(o.gpus) &&
    o.gpus.every(
      (g: unknown) =>
        typeof g === "object" &&
        g !== null &&
        typeof (g as Record<string, unknown>).name === "string" &&
        typeof (g as Record<string, unknown>).memoryMiB === "number",
    ) &&
    typeof o.driverVersion === "string" &&
    (o.cudaVersion === null || typeof o.cudaVersion === "string")
  );
}

/** Directory holding the step scripts: `templates/host` under the repository (or package) root. */
export function hostTemplatesDir(): string {
  // Walk up from this file so the lookup works from the sources (core/render) and from a
  // compiled copy (bin/core/render) alike.
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, "templates", "host");
    if (existsSync(path.join(candidate, "run-all.sh"))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`templates/host not found in any parent directory of ${__dirname}`);
    }
    dir = parent;
  }
}

function readTemplate(name: string): string {
  return renderScript(path.join(hostTemplatesDir(), `${name}.sh`));
}

/** The engine watchdog program the engine-watchdog step installs (templates/engine/engine-watchdog.sh). */
export function watchdogProgram(): string {
  return renderScript(path.join("engine", "engine-watchdog.sh"));
}

/** The branch the driver step installs and holds: the plan's `driver.branch`, else the card's minimum. */
export function driverBranch(p: HostBootstrapParams): number {
  return p.driver?.branch ?? p.gpu.minDriverBranch;
}

/**
 * The bootstrap steps for one host, in order, each with its script text, the environment it
 * reads and a hash of both. Throws one error listing every invalid parameter.
 */
export function renderHostBootstrap(p: HostBootstrapParams): BootstrapStep[] {
  validateParams(p);
  const branch = String(driverBranch(p));
  const cuda = p.engineImage?.cudaRequirement ?? null;
  const envs: Record<BootstrapStepName, Record<string, string>> = {
    preflight: { HI_CACHE_DIR: p.cacheDir, HI_MIN_FREE_GB: String(p.minFreeDiskGB) },
    "ssh-hardening": { HI_SSH_USER: p.sshUser },
    "nvidia-driver": {
      HI_DRIVER_BRANCH: branch,
      HI_OPEN_KERNEL_MODULES: p.gpu.openKernelModules ? "true" : "false",
      ...(p.driver?.refresh !== undefined ? { HI_DRIVER_REFRESH: p.driver.refresh } : {}),
    },
    "reboot-if-required": { HI_DRIVER_BRANCH: branch },
    "container-toolkit": {},
    docker: { HI_SSH_USER: p.sshUser },
    firewall: {
      HI_ADMIN_CIDRS: p.adminCidrs.join(","),
      HI_SSH_PORT: String(p.sshPort ?? 22),
      HI_ROUTER_PORT: p.router ? p.router.ports.join(",") : "",
      HI_ROUTER_ALLOWED_CIDRS: p.router ? p.router.allowedCidrs.join(",") : "",
      HI_ENGINE_PORT: p.engine ? String(p.engine.port) : "",
      HI_ENGINE_ALLOWED_SOURCES: p.engine ? p.engine.allowedSources.join(",") : "",
    },
    "cache-dir": { HI_CACHE_DIR: p.cacheDir, HI_COMPILE_CACHE_DIRS: VLLM_COMPILE_CACHES.map((c) => c.subdir).join(",") },
    // Gzipped and base64-encoded: one short line on the command line and in `plan`'s listing.
    "engine-watchdog": { HI_WATCHDOG_PROGRAM_GZ: gzipSync(Buffer.from(watchdogProgram(), "utf8"), { level: 9 }).toString("base64"), HI_WATCHDOG_INTERVAL_S: String(WATCHDOG_INTERVAL_S) },
    "verify-gpus": {
      HI_GPU_COUNT: String(p.gpu.count),
      HI_GPU_NAME: p.gpu.smiName,
      HI_DRIVER_BRANCH: branch,
      ...(p.gpu.memoryMiB !== undefined ? { HI_GPU_MEMORY_MIB: String(p.gpu.memoryMiB) } : {}),
      ...(p.engineImage ? { HI_ENGINE_IMAGE: imageName(p.engineImage.image) } : {}),
      ...(cuda !== null ? { HI_CUDA_REQUIREMENT: cuda } : {}),
    },
  };
  return BOOTSTRAP_STEPS.map((name) => makeStep(name, readTemplate(name), envs[name]));
}

/** Builds a step and its hash; exported for tests and for callers that add their own steps. */
export function makeStep(name: string, script: string, env: Readonly<Record<string, string>>): BootstrapStep {
  const frozen = Object.freeze({ ...env });
  return { name, script, env: frozen, sha256: stepHash(name, script, frozen) };
}

function stepHash(name: string, script: string, env: Readonly<Record<string, string>>): string {
  const entries = Object.keys(env)
    .sort()
    .map((k) => [k, env[k]]);
  return createHash("sha256").update(JSON.stringify([name, script, entries])).digest("hex");
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * The command line that runs a step with its script on stdin:
 * `sudo -n env HI_A='…' HI_B='…' bash -s`. `-n` makes sudo fail at once instead of waiting
 * for a password no one can type. The variables are set inside sudo (by `env`), so sshd's
 * `AcceptEnv` and sudo's `env_reset` do not matter.
 */
export function renderStepCommand(step: BootstrapStep): string {
  const assignments = Object.entries(step.env).map(([k, v]) => {
    if (!ENV_NAME.test(k)) throw new Error(`step ${step.name}: invalid environment variable name ${JSON.stringify(k)}`);
    return `${k}=${shellQuote(v)}`;
  });
  return assignments.length > 0 ? `sudo -n env ${assignments.join(" ")} bash -s` : "sudo -n bash -s";
}

/**
 * POSIX single-quote quoting: the result is one shell word whose value is exactly `value`.
 * Inside single quotes nothing is special except `'` itself, written as `'\''`.
 */
export function shellQuote(value: string): string {
  if (value.includes("\0")) throw new Error("shellQuote: a NUL byte cannot be passed to a command");
  return `'${value.replace(/'/g, "'\\''")}'`;
}

export interface CloudInitOptions {
  /**
   * `text` (default) keeps the scripts readable in the user-data (about 170 KB for a host);
   * `gzip` stores each file as gzip+base64 (cloud-init's `gz+b64` encoding), about half the
   * size. For tight limits, gzip the whole `text` output instead: cloud-init accepts
   * gzip-compressed user-data, and the scripts' shared helper block then compresses once
   * (about 36 KB; measured 2026-11-30 for a single-GPU host, 22 KB before the driver holds and
   * the engine watchdog). Clouds that cap user-data at 16 KB need the scripts fetched instead.
   */
  encoding?: "text" | "gzip";
}

/**
 * `#cloud-config` user-data: every step script plus run-all.sh under
 * {@link CLOUD_INIT_SCRIPT_DIR}, the steps' variables in {@link CLOUD_INIT_ENV_FILE} (shell
 * assignments with single-quoted values, read by run-all.sh), and a runcmd that installs the
 * systemd unit running the steps in order across the driver reboot.
 */
export function renderCloudInit(p: HostBootstrapParams, options: CloudInitOptions = {}): string {
  const steps = renderHostBootstrap(p);
  const env = new Map<string, string>();
  for (const step of steps) {
    for (const [k, v] of Object.entries(step.env)) {
      const seen = env.get(k);
      if (seen !== undefined && seen !== v) {
        throw new Error(`host ${p.hostName}: steps disagree on ${k}; this is a bug in renderHostBootstrap`);
      }
      env.set(k, v);
    }
  }
  const envFile =
    "# hybrid-inference bootstrap environment, read by run-all.sh as shell: values are single-quoted data.\n" +
    [...env.keys()]
      .sort()
      .map((k) => {
        if (!ENV_NAME.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
        return `${k}=${shellQuote(env.get(k) ?? "")}\n`;
      })
      .join("");

  const file = (filePath: string, content: string, permissions: string): Record<string, string> =>
    options.encoding === "gzip"
      ? {
          path: filePath,
          owner: "root:root",
          permissions,
          encoding: "gz+b64",
          content: gzipSync(Buffer.from(content, "utf8")).toString("base64"),
        }
      : { path: filePath, owner: "root:root", permissions, content };

  const doc = {
    write_files: [
      ...steps.map((s) => file(`${CLOUD_INIT_SCRIPT_DIR}/${s.name}.sh`, s.script, "0755")),
      file(`${CLOUD_INIT_SCRIPT_DIR}/run-all.sh`, readTemplate("run-all"), "0755"),
      file(CLOUD_INIT_ENV_FILE, envFile, "0600"),
    ],
    runcmd: [["bash", `${CLOUD_INIT_SCRIPT_DIR}/run-all.sh`, "install"]],
  };
  return `#cloud-config\n${stringifyYaml(doc, { lineWidth: 0 })}`;
}

// ---- validation -------------------------------------------------------------------------

const SSH_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const CACHE_DIR = /^(\/[A-Za-z0-9._+@=-]+)+\/?$/;

function validateParams(p: HostBootstrapParams): void {
  const errors: string[] = [];
  const int = (label: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) errors.push(`${label} must be a whole number from ${min} to ${max}, got ${v}`);
  };
  if (!SSH_USER.test(p.sshUser)) errors.push(`sshUser must be a Linux user name (lower case letters, digits, _ or -), got ${JSON.stringify(p.sshUser)}`);
  if (p.sshPort !== undefined) int("sshPort", p.sshPort, 1, 65535);
  if (p.gpu.smiName.trim() === "") errors.push("gpu.smiName must not be empty");
  int("gpu.count", p.gpu.count, 1, 64);
  int("gpu.minDriverBranch", p.gpu.minDriverBranch, 100, 999);
  if (p.driver) {
    int("driver.branch", p.driver.branch, 100, 999);
    if (p.driver.branch < p.gpu.minDriverBranch) {
      errors.push(`driver.branch ${p.driver.branch} is below ${p.gpu.minDriverBranch}, the oldest branch for ${JSON.stringify(p.gpu.smiName)}`);
    }
    if (p.driver.refresh !== undefined && !/^[A-Za-z0-9._:-]{1,64}$/.test(p.driver.refresh)) {
      errors.push(`driver.refresh must be 1-64 letters, digits and ._:-, got ${JSON.stringify(p.driver.refresh)}`);
    }
  }
  const cuda = p.engineImage?.cudaRequirement;
  if (cuda !== undefined && cuda !== null && !/^cuda>=[0-9]+(\.[0-9]+)*( |$)/.test(cuda)) {
    errors.push(`engineImage.cudaRequirement must start with a term like cuda>=13.0, got ${JSON.stringify(cuda)}`);
  }
  const dirParts = p.cacheDir.split("/");
  if (!CACHE_DIR.test(p.cacheDir) || dirParts.includes("..") || dirParts.includes(".")) {
    errors.push(`cacheDir must be an absolute path of letters, digits and ._+@=- without . or .. parts, got ${JSON.stringify(p.cacheDir)}`);
  }
  int("minFreeDiskGB", p.minFreeDiskGB, 0, 1_000_000);
  cidrList("adminCidrs", p.adminCidrs, errors);
  if (p.router) {
    if (p.router.ports.length === 0) errors.push("router.ports is empty");
    p.router.ports.forEach((port, i) => int(`router.ports[${i}]`, port, 1, 65535));
    cidrList("router.allowedCidrs", p.router.allowedCidrs, errors);
  }
  if (p.engine) {
    int("engine.port", p.engine.port, 1, 65535);
    cidrList("engine.allowedSources", p.engine.allowedSources, errors);
  }
  const sshPort = p.sshPort ?? 22;
  for (const port of p.router?.ports ?? []) if (port === sshPort) errors.push(`router port ${port} is the SSH port`);
  if (p.engine && p.engine.port === sshPort) errors.push(`engine.port ${p.engine.port} is the SSH port`);
  if (p.engine && p.router?.ports.includes(p.engine.port)) errors.push(`a router port and engine.port are both ${p.engine.port}`);
  for (const [label, value] of allStrings(p)) {
    if (value.includes("\0")) errors.push(`${label} contains a NUL byte`);
  }
  if (errors.length > 0) {
    throw new Error(`host ${JSON.stringify(p.hostName)}: invalid bootstrap parameters:\n  - ${errors.join("\n  - ")}`);
  }
}

function allStrings(p: HostBootstrapParams): [string, string][] {
  return [
    ["hostName", p.hostName],
    ["sshUser", p.sshUser],
    ["gpu.smiName", p.gpu.smiName],
    ["cacheDir", p.cacheDir],
    ...p.adminCidrs.map((c, i): [string, string] => [`adminCidrs[${i}]`, c]),
    ...(p.router?.allowedCidrs ?? []).map((c, i): [string, string] => [`router.allowedCidrs[${i}]`, c]),
    ...(p.engine?.allowedSources ?? []).map((c, i): [string, string] => [`engine.allowedSources[${i}]`, c]),
  ];
}

function cidrList(label: string, list: readonly string[], errors: string[]): void {
  if (list.length === 0) {
    errors.push(`${label} must list at least one CIDR${label === "adminCidrs" ? " (the firewall would otherwise lock out SSH)" : ""}`);
    return;
  }
  list.forEach((c, i) => {
    const problem = cidrProblem(c);
    if (problem !== null) errors.push(`${label}[${i}] ${JSON.stringify(c)}: ${problem}`);
  });
}
