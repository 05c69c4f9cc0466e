/**
 * Where engine replicas go on a Kubernetes cluster of mixed GPU hosts, as plain data.
 *
 * The algorithm:
 *  1. Each node is a host of the plan, already fitted by the fit planner for the weight format
 *     and context every replica serves (`HostPlan`: the smallest tensor-parallel size whose
 *     per-GPU budget holds the weights, activations, runtime, LoRA slots and the KV cache of one
 *     full-length sequence). The node then has `floor(cards / tp)` replica slots; cards left over
 *     stay idle. Nothing is fitted a second time here.
 *  2. Nodes with the same card (and so the same tensor-parallel size) form one engine group:
 *     one Deployment whose pods each ask for `tp` GPUs and select nodes by the GPU label.
 *     Every pod of a group has the same size, so any node of the group with `tp` free cards
 *     takes any of its pods: the scheduler cannot fragment a group.
 *  3. A group runs one replica per slot, except that `reserveSurgeSlot` keeps one slot free in
 *     groups of two or more, so a rolling update can start a new pod before stopping an old one.
 *  4. Each replica serves what the host plan's `replicaCapacity` says; a group's capacity is
 *     that times its replicas, and the router weights groups by it.
 *
 * Pure: no Pulumi, no I/O. The kubernetes renderers and the `plan` report read this.
 */
import type { EngineGroup, HostPlan, NodePlacement, Placement } from "./types";

/** Kubernetes-safe group name from a catalog GPU id (ids are lowercase, digits and '-'). */
function groupName(gpuId: string, tp: number, tpIsAmbiguous: boolean): string {
  return tpIsAmbiguous ? `engine-${gpuId}-tp${tp}` : `engine-${gpuId}`;
}

/** Groups the planned hosts into engine groups and places replicas on them. */
export function placeEngines(hosts: readonly HostPlan[], reserveSurgeSlot: boolean): Placement {
  // Group by card and tensor-parallel size, in the order nodes first appear.
  const keys: string[] = [];
  const members = new Map<string, HostPlan[]>();
  for (const h of hosts) {
    const key = `${h.gpu.id}/${h.tensorParallel}`;
    if (!members.has(key)) {
      keys.push(key);
      members.set(key, []);
    }
    members.get(key)!.push(h);
  }
  const tpsPerGpu = new Map<string, Set<number>>();
  for (const h of hosts) tpsPerGpu.set(h.gpu.id, (tpsPerGpu.get(h.gpu.id) ?? new Set()).add(h.tensorParallel));

  const nodes: NodePlacement[] = [];
  const groups: EngineGroup[] = [];
  for (const key of keys) {
    const list = members.get(key)!;
    const first = list[0]!;
    const name = groupName(first.gpu.id, first.tensorParallel, (tpsPerGpu.get(first.gpu.id)?.size ?? 1) > 1);
    const slots = list.reduce((s, h) => s + h.replicas, 0);
    const reserve = reserveSurgeSlot && slots >= 2 ? 1 : 0;
    // The reserved slot comes off the node with the most slots (the last such), keeping the spread even.
    let reservedAt = -1;
    if (reserve > 0) {
      list.forEach((h, i) => {
        if (reservedAt < 0 || h.replicas >= list[reservedAt]!.replicas) reservedAt = i;
      });
    }
    list.forEach((h, i) => {
      const replicas = h.replicas - (i === reservedAt ? 1 : 0);
      nodes.push({
        node: h.name, gpu: h.gpu.id, gpuCount: h.gpuCount, group: name, tensorParallel: h.tensorParallel,
        slots: h.replicas, replicas, gpusUsed: replicas * h.tensorParallel, memory: h.memory,
      });
    });
    const replicas = slots - reserve;
    const perReplica = first.replicaCapacity;
    groups.push({
      name,
      gpu: first.gpu,
      tensorParallel: first.tensorParallel,
      replicas,
      slots,
      nodes: list.map((h) => h.name),
      memory: first.memory,
      perReplica,
      requestsPerSecond: perReplica.requestsPerSecond * replicas,
      tokensPerMonth: perReplica.tokensPerMonth * replicas,
      rollout: replicas < slots ? { maxSurge: 1, maxUnavailable: 0 } : { maxSurge: 0, maxUnavailable: 1 },
    });
  }
  return { nodes, groups };
}
