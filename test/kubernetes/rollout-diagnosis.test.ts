/**
 * The scheduling diagnosis on the pod statuses kube-scheduler writes (messages in the format of
 * its FitError, pkg/scheduler/framework/types.go in Kubernetes v1.36.3). test/kube-cluster
 * feeds it a real scheduler's pods; these cover the cases that cluster does not produce.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type PodView, diagnoseScheduling, insufficientResources, schedulingDeadlineSeconds } from "../../core/render/kubernetes/rollout-diagnosis";
import { type EngineWorkload, kubernetesPart, renderKubernetesWorkloads } from "../../core/render/kubernetes/workloads";
import { shippedPlan } from "./fixtures";

const plan = shippedPlan("prod-k8s");
const workloads = renderKubernetesWorkloads(plan);
const w4090 = workloads.engines.find((w) => w.group.name === "engine-rtx-4090")!;
const nodes = kubernetesPart(plan).placement.nodes;
const T0 = Date.parse("2026-12-01T10:00:00Z");

function pod(name: string, o: { group?: string; node?: string; message?: string; createdAt?: number; deleting?: boolean; phase?: string } = {}): PodView {
  return {
    metadata: {
      name,
      labels: { "hybrid-inference/engine-group": o.group ?? "engine-rtx-4090" },
      creationTimestamp: new Date(o.createdAt ?? T0).toISOString(),
      ...(o.deleting ? { deletionTimestamp: new Date(T0).toISOString() } : {}),
    },
    spec: o.node ? { nodeName: o.node } : {},
    status: {
      phase: o.phase ?? (o.node ? "Running" : "Pending"),
      conditions: o.message ? [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: o.message, lastTransitionTime: new Date(o.createdAt ?? T0).toISOString() }] : [],
    },
  };
}

const GPU_SHORT = "0/3 nodes are available: 1 Insufficient nvidia.com/gpu, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.";

describe("schedulingDeadlineSeconds", () => {
  it("is one termination grace period of the engine pods plus the scheduler's back-off and slack: 100 s for prod-k8s", () => {
    expect(w4090.deployment.spec.template.spec.terminationGracePeriodSeconds).toBe(60);
    expect(schedulingDeadlineSeconds(w4090)).toBe(100);
    // Far below the Deployment's progress deadline, which is what Kubernetes would wait for otherwise.
    expect(w4090.deployment.spec.progressDeadlineSeconds).toBe(1320);
  });

  it("follows the pod template's grace period", () => {
    const spec = w4090.deployment.spec;
    const shorter: EngineWorkload = { ...w4090, deployment: { ...w4090.deployment, spec: { ...spec, template: { ...spec.template, spec: { ...spec.template.spec, terminationGracePeriodSeconds: 5 } } } } };
    expect(schedulingDeadlineSeconds(shorter)).toBe(45);
  });
});

describe("insufficientResources", () => {
  it("lists each resource the scheduler found short, once, in its order", () => {
    expect(insufficientResources(GPU_SHORT)).toEqual(["nvidia.com/gpu"]);
    expect(insufficientResources("0/4 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 2 Insufficient nvidia.com/gpu. preemption: 0/4 nodes are available: 4 No preemption victims found for incoming pod.")).toEqual(["cpu", "memory", "nvidia.com/gpu"]);
    expect(insufficientResources("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.")).toEqual([]);
  });
});

describe("diagnoseScheduling", () => {
  it("reports a group whose every live pod has a node as scheduled, ignoring other groups and terminating pods", () => {
    const pods = [
      pod("a", { node: "k8s-gpu-4090" }), pod("b", { node: "k8s-gpu-4090" }),
      pod("c", { deleting: true, message: GPU_SHORT }),
      pod("d", { group: "engine-rtx-5090", message: GPU_SHORT, createdAt: T0 - 3_600_000 }),
    ];
    expect(diagnoseScheduling({ workload: w4090, nodes, pods, now: T0 + 3_600_000 })).toEqual({ state: "scheduled" });
  });

  it("waits up to the deadline and fails one second after it, for any wait", () => {
    const deadline = schedulingDeadlineSeconds(w4090);
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 * deadline }), (waited) => {
      const v = diagnoseScheduling({ workload: w4090, nodes, pods: [pod("p", { message: GPU_SHORT })], now: T0 + waited * 1000 });
      expect(v.state).toBe(waited > deadline ? "failed" : "waiting");
      if (v.state === "waiting") expect(v.secondsLeft).toBe(deadline - waited);
    }));
  });

  it("names the group, the missing nvidia.com/gpu, what the plan expects where, and quotes the scheduler", () => {
    const v = diagnoseScheduling({ workload: w4090, nodes, pods: [pod("a", { node: "k8s-gpu-4090" }), pod("b", { message: GPU_SHORT })], now: T0 + 101_000 });
    if (v.state !== "failed") throw new Error(`expected failed, got ${v.state}`);
    expect(v.message.split("\n").map((l) => l.trim())).toEqual([
      "engine group engine-rtx-4090: 1 pod of 2 found no node within 100 s",
      "missing nvidia.com/gpu: the nodes labelled hybrid-inference/gpu=rtx-4090 have too few free nvidia.com/gpu for them (each pod asks for 1 nvidia.com/gpu on a node labelled hybrid-inference/gpu=rtx-4090). " +
        "The plan expects k8s-gpu-4090: 2 replicas on 2 x rtx-4090 declared. Check what each node advertises (kubectl describe node k8s-gpu-4090: Allocatable nvidia.com/gpu); " +
        "if a node has fewer cards than its host's gpu_count, set gpu_count to what it has; if the cards are there, NVIDIA's device plugin is not advertising them",
      `scheduler: ${GPU_SHORT}`,
    ]);
  });

  it("says when no node carries the group's GPU label", () => {
    const msg = "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";
    const v = diagnoseScheduling({ workload: w4090, nodes, pods: [pod("a", { message: msg })], now: T0 + 200_000 });
    expect(v.state).toBe("failed");
    expect(v.state === "failed" && v.message).toContain("no node is labelled hybrid-inference/gpu=rtx-4090: label this group's nodes (kubectl label node k8s-gpu-4090 hybrid-inference/gpu=rtx-4090)");
  });

  it("says when nodes are cordoned, and when no scheduler has looked at the pods", () => {
    const cordoned = "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";
    const v = diagnoseScheduling({ workload: w4090, nodes, pods: [pod("a", { message: cordoned })], now: T0 + 10_000 });
    expect(v.state === "waiting" && v.message).toContain("1 node cordoned (a drain in progress?)");
    const none = diagnoseScheduling({ workload: w4090, nodes, pods: [pod("a"), pod("b")], now: T0 + 500_000 });
    expect(none.state === "failed" && none.message).toContain("no scheduler has looked at them: check that kube-scheduler runs");
  });

  it("names short CPU or memory apart from GPUs", () => {
    const msg = "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector.";
    const v = diagnoseScheduling({ workload: w4090, nodes, pods: [pod("a", { message: msg })], now: T0 + 200_000 });
    expect(v.state === "failed" && v.message).toContain("too little cpu left on the GPU nodes");
    expect(v.state === "failed" && v.message).not.toContain("missing nvidia.com/gpu");
  });
});
