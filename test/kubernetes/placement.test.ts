import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GPUS, MODELS, requireGpu, requireModel } from "../../core/catalog";
import { tensorParallelOptions } from "../../core/plan/fit";
import { bytesNeededFor } from "../../core/plan/memory";
import { type PlacementRequest, placeEngines } from "../../core/plan/placement";

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
    const p = placeEngines(base());
    expect(p.unplaced).toEqual([]);
    expect(p.nodes.map((n) => [n.node, n.group, n.tensorParallel, n.slots, n.replicas, n.gpusUsed])).toEqual([
      ["a", "engine-rtx-4090", 1, 2, 2, 2],
      ["b", "engine-rtx-5090", 1, 1, 1, 1],
    ]);
    expect(p.groups.map((g) => [g.name, g.replicas, g.nodes])).toEqual([["engine-rtx-4090", 2, ["a"]], ["engine-rtx-5090", 1, ["b"]]]);
  });

  it("gives a card that needs two GPUs per replica tensor parallel 2, and refuses a node that cannot hold one", () => {
    const p = placeEngines(base({ model: requireModel("llama-3.3-70b-instruct"), maxModelLen: 8192 }));
    expect(p.groups.map((g) => [g.name, g.tensorParallel, g.replicas])).toEqual([["engine-rtx-4090", 2, 1]]);
    expect(p.unplaced.map((u) => u.node)).toEqual(["b"]);
    expect(p.unplaced[0]!.reason).toMatch(/needs .* GiB/);
  });

  it("weights groups by what their replicas serve", () => {
    const p = placeEngines(base());
    for (const g of p.groups) {
      expect(g.routerRpm).toBe(g.perReplica.routerRpm * g.replicas);
      expect(g.routerTpm).toBe(g.perReplica.routerTpm * g.replicas);
      expect(g.perReplica.requestsPerSecond).toBeGreaterThan(0);
    }
  });

  it("reserves one slot per group of two or more for surge updates, taken from the node with most slots", () => {
    const p = placeEngines(base({
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
      const p = placeEngines(r);
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

  it("places every node or says why not, and groups add up to their nodes", () => {
    fc.assert(fc.property(arbRequest, (r) => {
      const p = placeEngines(r);
      expect([...p.nodes.map((n) => n.node), ...p.unplaced.map((u) => u.node)].sort()).toEqual(r.nodes.map((n) => n.name).sort());
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
