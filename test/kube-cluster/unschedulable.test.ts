/**
 * A stack that asks for more GPUs than the cluster has, on a real control plane: the cluster's
 * nodes are prod-k8s's hosts as they are (two RTX 4090 on one node, one RTX 5090 on the other),
 * but the stack declares four cards on the 4090 host. The plan places four replicas there; the
 * scheduler can place two, and the other two stay Pending. Kubernetes itself calls that a
 * failure only when the Deployment's progress deadline runs out (over twenty minutes for this
 * model); core/render/kubernetes/rollout-diagnosis.ts reads the scheduler's verdict from the
 * pods and fails the update after a deadline derived from the plan, naming the engine group
 * and the missing `nvidia.com/gpu`. Here the pure function is fed the real cluster's pods.
 *
 * Applied with `kubectl apply --server-side` until the Pulumi Kubernetes provider is built here
 * (see workloads.test.ts); wiring the diagnosis into the component comes with it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diagnoseScheduling, schedulingDeadlineSeconds } from "../../core/render/kubernetes/rollout-diagnosis";
import { engineSelector, kubernetesPart } from "../../core/render/kubernetes/workloads";
import { type ControlPlane, startControlPlane, waitFor } from "./control-plane";
import { type PodObject, getDeployment, listPods, podReady } from "./observe";
import { type Rendered, TestSecrets, createNodes, existingClusterStack, fakeNodesFor, nodesReady, render, yamlStream } from "./stack";
import { findKubeTools, skipUnlessBuilt } from "./tools";

const tools = findKubeTools();
/** The cluster: prod-k8s's hosts as they are. */
const actual = existingClusterStack();
/** The stack: four cards declared on the 4090 host, which has two. */
const overcommitted = existingClusterStack((v) => ({
  ...v,
  hosts: (v["hosts"] as Record<string, unknown>[]).map((h) => (h["gpu"] === "rtx-4090" ? { ...h, gpu_count: 4 } : h)),
}));

let cp: ControlPlane;
let r: Rendered;
let pods: PodObject[];

describe("a stack asking for more GPUs than the nodes have", () => {
  beforeAll(async () => {
    if (tools.missing.length > 0) return;
    cp = await startControlPlane({ tools });
    const nodes = fakeNodesFor(actual);
    await createNodes(cp.api, nodes);
    await waitFor("the fake nodes Ready", () => nodesReady(cp.api, nodes), 120_000, () => cp.logTail("kwok", 20));
    r = render(overcommitted, new TestSecrets(overcommitted, cp.kubeconfig), cp.dir);
  }, 300_000);

  afterAll(async () => {
    await cp?.stop();
  }, 60_000);

  it("is planned for four 4090 replicas; two start and two stay Pending, unschedulable for want of nvidia.com/gpu", async (ctx) => {
    skipUnlessBuilt(ctx, tools);
    const group = kubernetesPart(r.plan).placement.groups.find((g) => g.gpu.id === "rtx-4090")!;
    expect(group.replicas).toBe(4);
    const res = await cp.kubectl(["apply", "--server-side", "--field-manager=hybrid-inference", "-f", "-"], { kubeconfigFile: r.kubeconfigFile, input: yamlStream(r.manifests) });
    expect(res.code, res.stderr).toBe(0);

    const ns = r.plan.spec.kubernetes.namespace;
    await waitFor("two 4090 pods running and two marked unschedulable", async () => {
      pods = (await listPods(cp.api, ns, engineSelector(r.plan))).items;
      const mine = pods.filter((p) => p.metadata.labels?.["hybrid-inference/engine-group"] === group.name);
      const unschedulable = mine.filter((p) => p.status?.conditions?.some((c) => c.type === "PodScheduled" && c.reason === "Unschedulable"));
      return mine.length === 4 && mine.filter(podReady).length === 2 && unschedulable.length === 2;
    }, 60_000, () => cp.logTail("kube-scheduler", 20));
    const running = pods.filter((p) => p.spec.nodeName);
    expect(running.filter((p) => p.spec.nodeName === "k8s-gpu-4090").length).toBe(2);
    expect(running.filter((p) => p.spec.nodeName === "k8s-gpu-5090").length).toBe(1);

    // Kubernetes alone reports nothing conclusive: the Deployment is short of availability but still "progressing".
    const d = await getDeployment(cp.api, ns, group.name);
    expect(d.status?.conditions?.find((c) => c.type === "Available")?.status).toBe("False");
    expect(d.status?.conditions?.find((c) => c.type === "Progressing")?.status).toBe("True");
  }, 120_000);

  it("fails the update after the plan's scheduling deadline, naming the engine group and the missing nvidia.com/gpu", (ctx) => {
    skipUnlessBuilt(ctx, tools);
    const placement = kubernetesPart(r.plan).placement;
    const workload = r.workloads.engines.find((w) => w.group.gpu.id === "rtx-4090")!;
    const deadline = schedulingDeadlineSeconds(workload);
    // The shipped value: one termination grace period (60 s) + the scheduler's longest back-off (10 s) + 30 s.
    expect(deadline).toBe(100);
    // ... far sooner than Kubernetes' own verdict, the Deployment's progress deadline.
    expect(workload.deployment.spec.progressDeadlineSeconds).toBeGreaterThan(10 * deadline);

    const created = Math.max(...pods.filter((p) => !p.spec.nodeName).map((p) => Date.parse(p.metadata.creationTimestamp!)));
    const early = diagnoseScheduling({ workload, nodes: placement.nodes, pods, now: created + 5_000 });
    expect(early.state).toBe("waiting");
    if (early.state !== "waiting") throw new Error("unreachable");
    expect(early.secondsLeft).toBeGreaterThan(deadline - 10);

    const late = diagnoseScheduling({ workload, nodes: placement.nodes, pods, now: created + (deadline + 1) * 1000 });
    expect(late.state).toBe("failed");
    if (late.state !== "failed") throw new Error("unreachable");
    expect(late.unscheduled.map((u) => u.insufficient)).toEqual([["nvidia.com/gpu"], ["nvidia.com/gpu"]]);
    const lines = late.message.split("\n").map((l) => l.trim());
    expect(lines[0]).toBe(`engine group engine-rtx-4090: 2 pods of 4 found no node within ${deadline} s`);
    expect(lines[1]).toContain("missing nvidia.com/gpu: the nodes labelled hybrid-inference/gpu=rtx-4090 have too few free nvidia.com/gpu");
    expect(lines[1]).toContain("The plan expects k8s-gpu-4090: 4 replicas on 4 x rtx-4090 declared");
    // The scheduler's own words, as the real scheduler wrote them.
    expect(lines[2]).toMatch(/^scheduler: 0\/3 nodes are available: 1 Insufficient nvidia\.com\/gpu, 2 node\(s\) didn't match Pod's node affinity\/selector\./);
    console.log(`[kube-cluster] the message a user would see:\n${late.message}`);

    // The 5090 group fits: nothing to report there, whatever the time.
    const fits = r.workloads.engines.find((w) => w.group.gpu.id === "rtx-5090")!;
    expect(diagnoseScheduling({ workload: fits, nodes: placement.nodes, pods, now: created + 3_600_000 }).state).toBe("scheduled");
  });
});
