/**
 * Runs a command in a network namespace of its own whose only interface is `lo` (util-linux
 * `unshare --net`, then `ip link set lo up`): a process in it can reach 127.0.0.0/8 of that
 * namespace and nothing else, whatever it tries. The engine tests run the real-provider
 * previews this way, so "only loopback is contacted" holds by construction, not by reading the
 * providers' code.
 *
 * As root (CI) a plain `unshare --net`; otherwise with `--map-root-user` (an unprivileged user
 * namespace, where the kernel allows them).
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import type { Unavailable } from "./toolchain";

/** What a process sees of its network namespace (read from /proc/self, which follows it). */
export interface NetworkView {
  /** `net:[inode]` of /proc/self/ns/net. */
  readonly namespace: string;
  /** Interfaces of /proc/self/net/dev, sorted. */
  readonly interfaces: string[];
  /** Destinations of the IPv4 main routing table (/proc/self/net/route); loopback routes live in the local table. */
  readonly ipv4Routes: string[];
}

export function networkView(): NetworkView {
  const interfaces = readFileSync("/proc/self/net/dev", "utf8")
    .split("\n")
    .slice(2)
    .map((l) => l.split(":")[0]?.trim() ?? "")
    .filter((n) => n !== "")
    .sort();
  const ipv4Routes = readFileSync("/proc/self/net/route", "utf8")
    .split("\n")
    .slice(1)
    .filter((l) => l.trim() !== "")
    .map((l) => l.split(/\s+/).slice(0, 2).join(" "));
  return { namespace: readlinkSync("/proc/self/ns/net"), interfaces, ipv4Routes };
}

function unshareArgs(): string[] {
  return process.getuid?.() === 0 ? ["--net"] : ["--net", "--map-root-user"];
}

/** `argv` wrapped to run in a new network namespace with only `lo`, up. */
export function isolatedArgv(argv: readonly string[]): string[] {
  // `exec "$@"`: the command replaces the shell, so its exit status and signals are its own.
  return ["unshare", ...unshareArgs(), "--", "/bin/sh", "-c", 'ip link set lo up && exec "$@"', "hi-netns", ...argv];
}

/** Why commands cannot be isolated here (empty: they can); probed by isolating `cat /proc/self/net/dev`. */
export function netnsMissing(): Unavailable[] {
  const [cmd, ...args] = isolatedArgv(["cat", "/proc/self/net/dev"]);
  const probe = spawnSync(cmd ?? "unshare", args, { encoding: "utf8", timeout: 10_000 });
  const ok = !probe.error && probe.status === 0 && /^\s*lo:/m.test(probe.stdout);
  if (ok) return [];
  const why = probe.error ? probe.error.message : probe.stderr.trim() || `exit ${String(probe.status)}`;
  return [{
    what: "network namespace",
    reason: `cannot run the preview in a network namespace with only lo (needs util-linux unshare ${unshareArgs().join(" ")} and iproute2's ip, as root or with unprivileged user namespaces): ${why}`,
    required: false,
  }];
}

/** Runs `argv` isolated, with `env`; resolves with its exit status and output. */
export function runIsolated(argv: readonly string[], env: Record<string, string>, cwd: string, timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const [cmd, ...args] = isolatedArgv(argv);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd ?? "unshare", args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
