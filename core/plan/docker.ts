/**
 * The docker target: an engine container on each host's Docker, the router (and its TLS edge)
 * on the first host, a private Docker network there, and engines on other hosts published on
 * their private address for the router alone.
 */
import { EDGE_PORTS } from "../config/defaults";
import type { StackSpec } from "../config/schema";
import { addressCidr, httpUrl, ipVersion } from "../net/address";
import { hostBootstrapParams } from "./bootstrap";
import type { DeploymentPlan, DockerHostTarget, DockerTargetPlan, EngineEndpoint, HostPlan, RouterPlan } from "./types";

/** The ports published on the router host: the TLS edge's, or the router's own. */
export function publishedRouterPorts(spec: StackSpec): number[] {
  return spec.router.tls ? [...EDGE_PORTS] : [spec.router.port];
}

/**
 * Addresses the router's traffic to other hosts' engines comes from, as firewall sources: the
 * router host's IP literals (a DNS name cannot be a firewall source; validation makes sure a
 * multi-host stack's router host has at least one IP).
 */
export function routerSources(routerHost: HostPlan): string[] {
  return [routerHost.privateAddress, routerHost.address]
    .filter((a): a is string => a !== undefined && ipVersion(a) !== 0)
    .map(addressCidr);
}

/** The address other hosts reach a host at: its private address when it has one. */
export function reachableAddress(host: HostPlan): string {
  return host.privateAddress ?? host.address;
}

function engineEndpoint(host: HostPlan, runsRouter: boolean, containerName: string, port: number): EngineEndpoint {
  if (runsRouter) return { apiBase: httpUrl("http", containerName, port, "/v1") };
  const at = reachableAddress(host);
  return { apiBase: httpUrl("http", at, port, "/v1"), publishOn: { address: at, port } };
}

/** Docker names of a host's engine container, and of the stack's router network. */
export const dockerNames = {
  engineContainer: (hostName: string): string => `${hostName}-engine`,
  network: (stack: string): string => `${stack}-inference`,
} as const;

export function dockerTarget(spec: StackSpec, hosts: readonly HostPlan[], weightBytes: number): DockerTargetPlan {
  const routerHost = hosts[0]!;
  const ports = publishedRouterPorts(spec);
  const targets: DockerHostTarget[] = hosts.map((h) => {
    const runsRouter = h.name === routerHost.name;
    const engineContainerName = dockerNames.engineContainer(h.name);
    const endpoint = engineEndpoint(h, runsRouter, engineContainerName, spec.engine.port);
    const bootstrap = hostBootstrapParams(spec, h, weightBytes, runsRouter
      ? { kind: "router", ports, allowedCidrs: spec.router.allowed_cidrs }
      : { kind: "engine", port: spec.engine.port, allowedSources: routerSources(routerHost) });
    return { name: h.name, runsRouter, engineContainerName, endpoint, bootstrap };
  });
  return { kind: "docker", networkName: dockerNames.network(spec.stack), routerHost: routerHost.name, publishedPorts: ports, hosts: targets };
}

/** The docker target's part for one host; throws when the plan is not for the docker target. */
export function dockerHost(target: DockerTargetPlan, hostName: string): DockerHostTarget {
  const h = target.hosts.find((x) => x.name === hostName);
  if (!h) throw new Error(`host ${hostName} is not part of the docker target`);
  return h;
}

/** Where clients reach the router on the docker target: the TLS edge's domain, or the router host's address and port. */
export function dockerRouterUrl(router: Pick<RouterPlan, "tls" | "port">, routerHostAddress: string): string {
  return router.tls ? `https://${router.tls.domain}` : httpUrl("http", routerHostAddress, router.port);
}

/** The plan's docker part; throws for a plan made for the kubernetes target. */
export function dockerPart(plan: DeploymentPlan): DockerTargetPlan {
  if (plan.target.kind !== "docker") throw new Error(`stack ${plan.spec.stack}: the plan is for the ${plan.target.kind} target, not docker`);
  return plan.target;
}
