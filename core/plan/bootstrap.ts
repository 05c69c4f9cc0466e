/**
 * The data each GPU host's bootstrap runs with (templates/host/*.sh), from the plan: the card
 * check, the cache and disk it needs, and the firewall rules for the host's role on its target.
 */
import type { StackSpec } from "../config/schema";
import type { HostBootstrapParams, HostPlan } from "./types";

/** Disk the container images need besides the weights (the vLLM image unpacks to ~20 GB) [estimate]. */
const IMAGE_DISK_GB = 40;
/** Room for a second copy of the weights while an upgrade downloads the new ones next to the old [estimate]. */
const WEIGHTS_DISK_FACTOR = 1.5;

/** Free disk (GB) a host needs for the model cache and images. */
export function minFreeDiskGB(weightBytes: number): number {
  return Math.ceil((weightBytes / 1e9) * WEIGHTS_DISK_FACTOR + IMAGE_DISK_GB);
}

/** What a host's firewall opens besides SSH from `admin_cidrs`. */
export type FirewallRole =
  | { readonly kind: "ssh-only" }
  | { readonly kind: "router"; readonly ports: readonly number[]; readonly allowedCidrs: readonly string[] }
  | { readonly kind: "engine"; readonly port: number; readonly allowedSources: readonly string[]; readonly exporterPorts?: readonly number[] };

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
    cacheDir: spec.access.cache_dir,
    minFreeDiskGB: minFreeDiskGB(weightBytes),
    adminCidrs: spec.access.admin_cidrs,
    router: role.kind === "router" ? { ports: role.ports, allowedCidrs: role.allowedCidrs } : null,
    engine: role.kind === "engine"
      ? { port: role.port, allowedSources: role.allowedSources, ...(role.exporterPorts?.length ? { exporterPorts: role.exporterPorts } : {}) }
      : null,
  };
}
