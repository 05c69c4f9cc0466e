/**
 * What a deployment downloads and how long until it serves: the model's weights (the plan's
 * `engine.weightBytes`, once per host) and the container images, and the engine's start-up
 * allowance (`engine.startupSeconds`) broken into the download and the load it is made of.
 */
import { DOWNLOAD_MB_PER_S, engineStartupMinutes } from "../plan/engine";
import type { DeploymentPlan, ImageRef } from "../plan/types";
import { imageName } from "../render/containers";
import versions from "../versions.json";

/**
 * Download sizes of the pinned images [estimates: no registry is reachable from here, so none is
 * measured]. Compressed layers, which is what a pull transfers.
 */
export const IMAGE_DOWNLOAD_BYTES: Readonly<Record<string, { readonly bytes: number; readonly basis: string }>> = {
  [versions.vllm.image]: {
    bytes: 12.6e9,
    basis: "Docker Hub's compressed size of a 2025 vllm/vllm-openai release, 12.64 GB (discuss.vllm.ai, quoted in vllm-project/vllm#27154); it unpacks to ~28.6 GB (vllm-project/vllm#22377)",
  },
  [versions.lorax.image]: {
    bytes: 10e9,
    basis: "a guess from its CUDA 12.4 / PyTorch 2.4 base, like vLLM's 2024 images (about 9 GB, vllm-project/vllm#7609)",
  },
  [versions.litellm.image]: {
    bytes: 0.8e9,
    basis: "the pinned proxy's Python packages install to 0.76 GB (.venv/litellm, measured here); the compressed image is taken to be about that",
  },
  [versions.caddy.image]: {
    bytes: 0.05e9,
    basis: "Caddy is one Go binary on Alpine [estimate]",
  },
};

export interface ImageDownload {
  readonly image: string;
  readonly bytes: number;
  readonly basis: string;
}

export interface HostDownloads {
  readonly host: string;
  readonly weightBytes: number;
  readonly images: readonly ImageDownload[];
  readonly totalBytes: number;
}

export interface StartupEstimate {
  /** `engine.startupSeconds`: the allowance for a cold engine start. */
  readonly seconds: number;
  /** The weights' download at DOWNLOAD_MB_PER_S, whole minutes. */
  readonly downloadMinutes: number;
  /** The rest of the allowance: loading into GPU memory, compiling and capturing CUDA graphs. */
  readonly loadMinutes: number;
  /** The least the planner ever allows. */
  readonly floorMinutes: number;
  readonly floorApplied: boolean;
  readonly mbPerSecond: number;
  /** Pulling the engine image at the same rate, whole minutes. */
  readonly imagePullMinutes: number;
}

export interface DownloadEstimate {
  readonly hosts: readonly HostDownloads[];
  readonly totalBytes: number;
  readonly startup: StartupEstimate;
}

function imageDownload(ref: ImageRef): ImageDownload {
  const known = IMAGE_DOWNLOAD_BYTES[ref.repository];
  return known ? { image: imageName(ref), ...known } : { image: imageName(ref), bytes: 0, basis: "unknown size" };
}

const minutesAt = (bytes: number, mbPerS: number) => Math.ceil(bytes / 1e6 / mbPerS / 60);

/** Per host (docker) or per node (kubernetes), what a first deployment downloads. */
export function downloadEstimate(plan: DeploymentPlan): DownloadEstimate {
  const workloads = plan.spec.workloads;
  const engine = imageDownload(plan.engine.image);
  const router = [plan.router.image, ...(plan.router.tls && plan.target.kind === "docker" ? [plan.router.tls.image] : [])].map(imageDownload);
  const hosts: HostDownloads[] = !workloads ? [] : plan.target.kind === "docker"
    ? plan.target.hosts.map((t) => {
      const images = [engine, ...(t.runsRouter ? router : [])];
      return { host: t.name, weightBytes: plan.engine.weightBytes, images, totalBytes: plan.engine.weightBytes + images.reduce((s, i) => s + i.bytes, 0) };
    })
    // Kubernetes: every node with an engine replica pulls the engine image and the weights; the router image lands wherever its pods run.
    : plan.target.placement.nodes.filter((n) => n.replicas > 0).map((n) => ({
      host: n.node, weightBytes: plan.engine.weightBytes, images: [engine], totalBytes: plan.engine.weightBytes + engine.bytes,
    }));
  const startupMinutes = plan.engine.startupSeconds / 60;
  const downloadMinutes = minutesAt(plan.engine.weightBytes, DOWNLOAD_MB_PER_S);
  const floorMinutes = engineStartupMinutes(0);
  return {
    hosts,
    totalBytes: hosts.reduce((s, h) => s + h.totalBytes, 0) + (plan.target.kind === "kubernetes" && workloads ? router.reduce((s, i) => s + i.bytes, 0) : 0),
    startup: {
      seconds: plan.engine.startupSeconds,
      downloadMinutes,
      loadMinutes: startupMinutes - downloadMinutes,
      floorMinutes,
      floorApplied: startupMinutes === floorMinutes,
      mbPerSecond: DOWNLOAD_MB_PER_S,
      imagePullMinutes: minutesAt(engine.bytes, DOWNLOAD_MB_PER_S),
    },
  };
}

/** `14.2 GB`. */
export function gigabytes(bytes: number): string {
  return `${(bytes / 1e9).toFixed(1)} GB`;
}
