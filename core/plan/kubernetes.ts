/**
 * The kubernetes target: engine groups placed on the stack's GPU nodes (core/plan/placement.ts)
 * and, with `cluster: k3s`, each node's GPU host bootstrap, whose firewall admits SSH only
 * (the k3s steps add the cluster's own ports; engines and router have no host port).
 */
import type { StackSpec } from "../config/schema";
import { hostBootstrapParams } from "./bootstrap";
import { placeEngines } from "./placement";
import type { HostPlan, KubernetesTargetPlan } from "./types";

export function kubernetesTarget(spec: StackSpec, hosts: readonly HostPlan[], weightBytes: number): KubernetesTargetPlan {
  const settings = spec.kubernetes;
  return {
    kind: "kubernetes",
    settings,
    placement: placeEngines(hosts, settings.reserve_surge_slot),
    nodes: settings.cluster === "k3s"
      ? hosts.map((h) => ({ name: h.name, bootstrap: hostBootstrapParams(spec, h, weightBytes, { kind: "ssh-only" }) }))
      : [],
  };
}

/**
 * DNS name of a Service in its namespace, `<service>.<namespace>.svc`: resolvable from every
 * pod through the cluster DNS search path whatever the cluster domain is
 * (https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/).
 */
export function serviceHost(service: string, namespace: string): string {
  return `${service}.${namespace}.svc`;
}
