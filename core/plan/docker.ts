/**
 * The docker target: an engine container on each host's Docker, the router (and its TLS edge)
 * on the first host, a private Docker network there, and engines on other hosts published for
 * the router alone on their private address, or on their address in an encrypted tunnel
 * (WireGuard) when the two hosts share no private network: engine traffic (prompts, the engine
 * key) never crosses a public network in clear.
 */
import { EDGE_PORTS } from "../config/defaults";
import type { StackSpec } from "../config/schema";
import { addressCidr, httpUrl, ipVersion, ipv4HostCapacity } from "../net/address";
import { hostBootstrapParams } from "./bootstrap";
import { exporterPorts } from "./monitoring";
import type { DeploymentPlan, DockerHostTarget, DockerTargetPlan, EngineEndpoint, HostPlan, HostTunnel, RouterPlan, TunnelMember, TunnelPlan } from "./types";

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

/** The address other hosts reach a host at on the provider's private network, else its public one. */
export function reachableAddress(host: HostPlan): string {
  return host.privateAddress ?? host.address;
}

/** WireGuard's interface (and `wg-quick@` unit) for the engine tunnel: at most 15 characters. */
export const TUNNEL_INTERFACE = "hi-engines";

/**
 * How the router host's traffic reaches another host's engine without crossing a public network
 * in clear: over the private network when both hosts declare a `private_address`, else through
 * the engine tunnel.
 */
export function engineLink(routerHost: HostPlan, host: HostPlan): "private" | "tunnel" {
  return routerHost.privateAddress !== undefined && host.privateAddress !== undefined ? "private" : "tunnel";
}

/** The i-th address of an IPv4 network (`10.213.0.0/24`, 2 -> `10.213.0.2`). */
function nthAddress(cidr: string, n: number): string {
  const [base] = cidr.split("/");
  const capacity = ipv4HostCapacity(cidr);
  if (n <= 0 || n > capacity) throw new Error(`the tunnel network ${cidr} has no address number ${n} (it holds ${capacity} hosts)`);
  const start = base!.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const v = start + n;
  return [24, 16, 8, 0].map((shift) => String(Math.floor(v / 2 ** shift) % 256)).join(".");
}

/**
 * The engine tunnel: the router host and every host whose engine it would otherwise reach over
 * a public address. A host's tunnel address is the network's (stack position + 1)-th, so it
 * stays the same when other hosts join or leave the tunnel.
 */
export function tunnelPlan(spec: StackSpec, hosts: readonly HostPlan[]): TunnelPlan | null {
  const routerHost = hosts[0]!;
  const linked = hosts.slice(1).filter((h) => engineLink(routerHost, h) === "tunnel");
  if (linked.length === 0) return null;
  const { cidr, port } = spec.access.tunnel;
  const member = (h: HostPlan): TunnelMember => ({ host: h.name, address: nthAddress(cidr, hosts.indexOf(h) + 1), endpoint: h.address });
  return { cidr, port, interfaceName: TUNNEL_INTERFACE, members: [routerHost, ...linked].map(member) };
}

/**
 * One host's side of the tunnel: the router host peers with every member, the others with the
 * router host only (engine traffic flows between the router and each engine, never between
 * engines). The UDP port admits the peers' public addresses; a peer known only by DNS name
 * cannot be a firewall source, so the port is then open to all: WireGuard answers no packet
 * that is not authenticated with a peer's key (its whitepaper's "silence is a virtue").
 */
export function hostTunnel(tunnel: TunnelPlan, hostName: string): HostTunnel | undefined {
  const self = tunnel.members.find((m) => m.host === hostName);
  if (!self) return undefined;
  const router = tunnel.members[0]!;
  const peers = self.host === router.host ? tunnel.members.slice(1) : [router];
  const allowedSources = peers.some((p) => ipVersion(p.endpoint) === 0)
    ? ["0.0.0.0/0", "::/0"]
    : peers.map((p) => addressCidr(p.endpoint));
  return { interfaceName: tunnel.interfaceName, address: `${self.address}/${tunnel.cidr.split("/")[1]}`, port: tunnel.port, peers, allowedSources };
}

function engineEndpoint(routerHost: HostPlan, host: HostPlan, containerName: string, port: number, tunnel: TunnelPlan | null): EngineEndpoint {
  if (host.name === routerHost.name) return { via: "docker-network", apiBase: httpUrl("http", containerName, port, "/v1") };
  const inTunnel = tunnel?.members.find((m) => m.host === host.name);
  const via = inTunnel ? "tunnel" : "private";
  const at = inTunnel ? inTunnel.address : reachableAddress(host);
  return { via, apiBase: httpUrl("http", at, port, "/v1"), publishOn: { address: at, port } };
}

/** Docker names of a host's engine container, and of the stack's router network. */
export const dockerNames = {
  engineContainer: (hostName: string): string => `${hostName}-engine`,
  network: (stack: string): string => `${stack}-inference`,
} as const;

export function dockerTarget(spec: StackSpec, hosts: readonly HostPlan[], weightBytes: number): DockerTargetPlan {
  const routerHost = hosts[0]!;
  const ports = publishedRouterPorts(spec);
  const tunnel = tunnelPlan(spec, hosts);
  const routerTunnelAddress = tunnel?.members[0]?.address;
  const targets: DockerHostTarget[] = hosts.map((h) => {
    const runsRouter = h.name === routerHost.name;
    const engineContainerName = dockerNames.engineContainer(h.name);
    const endpoint = engineEndpoint(routerHost, h, engineContainerName, spec.engine.port, tunnel);
    // The engine's port admits the router host as its traffic arrives: from its tunnel address, or its own addresses.
    const allowedSources = endpoint.via === "tunnel" ? [addressCidr(routerTunnelAddress!)] : routerSources(routerHost);
    const params = hostBootstrapParams(spec, h, weightBytes, runsRouter
      ? { kind: "router", ports, allowedCidrs: spec.router.allowed_cidrs }
      : { kind: "engine", port: spec.engine.port, allowedSources, exporterPorts: exporterPorts(spec) });
    const ownTunnel = tunnel ? hostTunnel(tunnel, h.name) : undefined;
    const bootstrap = ownTunnel ? { ...params, tunnel: ownTunnel } : params;
    return { name: h.name, runsRouter, engineContainerName, endpoint, bootstrap };
  });
  return { kind: "docker", networkName: dockerNames.network(spec.stack), routerHost: routerHost.name, publishedPorts: ports, hosts: targets, tunnel };
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
