/**
 * "What will happen to your servers": each step the deployment takes on each host, in words, in
 * the order it runs, derived from the rendering (the steps it renders) and the plan (the data
 * they run with). A step this module has no words for is still listed, by name, with its file.
 */
import type { DeploymentPlan, HostBootstrapParams } from "../plan/types";
import type { DockerRendering } from "../render/docker";
import { type HostStep, REBOOT_WAIT_TIMEOUT_S, hostSteps } from "../render/host-bootstrap";
import type { KubernetesRendering } from "../render/kubernetes/target";
import { imageName } from "../render/containers";
import type { TargetRendering } from "../render/target";

export interface ServerAction {
  /** The bootstrap step (or `container`, `k3s`) this comes from. */
  readonly step: string;
  readonly text: string;
  /** Changes how the host is reached, reboots it, or interrupts what it serves. */
  readonly disruptive: boolean;
}

export interface ServerChanges {
  readonly host: string;
  readonly address: string;
  readonly actions: readonly ServerAction[];
}

const list = (xs: readonly string[]) => xs.join(", ");

/** What one bootstrap step does to a host, in words; null for a step this module does not know. */
function describeStep(step: string, p: HostBootstrapParams): Omit<ServerAction, "step"> | null {
  const sshPort = p.sshPort ?? 22;
  switch (step) {
    case "preflight":
      return { text: `checks for Ubuntu 22.04 or 24.04, sudo and at least ${p.minFreeDiskGB} GiB free where ${p.cacheDir} lives (stops if not); installs the running kernel's headers if missing`, disruptive: false };
    case "ssh-hardening":
      return {
        text: `switches SSH password and keyboard-interactive login off (key only), ${p.sshUser === "root" ? "root keeps key-only login" : "root login off"}; ` +
          "sshd reloads after `sshd -t` accepts the new config",
        disruptive: true,
      };
    case "nvidia-driver": {
      const branch = p.driver?.branch ?? p.gpu.minDriverBranch;
      return {
        text: `installs the NVIDIA driver branch ${branch}${p.gpu.openKernelModules ? " with the open kernel modules (Blackwell needs them)" : ""} from Ubuntu's archive ` +
          "(Canonical's signed prebuilt modules, else DKMS; refused under Secure Boot without them) and holds it and the kernel metapackages against " +
          `unattended and manual upgrades${p.driver?.refresh ? ` (refresh ${p.driver.refresh})` : ""}`,
        disruptive: true,
      };
    }
    case "reboot-if-required":
      return {
        text: "reboots the host when the driver was installed or changed, or its loaded module no longer matches its libraries " +
          `(once; the deployment waits up to ${Math.round(REBOOT_WAIT_TIMEOUT_S / 60)} min for it to come back)`,
        disruptive: true,
      };
    case "container-toolkit":
      return { text: "installs the NVIDIA Container Toolkit from NVIDIA's apt repository", disruptive: false };
    case "docker":
      return {
        text: `installs Docker Engine from Docker's apt repository, registers the NVIDIA runtime (Docker restarts when its daemon.json changes) ` +
          `and adds ${p.sshUser} to the docker group (root-equivalent on the host)`,
        disruptive: false,
      };
    case "firewall": {
      const open = [
        `SSH (port ${sshPort}) only from ${list(p.adminCidrs)}`,
        ...(p.router ? [`port${p.router.ports.length > 1 ? "s" : ""} ${list(p.router.ports.map(String))} (router) from ${list(p.router.allowedCidrs)}`] : []),
        ...(p.engine ? [`port ${p.engine.port} (engine) only from the router host (${list(p.engine.allowedSources)})`] : []),
      ];
      return {
        text: `turns the ufw firewall on: everything incoming is refused except ${list(open)}; Docker-published ports get the same rules (DOCKER-USER); ` +
          "SSH sessions from anywhere else are cut off",
        disruptive: true,
      };
    }
    case "cache-dir":
      return { text: `creates the model cache ${p.cacheDir}`, disruptive: false };
    case "engine-watchdog":
      return { text: "installs the engine watchdog, a systemd timer that restarts an engine container whose health check keeps failing", disruptive: false };
    case "verify-gpus":
      return {
        text: `checks the host has ${p.gpu.count}x ${p.gpu.smiName} with the driver loaded${p.engineImage?.cudaRequirement ? " and new enough for the engine image's CUDA" : ""}; stops the deployment if not`,
        disruptive: false,
      };
    default:
      return null;
  }
}

function stepActions(steps: readonly HostStep[], p: HostBootstrapParams, fileOf: (i: number, step: string) => string): ServerAction[] {
  return steps.map((s, i) => {
    const known = describeStep(s.name, p);
    return { step: s.name, ...(known ?? { text: `runs bootstrap step ${s.name} (see ${fileOf(i, s.name)})`, disruptive: false }) };
  });
}

function dockerChanges(plan: DeploymentPlan, r: DockerRendering): ServerChanges[] {
  return r.hosts.map((h) => {
    const dir = `hosts/${h.host.name}/bootstrap`;
    const actions = stepActions(h.steps, h.target.bootstrap, (i, s) => `${dir}/${String(i + 1).padStart(2, "0")}-${s}.sh`);
    if (plan.spec.workloads) {
      actions.push({
        step: "container",
        text: `downloads ${plan.engine.hfRepo} into ${plan.spec.access.cache_dir} before the engine is (re)started, then runs the engine container ${h.engine.name} ` +
          `(${imageName(h.engine.image)}, ${h.engine.gpus === "all" ? "all GPUs" : `${h.engine.gpus} GPUs`})${h.engine.ports.length > 0 ? `, published on ${h.engine.ports.map((p) => `${p.ip ?? "0.0.0.0"}:${p.external}`).join(", ")}` : ", no published port"}`,
        disruptive: true,
      });
      if (h.target.runsRouter) {
        actions.push({ step: "container", text: `runs the router container ${r.router.name} (${imageName(r.router.image)}) on port${r.router.ports.length > 1 ? "s" : ""} ${r.router.ports.map((p) => p.external).join(", ") || "(none: behind the TLS edge)"}`, disruptive: true });
        if (r.edge) actions.push({ step: "container", text: `runs the TLS edge ${r.edge.name} (${imageName(r.edge.image)}) on ports ${r.edge.ports.map((p) => p.external).join(", ")}`, disruptive: true });
      }
    }
    return { host: h.host.name, address: h.host.address, actions };
  });
}

function kubernetesChanges(plan: DeploymentPlan, r: KubernetesRendering): ServerChanges[] {
  if (!r.k3s) return [];
  return r.k3s.nodes.map((n) => {
    const dir = `k3s/${n.host.name}/bootstrap`;
    const actions = stepActions(hostSteps(n.bootstrap), n.bootstrap, (i, s) => `${dir}/${String(i + 1).padStart(2, "0")}-${s}.sh`);
    actions.push({
      step: "k3s",
      text: `opens the k3s ports between the nodes (${n.role === "server" ? "6443 from the agents and the admin CIDRs, " : ""}kubelet and flannel from the other nodes) and installs k3s ${r.k3s!.version} as the cluster's ${n.role}`,
      disruptive: true,
    });
    return { host: n.host.name, address: n.host.address, actions };
  });
}

/** What the kubernetes target applies to the cluster, one line per object that serves or exposes something. */
export function clusterChanges(rendering: TargetRendering): string[] {
  if (rendering.kind !== "kubernetes") return [];
  const out: string[] = [];
  for (const m of rendering.manifests) {
    switch (m.kind) {
      case "Deployment": {
        const r = m.spec.strategy.rollingUpdate;
        out.push(`Deployment ${m.metadata.name}: ${m.spec.replicas} pod${m.spec.replicas === 1 ? "" : "s"}, rolled ${r.maxSurge > 0 ? `with ${r.maxSurge} extra pod at a time` : `${r.maxUnavailable} pod at a time (down while its replacement starts)`}`);
        break;
      }
      case "Service":
        if (m.spec.type === "LoadBalancer") {
          out.push(`Service ${m.metadata.name}: a LoadBalancer on port${m.spec.ports.length > 1 ? "s" : ""} ${m.spec.ports.map((p) => p.port).join(", ")}, open to ${(m.spec.loadBalancerSourceRanges ?? ["anyone"]).join(", ")}`);
        }
        break;
      case "Ingress":
        out.push(`Ingress ${m.metadata.name}: ${m.spec.rules.map((r) => r.host).join(", ")}${m.spec.tls ? " over HTTPS" : " over plain HTTP"}`);
        break;
      default:
        break;
    }
  }
  return out;
}

/** Per host (or k3s node), every step the deployment takes on it; empty for an existing cluster. */
export function serverChanges(plan: DeploymentPlan, rendering: TargetRendering): ServerChanges[] {
  return rendering.kind === "docker" ? dockerChanges(plan, rendering) : kubernetesChanges(plan, rendering);
}
