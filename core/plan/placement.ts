/**
 * Where engine replicas go on a Kubernetes cluster of mixed GPU hosts, as plain data.
 *
 * The algorithm:
 *  1. Each node is fitted on its own with the fit planner (`fitOnHost`), for the weight format
 *     the plan chose and the context every replica serves (`maxModelLen`): the smallest
 *     tensor-parallel size whose per-GPU budget holds the weights, activations, runtime, LoRA
 *     slots and the KV cache of one full-length sequence. The node then has
 *     `floor(cards / tp)` replica slots; cards left over stay idle.
 *  2. Nodes with the same card (and so the same tensor-parallel size) form one engine group:
 *     one Deployment whose pods each ask for `tp` GPUs and select nodes by the GPU label.
 *     Every pod of a group has the same size, so any node of the group with `tp` free cards
 *     takes any of its pods: the scheduler cannot fragment a group.
 *  3. A group runs one replica per slot, except that `reserveSurgeSlot` keeps one slot free in
 *     groups of two or more, so a rolling update can start a new pod before stopping an old one.
 *  4. Each replica's capacity comes from the capacity model for one replica of that card
 *     (`estimateCapacity` with `replicas: 1`); a group's router limits are the sum over its
 *     replicas, so the router spreads traffic over groups in proportion to what they serve.
 *
 * Pure: no Pulumi, no I/O. The kubernetes renderers and the `plan` report read this.
 */
import type { EngineKind, GpuSpec, ModelSpec, Quantization } from "../catalog/types";
import { type CapacityEstimate, estimateCapacity } from "./capacity";
import { fitOnHost, kvDtypeBytes } from "./fit";
import { type MemoryBreakdown, kvBytesPerToken, weightBytes } from "./memory";

/** A Kubernetes node the stack declares: a host of the stack. */
export interface PlacementNode {
  readonly name: string;
  readonly gpu: GpuSpec;
  readonly gpuCount: number;
}

export interface PlacementRequest {
  readonly model: ModelSpec;
  readonly quantization: Quantization;
  readonly engine: EngineKind;
  readonly gpuMemoryUtilization: number;
  readonly kvCacheDtype: "auto" | "fp8";
  readonly maxNumSeqs: number;
  readonly maxLoras: number;
  readonly maxLoraRank: number;
  /** The context every replica serves (`--max-model-len`): each must hold one sequence of it. */
  readonly maxModelLen: number;
  readonly avgInputTokens: number;
  readonly avgOutputTokens: number;
  readonly utilisation: number;
  readonly nodes: readonly PlacementNode[];
  /** Keep one slot per group free for surge pods during rolling updates. */
  readonly reserveSurgeSlot: boolean;
}

export interface NodePlacement {
  readonly node: string;
  /** Catalog GPU id of the node's cards. */
  readonly gpu: string;
  readonly gpuCount: number;
  /** The engine group whose pods run here. */
  readonly group: string;
  readonly tensorParallel: number;
  /** Replica slots: whole groups of `tensorParallel` cards. */
  readonly slots: number;
  /** Replicas the placement expects here (slots, less a reserved surge slot). */
  readonly replicas: number;
  /** Cards the expected replicas hold. */
  readonly gpusUsed: number;
  /** Per-GPU memory of one replica on this node. */
  readonly memory: MemoryBreakdown;
}

/** `spec.strategy.rollingUpdate` of a group's Deployment. */
export interface RolloutStrategy {
  readonly maxSurge: number;
  readonly maxUnavailable: number;
}

export interface EngineGroup {
  /** Name of the group's Deployment, Service and PodDisruptionBudget, e.g. `engine-rtx-4090`. */
  readonly name: string;
  readonly gpu: GpuSpec;
  readonly tensorParallel: number;
  /** Pods of the Deployment. */
  readonly replicas: number;
  /** Pods the group's nodes could hold. */
  readonly slots: number;
  readonly nodes: readonly string[];
  /** Per-GPU memory of one replica. */
  readonly memory: MemoryBreakdown;
  /** What one replica serves (the capacity model with `replicas: 1`). */
  readonly perReplica: CapacityEstimate;
  /** The group's limits at the router: the sum of its replicas' limits. */
  readonly routerRpm: number;
  readonly routerTpm: number;
  readonly requestsPerSecond: number;
  readonly tokensPerMonth: number;
  /** Surge into a free slot when there is one; otherwise replace one pod at a time. */
  readonly rollout: RolloutStrategy;
}

export interface Placement {
  readonly nodes: readonly NodePlacement[];
  readonly groups: readonly EngineGroup[];
  /** Nodes that cannot hold even one replica, with the fit planner's reason. */
  readonly unplaced: readonly { readonly node: string; readonly reason: string }[];
}

/** Kubernetes-safe group name from a catalog GPU id (ids are lowercase, digits and '-'). */
function groupName(gpuId: string, tp: number, tpIsAmbiguous: boolean): string {
  return tpIsAmbiguous ? `engine-${gpuId}-tp${tp}` : `engine-${gpuId}`;
}

export function placeEngines(r: PlacementRequest): Placement {
  const weights = weightBytes(r.model, r.quantization, r.model.variants.find((v) => v.quantization === r.quantization));
  const kvPerToken = kvBytesPerToken(r.model, kvDtypeBytes(r.kvCacheDtype));
  const avgTokens = r.avgInputTokens + r.avgOutputTokens;

  const fitted: { node: PlacementNode; tp: number; slots: number; memory: MemoryBreakdown }[] = [];
  const unplaced: { node: string; reason: string }[] = [];
  for (const node of r.nodes) {
    const outcome = fitOnHost({
      model: r.model, gpu: node.gpu, gpuCount: node.gpuCount, engine: r.engine, quantization: r.quantization,
      gpuMemoryUtilization: r.gpuMemoryUtilization, kvCacheDtype: r.kvCacheDtype, maxNumSeqs: r.maxNumSeqs,
      maxLoras: r.maxLoras, maxLoraRank: r.maxLoraRank, requiredContext: r.maxModelLen,
    });
    if (!outcome.fits) unplaced.push({ node: node.name, reason: outcome.reason });
    else fitted.push({ node, tp: outcome.fit.tensorParallel, slots: outcome.fit.replicas, memory: outcome.fit.memory });
  }

  // Group by card and tensor-parallel size, in the order nodes first appear.
  const keys: string[] = [];
  const members = new Map<string, typeof fitted>();
  for (const f of fitted) {
    const key = `${f.node.gpu.id}/${f.tp}`;
    if (!members.has(key)) {
      keys.push(key);
      members.set(key, []);
    }
    members.get(key)!.push(f);
  }
  const tpsPerGpu = new Map<string, Set<number>>();
  for (const f of fitted) tpsPerGpu.set(f.node.gpu.id, (tpsPerGpu.get(f.node.gpu.id) ?? new Set()).add(f.tp));

  const nodes: NodePlacement[] = [];
  const groups: EngineGroup[] = [];
  for (const key of keys) {
    const list = members.get(key)!;
    const first = list[0]!;
    const name = groupName(first.node.gpu.id, first.tp, (tpsPerGpu.get(first.node.gpu.id)?.size ?? 1) > 1);
    const slots = list.reduce((s, f) => s + f.slots, 0);
    const reserve = r.reserveSurgeSlot && slots >= 2 ? 1 : 0;
    // The reserved slot comes off the node with the most slots (the last such), keeping the spread even.
    let reservedAt = -1;
    if (reserve > 0) {
      list.forEach((f, i) => {
        if (reservedAt < 0 || f.slots >= list[reservedAt]!.slots) reservedAt = i;
      });
    }
    list.forEach((f, i) => {
      const replicas = f.slots - (i === reservedAt ? 1 : 0);
      nodes.push({
        node: f.node.name, gpu: f.node.gpu.id, gpuCount: f.node.gpuCount, group: name, tensorParallel: f.tp,
        slots: f.slots, replicas, gpusUsed: replicas * f.tp, memory: f.memory,
      });
    });
    const replicas = slots - reserve;
    const concurrency = Math.max(1, Math.min(r.maxNumSeqs, Math.floor(first.memory.kvTokens / avgTokens)));
    const perReplica = estimateCapacity({
      model: r.model, gpu: first.node.gpu, weightBytes: weights, kvBytesPerToken: kvPerToken, tensorParallel: first.tp,
      replicas: 1, avgInputTokens: r.avgInputTokens, avgOutputTokens: r.avgOutputTokens,
    }, concurrency, r.utilisation);
    groups.push({
      name,
      gpu: first.node.gpu,
      tensorParallel: first.tp,
      replicas,
      slots,
      nodes: list.map((f) => f.node.name),
      memory: first.memory,
      perReplica,
      routerRpm: perReplica.routerRpm * replicas,
      routerTpm: perReplica.routerTpm * replicas,
      requestsPerSecond: perReplica.requestsPerSecond * replicas,
      tokensPerMonth: perReplica.tokensPerMonth * replicas,
      rollout: replicas < slots ? { maxSurge: 1, maxUnavailable: 0 } : { maxSurge: 0, maxUnavailable: 1 },
    });
  }
  return { nodes, groups, unplaced };
}
