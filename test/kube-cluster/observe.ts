/**
 * Reading the test cluster's state: Deployments, pods, PodDisruptionBudgets, EndpointSlices,
 * and a watch that records how many engine replicas were available at every moment.
 */
import type { PodView } from "../../core/render/kubernetes/rollout-diagnosis";
import { GROUP_LABEL } from "../../core/render/kubernetes/workloads";
import type { KubeApi, Watch } from "./kube-api";

export interface DeploymentObject {
  metadata: { name: string; generation?: number; resourceVersion?: string };
  spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    unavailableReplicas?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export interface PodObject extends PodView {
  metadata: PodView["metadata"] & { uid?: string; resourceVersion?: string };
  spec: { nodeName?: string; containers: { name: string; image: string }[] };
  status?: PodView["status"] & { podIP?: string };
}

export interface PdbObject {
  metadata: { name: string; generation?: number };
  status?: { observedGeneration?: number; currentHealthy?: number; desiredHealthy?: number; disruptionsAllowed?: number; expectedPods?: number };
}

interface List<T> {
  metadata: { resourceVersion: string };
  items: T[];
}

export function selectorQuery(labels: Readonly<Record<string, string>>): string {
  return `labelSelector=${encodeURIComponent(Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(","))}`;
}

export async function listPods(api: KubeApi, namespace: string, labels: Readonly<Record<string, string>> = {}): Promise<List<PodObject>> {
  return api.get<List<PodObject>>(`/api/v1/namespaces/${namespace}/pods?${selectorQuery(labels)}`);
}

export async function getDeployment(api: KubeApi, namespace: string, name: string): Promise<DeploymentObject> {
  return api.get<DeploymentObject>(`/apis/apps/v1/namespaces/${namespace}/deployments/${name}`);
}

/** The rollout is complete and every replica available, as `kubectl rollout status` judges it. */
export function deploymentAvailable(d: DeploymentObject): boolean {
  const s = d.status;
  const available = s?.conditions?.some((c) => c.type === "Available" && c.status === "True") ?? false;
  return available && s?.observedGeneration === d.metadata.generation && s?.updatedReplicas === d.spec.replicas &&
    s?.availableReplicas === d.spec.replicas && (s?.replicas ?? 0) === d.spec.replicas;
}

export function podReady(p: PodView): boolean {
  return !p.metadata.deletionTimestamp && p.status?.phase === "Running" && (p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false);
}

/** Engine pods per node name, counting running pods only. */
export function podsPerNode(pods: readonly PodObject[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of pods) {
    if (!p.spec.nodeName || p.metadata.deletionTimestamp) continue;
    out[p.spec.nodeName] = (out[p.spec.nodeName] ?? 0) + 1;
  }
  return out;
}

/**
 * Watches the engine pods of a namespace and records, after every event, how many pods of each
 * group are ready (running, Ready, not terminating): the replicas the group's Service routes to.
 */
export class AvailabilityRecorder {
  private readonly pods = new Map<string, PodObject>();
  private readonly minimum = new Map<string, number>();
  private minTotal = Number.POSITIVE_INFINITY;
  private watch: Watch | undefined;
  private readonly t0 = Date.now();
  readonly events: string[] = [];

  constructor(private readonly groups: readonly string[]) {}

  private readyIn(group: string): number {
    return [...this.pods.values()].filter((p) => p.metadata.labels?.[GROUP_LABEL] === group && podReady(p)).length;
  }

  private record(): void {
    let total = 0;
    for (const g of this.groups) {
      const n = this.readyIn(g);
      total += n;
      this.minimum.set(g, Math.min(this.minimum.get(g) ?? Number.POSITIVE_INFINITY, n));
    }
    this.minTotal = Math.min(this.minTotal, total);
  }

  async start(api: KubeApi, namespace: string, labels: Readonly<Record<string, string>>): Promise<void> {
    const list = await listPods(api, namespace, labels);
    for (const p of list.items) this.pods.set(p.metadata.name, p);
    this.record();
    this.watch = api.watch<PodObject>(`/api/v1/namespaces/${namespace}/pods?${selectorQuery(labels)}`, list.metadata.resourceVersion, (e) => {
      if (e.type === "ERROR" || e.type === "BOOKMARK") return;
      const p = e.object;
      if (e.type === "DELETED") this.pods.delete(p.metadata.name);
      else this.pods.set(p.metadata.name, p);
      this.events.push(`+${((Date.now() - this.t0) / 1000).toFixed(1)}s ${e.type} ${p.metadata.name} ${p.spec.containers[0]?.image ?? ""} ready=${podReady(p)}`);
      this.record();
    });
  }

  stop(): void {
    this.watch?.stop();
  }

  /** The fewest ready pods a group had at any moment since start(). */
  minimumReady(group: string): number {
    return this.minimum.get(group) ?? 0;
  }

  /** The fewest ready engine pods, all groups together, at any moment since start(). */
  minimumTotal(): number {
    return this.minTotal;
  }
}

export interface EndpointSliceObject {
  metadata: { name: string; labels?: Record<string, string> };
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean } }[] | null;
}

/**
 * Watches the EndpointSlices of the engine Services (what kube-proxy routes the router's
 * requests by) and records the fewest ready endpoints across them at any moment.
 */
export class EndpointRecorder {
  private readonly slices = new Map<string, EndpointSliceObject>();
  private minTotal = Number.POSITIVE_INFINITY;
  private watch: Watch | undefined;

  constructor(private readonly services: readonly string[]) {}

  private ready(): number {
    let n = 0;
    for (const s of this.slices.values()) {
      if (!this.services.includes(s.metadata.labels?.["kubernetes.io/service-name"] ?? "")) continue;
      n += (s.endpoints ?? []).filter((e) => e.conditions?.ready === true).length;
    }
    return n;
  }

  async start(api: KubeApi, namespace: string): Promise<void> {
    const path = `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;
    const list = await api.get<List<EndpointSliceObject>>(path);
    for (const s of list.items) this.slices.set(s.metadata.name, s);
    this.minTotal = this.ready();
    this.watch = api.watch<EndpointSliceObject>(path, list.metadata.resourceVersion, (e) => {
      if (e.type === "ERROR" || e.type === "BOOKMARK") return;
      if (e.type === "DELETED") this.slices.delete(e.object.metadata.name);
      else this.slices.set(e.object.metadata.name, e.object);
      this.minTotal = Math.min(this.minTotal, this.ready());
    });
  }

  stop(): void {
    this.watch?.stop();
  }

  current(): number {
    return this.ready();
  }

  minimumTotal(): number {
    return this.minTotal;
  }
}

interface NodeConditionsObject {
  metadata: { name: string };
  spec?: { taints?: { key: string; effect: string }[] };
  status?: { conditions?: { type: string; status: string; reason?: string; lastHeartbeatTime?: string }[] };
}

/**
 * Watches the nodes and records every moment one was not Ready or carried a not-ready /
 * unreachable taint: the simulation's own health, so a flapping fake node is told apart from a
 * fault in what is deployed.
 */
export class NodeHealthRecorder {
  private watch: Watch | undefined;
  readonly lapses: string[] = [];

  async start(api: KubeApi): Promise<void> {
    const list = await api.get<List<NodeConditionsObject>>("/api/v1/nodes");
    this.watch = api.watch<NodeConditionsObject>("/api/v1/nodes", list.metadata.resourceVersion, (e) => {
      if (e.type !== "MODIFIED") return;
      const n = e.object;
      const ready = n.status?.conditions?.find((c) => c.type === "Ready");
      // Not node.kubernetes.io/unschedulable: that is a cordon, which the drain test makes.
      const taints = (n.spec?.taints ?? []).filter((t) => t.key.startsWith("node.kubernetes.io/") && t.key !== "node.kubernetes.io/unschedulable").map((t) => `${t.key}:${t.effect}`);
      if (ready?.status !== "True" || taints.length > 0) {
        this.lapses.push(`${new Date().toISOString()} ${n.metadata.name}: Ready=${ready?.status ?? "?"} (${ready?.reason ?? ""}, heartbeat ${ready?.lastHeartbeatTime ?? "?"}) taints=${taints.join(",")}`);
      }
    });
  }

  stop(): void {
    this.watch?.stop();
  }
}
