/**
 * The data each GPU host's bootstrap runs with (templates/host/*.sh), from the plan: the card
 * check, the driver it holds, the cache and disk it needs, and the firewall rules for the
 * host's role on its target.
 */
import { findGpu } from "../catalog";
import type { StackSpec } from "../config/schema";
import versions from "../versions.json";
import { engineImage } from "./engine";
import type { HostBootstrapParams, HostPlan } from "./types";

/** Disk the container images need besides the weights (the vLLM image unpacks to ~20 GB) [estimate]. */
const IMAGE_DISK_GB = 40;
/** Room for a second copy of the weights while an upgrade downloads the new ones next to the old [estimate]. */
const WEIGHTS_DISK_FACTOR = 1.5;

/** Free disk (GB) a host needs for the model cache and images. */
export function minFreeDiskGB(weightBytes: number): number {
  return Math.ceil((weightBytes / 1e9) * WEIGHTS_DISK_FACTOR + IMAGE_DISK_GB);
}

/**
 * The NVIDIA driver branch every host of the stack installs and holds: `driver.branch`, or
 * the newest minimum among the stack's cards (the catalog's, which accounts for the pinned
 * engine image's CUDA version). One branch for the whole stack, so every host runs the same
 * driver and an upgrade is one change.
 */
export function stackDriverBranch(spec: StackSpec): number {
  const minimums = spec.hosts.map((h) => findGpu(h.gpu)?.minDriverBranch ?? 0);
  return spec.driver.branch ?? Math.max(...minimums);
}

/**
 * The engine image's CUDA requirement (its `NVIDIA_REQUIRE_CUDA`) as core/versions.json
 * records it for the pinned tag; null for another tag (`engine.version`), whose requirement
 * only the pulled image can tell (the prefetch step reads it there).
 */
export function engineCudaRequirement(spec: StackSpec): string | null {
  const pinned = spec.engine.kind === "vllm" ? versions.vllm : versions.lorax;
  if (spec.engine.version !== undefined && spec.engine.version !== pinned.tag) return null;
  return pinned.cudaRequirement;
}

/** What a host's firewall opens besides SSH from `admin_cidrs`. */
export type FirewallRole =
  | { readonly kind: "ssh-only" }
  | { readonly kind: "router"; readonly ports: readonly number[]; readonly allowedCidrs: readonly string[] }
  | { readonly kind: "engine"; readonly port: number; readonly allowedSources: readonly string[] };

export function hostBootstrapParams(spec: StackSpec, host: HostPlan, weightBytes: number, role: FirewallRole): HostBootstrapParams {
  return {
    hostName: host.name,
    sshUser: host.sshUser,
    // The firewall admits SSH on this port only: anything else locks the deployment out.
    sshPort: host.sshPort,
    gpu: {
      smiName: host.gpu.smiName,
      count: host.gpuCount,
      memoryMiB: host.gpu.vramGiB * 1024,
      minDriverBranch: host.gpu.minDriverBranch,
      openKernelModules: host.gpu.requiresOpenKernelModules,
    },
    driver: { branch: stackDriverBranch(spec), ...(spec.driver.refresh !== undefined ? { refresh: spec.driver.refresh } : {}) },
    engineImage: { image: engineImage(spec), cudaRequirement: engineCudaRequirement(spec) },
    cacheDir: spec.access.cache_dir,
    minFreeDiskGB: minFreeDiskGB(weightBytes),
    adminCidrs: spec.access.admin_cidrs,
    router: role.kind === "router" ? { ports: role.ports, allowedCidrs: role.allowedCidrs } : null,
    engine: role.kind === "engine" ? { port: role.port, allowedSources: role.allowedSources } : null,
  };
}
