/**
 * The control-plane binaries scripts/build-kube.sh puts in its cache, and what to do when they
 * are absent.
 *
 * They live in `<cache>/<version>/bin`, `<cache>` being HI_KUBE_CACHE or
 * ~/.cache/hybrid-inference/kube and `<version>` HI_KUBE_VERSION or v1.36.3, as in the script
 * (keep the two in step); kwok's stages in `<cache>/<version>/kwok-stages`.
 */
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";

export const KUBE_VERSION = process.env["HI_KUBE_VERSION"] ?? "v1.36.3";

export type KubeBinary = "etcd" | "kube-apiserver" | "kube-controller-manager" | "kube-scheduler" | "kubectl" | "kwok";
const BINARIES: readonly KubeBinary[] = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok"];

export interface KubeTools {
  readonly bin: string;
  /** kwok Stage files (YAML), in the order they are loaded. */
  readonly stages: readonly string[];
  path(name: KubeBinary): string;
  /** What is missing, each with what to run; empty when everything is built. */
  readonly missing: readonly string[];
}

export function kubeCacheRoot(): string {
  const xdg = process.env["XDG_CACHE_HOME"] ?? path.join(homedir(), ".cache");
  return process.env["HI_KUBE_CACHE"] ?? path.join(xdg, "hybrid-inference", "kube");
}

export function findKubeTools(): KubeTools {
  const root = path.join(kubeCacheRoot(), KUBE_VERSION);
  const bin = path.join(root, "bin");
  const stageDir = path.join(root, "kwok-stages");
  const stages = existsSync(stageDir) ? readdirSync(stageDir).filter((f) => f.endsWith(".yaml")).sort().map((f) => path.join(stageDir, f)) : [];
  const missing = BINARIES.filter((b) => !existsSync(path.join(bin, b))).map((b) => `${b} is not in ${bin}`);
  if (stages.length === 0) missing.push(`kwok's stages are not in ${stageDir}`);
  if (missing.length > 0) missing.push("run 'bash scripts/build-kube.sh' (6 to 25 minutes on 2 cores the first time)");
  return { bin, stages, path: (name) => path.join(bin, name), missing };
}

interface SkipContext {
  skip(note?: string): never;
}

/** Skips with the reason, or fails when HI_REQUIRE_KUBE=1 (CI must not skip silently). */
export function skipUnlessBuilt(ctx: SkipContext, tools: KubeTools): void {
  if (tools.missing.length === 0) return;
  const message = `the Kubernetes control plane is not built here: ${tools.missing.join("; ")}`;
  if (process.env["HI_REQUIRE_KUBE"] === "1") throw new Error(`${message} (HI_REQUIRE_KUBE=1)`);
  ctx.skip(message);
}
