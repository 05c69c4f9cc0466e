import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GPUS, MODELS, requireGpu, requireModel } from "../../core/catalog";
import type { EngineKind, GpuSpec, ModelSpec, Quantization } from "../../core/catalog/types";
import { loadPlan } from "../../core/load";
import { fitOnHost, tensorParallelOptions } from "../../core/plan/fit";
import { hostPlan } from "../../core/plan/hosts";
import { bytesNeededFor, weightBytes } from "../../core/plan/memory";
import { placeEngines } from "../../core/plan/placement";
import type { Placement } from "../../core/plan/types";
import type { HostPlan } from "../../core/plan/types";
import { rawConfig } from "../fixtures";
import { k8sValues } from "./fixtures";

/** What the planner knows when it places engines: the model, its weight format and context, the engine settings, the nodes. */
interface PlacementRequest {
  readonly model: ModelSpec;
  readonly quantization: Quantization;
  readonly engine: EngineKind;
  readonly gpuMemoryUtilization: number;
  readonly kvCacheDtype: "auto" | "fp8";
  readonly maxNumSeqs: number;
  readonly maxLoras: number;
  readonly maxLoraRank: number;
  readonly maxModelLen: number;
  readonly avgInputTokens: number;
  readonly avgOutputTokens: number;
  readonly utilisation: number;
  readonly nodes: readonly { readonly name: string; readonly gpu: GpuSpec; readonly gpuCount: number }[];
  readonly reserveSurgeSlot: boolean;
}

/** The nodes fitted as the planner fits hosts (nodes that cannot hold one replica are left out: the planner refuses those stacks). */
function fittedHosts(r: PlacementRequest): HostPlan[] {
  return r.nodes.flatMap((n) => {
    const o = fitOnHost({
      model: r.model, gpu: n.gpu, gpuCount: n.gpuCount, engine: r.engine, quantization: r.quantization, gpuMemoryUtilization: r.gpuMemoryUtilization,
      kvCacheDtype: r.kvCacheDtype, maxNumSeqs: r.maxNumSeqs, maxLoras: r.maxLoras, maxLoraRank: r.maxLoraRank, requiredContext: r.maxModelLen,
    });
    if (!o.fits) return [];
    return [hostPlan(
      { name: n.name, address: "10.0.0.1", ssh_user: "ubuntu", ssh_port: 22, datacenter: "uk-london", gpu: n.gpu.id, gpu_count: n.gpuCount },
      n.gpu, r.model, o.fit, weightBytes(r.model, r.quantization, o.fit.variant), r.maxModelLen,
      { kind: r.engine, gpuMemoryUtilization: r.gpuMemoryUtilization, kvCacheDtype: r.kvCacheDtype, maxNumSeqs: r.maxNumSeqs, maxLoras: r.maxLoras, maxLoraRank: r.maxLoraRank },
      { avg_input_tokens: r.avgInputTokens, avg_output_tokens: r.avgOutputTokens, utilisation: r.utilisation },
    )];
  });
}

function place(r: PlacementRequest): Placement {
  return placeEngines(fittedHosts(r), r.reserveSurgeSlot);
}

const base = (over: Partial<PlacementRequest> = {}): PlacementRequest => ({
  model: requireModel("qwen2.5-32b-instruct"),
  quantization: "awq",
  engine: "vllm",
  gpuMemoryUtilization: 0.92,
  kvCacheDtype: "fp8",
  maxNumSeqs: 32,
  maxLoras: 0,
  maxLoraRank: 0,
  maxModelLen: 16384,
  avgInputTokens: 2000,
  avgOutputTokens: 400,
  utilisation: 0.6,
  nodes: [
    { name: "a", gpu: requireGpu("rtx-4090"), gpuCount: 2 },
    { name: "b", gpu: requireGpu("rtx-5090"), gpuCount: 1 },
  ],
  reserveSurgeSlot: false,
  ...over,
});

describe("placement across mixed hosts", () => {
  it("puts Qwen 2.5 32B AWQ on every card that holds it: two replicas on 2x RTX 4090, one on 1x RTX 5090", () => {
    const p = place(base());
    expect(p.nodes.map((n) => [n.node, n.group, n.tensorParallel, n.slots, n.replicas, n.gpusUsed])).toEqual([
      ["a", "engine-rtx-4090", 1, 2, 2, 2],
      ["b", "engine-rtx-5090", 1, 1, 1, 1],
    ]);
    expect(p.groups.map((g) => [g.name, g.replicas, g.nodes])).toEqual([["engine-rtx-4090", 2, ["a"]], ["engine-rtx-5090", 1, ["b"]]]);
  });

  it("gives a card that needs two GPUs per replica tensor parallel 2", () => {
    const p = place(base({ model: requireModel("llama-3.3-70b-instruct"), maxModelLen: 8192 }));
    expect(p.groups.map((g) => [g.name, g.tensorParallel, g.replicas])).toEqual([["engine-rtx-4090", 2, 1]]);
  });

  it("refuses a stack with a node that cannot hold one replica, naming the node and what it needs", () => {
    const { plan, issues } = loadPlan(rawConfig(k8sValues({
      model: { id: "llama-3.3-70b-instruct", quantization: "awq", max_model_len: 8192 },
      hosts: [
        { name: "node-a", address: "10.0.0.1", datacenter: "uk-london", gpu: "rtx-4090", gpu_count: 2 },
        { name: "node-b", address: "10.0.0.2", datacenter: "uk-london", gpu: "rtx-4090", gpu_count: 1 },
      ],
      access: { admin_cidrs: ["198.51.100.0/24"], hf_token_secret: "hfToken" },
      hfToken: "[secret]",
    }), ["sshPrivateKey", "togetherApiKey", "hfToken"]));
    expect(plan).toBeUndefined();
    const refusal = issues.find((i) => i.path === "hybrid-inference:hosts[1]");
    expect(refusal?.message).toMatch(/^llama-3\.3-70b-instruct does not fit host "node-b": .*needs .* GiB/);
  });

  it("weights groups at the router by what their replicas serve", () => {
    const { plan } = loadPlan(rawConfig(k8sValues()));
    if (plan?.target.kind !== "kubernetes") throw new Error("k8sValues does not plan for kubernetes");
    for (const g of plan.target.placement.groups) {
      const upstream = plan.router.upstreams.find((u) => u.name === g.name)!;
      expect(upstream.rpm).toBe(g.perReplica.routerRpm * g.replicas);
      expect(upstream.tpm).toBe(g.perReplica.routerTpm * g.replicas);
      expect(g.perReplica.requestsPerSecond).toBeGreaterThan(0);
    }
  });

  it("reserves one slot per group of two or more for surge updates, taken from the node with most slots", () => {
    const p = place(base({
      reserveSurgeSlot: true,
      nodes: [
        { name: "a", gpu: requireGpu("rtx-4090"), gpuCount: 1 },
        { name: "b", gpu: requireGpu("rtx-4090"), gpuCount: 3 },
        { name: "c", gpu: requireGpu("rtx-5090"), gpuCount: 1 },
      ],
    }));
    expect(p.nodes.map((n) => [n.node, n.slots, n.replicas])).toEqual([["a", 1, 1], ["b", 3, 2], ["c", 1, 1]]);
    expect(p.groups.map((g) => [g.name, g.slots, g.replicas, g.rollout])).toEqual([
      ["engine-rtx-4090", 4, 3, { maxSurge: 1, maxUnavailable: 0 }],
      // One slot: reserving it would leave nothing serving.
      ["engine-rtx-5090", 1, 1, { maxSurge: 0, maxUnavailable: 1 }],
    ]);
  });
});

describe("placement properties (fast-check)", () => {
  const vllmGpus = GPUS.filter((g) => g.quantizations.vllm.length > 0);
  const arbRequest = fc
    .record({
      model: fc.constantFrom(...MODELS),
      nodes: fc.array(fc.record({ gpu: fc.constantFrom(...vllmGpus), gpuCount: fc.integer({ min: 1, max: 8 }) }), { minLength: 1, maxLength: 5 }),
      kvCacheDtype: fc.constantFrom("auto" as const, "fp8" as const),
      gpuMemoryUtilization: fc.double({ min: 0.6, max: 0.95, noNaN: true }),
      maxNumSeqs: fc.integer({ min: 1, max: 256 }),
      maxModelLen: fc.integer({ min: 1, max: 32 }).map((k) => k * 1024),
      reserveSurgeSlot: fc.boolean(),
      variantIndex: fc.nat(),
    })
    .map((r): PlacementRequest => {
      const variant = r.model.variants[r.variantIndex % r.model.variants.length]!;
      return base({
        model: r.model,
        quantization: variant.quantization,
        kvCacheDtype: r.kvCacheDtype,
        gpuMemoryUtilization: r.gpuMemoryUtilization,
        maxNumSeqs: r.maxNumSeqs,
        maxModelLen: Math.min(r.maxModelLen, r.model.maxContext),
        reserveSurgeSlot: r.reserveSurgeSlot,
        nodes: r.nodes.map((n, i) => ({ name: `node-${i}`, gpu: n.gpu, gpuCount: n.gpuCount })),
      });
    });

  it("never puts more GPUs on a node than it has, and every replica's memory fits its card", () => {
    let placed = 0;
    fc.assert(fc.property(arbRequest, (r) => {
      const p = place(r);
      placed += p.nodes.length;
      for (const n of p.nodes) {
        const node = r.nodes.find((x) => x.name === n.node)!;
        expect(n.gpusUsed).toBeLessThanOrEqual(node.gpuCount);
        expect(n.slots * n.tensorParallel).toBeLessThanOrEqual(node.gpuCount);
        expect(n.replicas).toBeGreaterThanOrEqual(0);
        expect(n.replicas).toBeLessThanOrEqual(n.slots);
        expect(tensorParallelOptions(r.model, node.gpuCount)).toContain(n.tensorParallel);
        // Weights, activations, runtime, LoRA and the KV cache of one full-length sequence, per GPU.
        expect(bytesNeededFor(n.memory, r.maxModelLen)).toBeLessThanOrEqual(n.memory.budget);
        expect(n.memory.kvTokens).toBeGreaterThanOrEqual(r.maxModelLen);
        expect(n.memory.budget).toBeCloseTo(node.gpu.vramGiB * 1024 ** 3 * r.gpuMemoryUtilization, 0);
      }
    }), { numRuns: 300 });
    // Not vacuous: most generated nodes do get replicas.
    expect(placed).toBeGreaterThan(150);
  });

  it("places every fitted node, and groups add up to their nodes", () => {
    fc.assert(fc.property(arbRequest, (r) => {
      const hosts = fittedHosts(r);
      const p = placeEngines(hosts, r.reserveSurgeSlot);
      expect(p.nodes.map((n) => n.node).sort()).toEqual(hosts.map((h) => h.name).sort());
      for (const g of p.groups) {
        const members = p.nodes.filter((n) => n.group === g.name);
        expect(members.map((n) => n.node)).toEqual([...g.nodes]);
        expect(members.every((n) => n.gpu === g.gpu.id && n.tensorParallel === g.tensorParallel)).toBe(true);
        expect(g.replicas).toBe(members.reduce((s, n) => s + n.replicas, 0));
        expect(g.slots).toBe(members.reduce((s, n) => s + n.slots, 0));
        expect(g.replicas).toBeGreaterThanOrEqual(1);
        expect(g.slots - g.replicas).toBe(r.reserveSurgeSlot && g.slots >= 2 ? 1 : 0);
        // Surge only into a slot that is really free.
        expect(g.rollout.maxSurge === 1).toBe(g.slots > g.replicas);
        expect(g.rollout.maxSurge + g.rollout.maxUnavailable).toBe(1);
      }
      expect(new Set(p.groups.map((g) => g.name)).size).toBe(p.groups.length);
    }), { numRuns: 300 });
  });
});
