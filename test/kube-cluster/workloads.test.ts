/**
 * The kubernetes target on a real control plane (test/kube-cluster/control-plane.ts): the
 * prod-k8s stack as `cluster: existing`, its kubeconfig secret being the test cluster's, rendered
 * by the target's own renderers and taken through a deployment's life, in order: server-side
 * dry run, apply, placement, a second apply, an engine image update, a node drain, delete.
 *
 * How it is applied: the rendered manifests go to the API server as the provider sends them, by
 * server-side apply (`kubectl apply --server-side`), with the kubeconfig from the stack's
 * secret, so that each step (dry run, a watched rollout, a drain) can be driven and observed on
 * its own. `pulumi up` of the same stack with the real Kubernetes provider, which adds the
 * provider's diff, its await logic and its delete, is pulumi-up.test.ts.
 *
 * There is no kubelet and no GPU: kwok marks the nodes Ready and the pods Running and Ready
 * as soon as they are scheduled (its "fast" stages), and deletes pods once they terminate.
 * Scheduling, the GPU accounting (`nvidia.com/gpu`), the Deployment controller's rollouts,
 * EndpointSlices, PodDisruptionBudgets and evictions are the real Kubernetes code.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineSelector, kubernetesPart } from "../../core/render/kubernetes/workloads";
import { diagnoseScheduling } from "../../core/render/kubernetes/rollout-diagnosis";
import type { Manifest } from "../../core/render/kubernetes/types";
import { type ControlPlane, type KubectlResult, startControlPlane, waitFor } from "./control-plane";
import {
  AvailabilityRecorder, EndpointRecorder, NodeHealthRecorder, type PdbObject, deploymentAvailable, getDeployment, listPods, podReady, podsPerNode,
} from "./observe";
import {
  CPU_NODE_NAME, type Rendered, TestSecrets, createNodes, existingClusterStack, fakeNodesFor, kubectlName, nodesReady, objectPath, render, yamlStream,
} from "./stack";
import { findKubeTools, skipUnlessBuilt } from "./tools";

const tools = findKubeTools();
const FIELD_MANAGER = "hybrid-inference";
const raw = existingClusterStack();

let cp: ControlPlane;
let secrets: TestSecrets;
let shipped: Rendered;
const nodeHealth = new NodeHealthRecorder();
/** Every kubectl output, checked for secret values at the end. */
const outputs: string[] = [];

async function kubectl(r: Rendered, args: readonly string[], manifests?: readonly Manifest<string>[]): Promise<KubectlResult> {
  const res = await cp.kubectl(args, { kubeconfigFile: r.kubeconfigFile, ...(manifests ? { input: yamlStream(manifests) } : {}) });
  outputs.push(res.stdout, res.stderr);
  return res;
}

const apply = (r: Rendered, manifests: readonly Manifest<string>[], dryRun = false): Promise<KubectlResult> =>
  kubectl(r, ["apply", "--server-side", `--field-manager=${FIELD_MANAGER}`, ...(dryRun ? ["--dry-run=server"] : []), "-f", "-"], manifests);

function ns(): string {
  return shipped.plan.spec.kubernetes.namespace;
}

function deployments(r: Rendered): string[] {
  return r.manifests.filter((m) => m.kind === "Deployment").map((m) => m.metadata.name);
}

async function waitAvailable(r: Rendered, timeoutMs: number): Promise<void> {
  await waitFor("every Deployment Available", async () => {
    for (const name of deployments(r)) if (!deploymentAvailable(await getDeployment(cp.api, ns(), name))) return false;
    return true;
  }, timeoutMs, () => cp.logTail("kube-controller-manager", 20));
}

describe("the prod-k8s workloads on a real control plane (cluster: existing)", () => {
  beforeAll(async () => {
    if (tools.missing.length > 0) return;
    const t0 = Date.now();
    cp = await startControlPlane({ tools });
    secrets = new TestSecrets(raw, cp.kubeconfig);
    shipped = render(raw, secrets, cp.dir);
    const nodes = fakeNodesFor(raw);
    await createNodes(cp.api, nodes, shipped.plan.spec.kubernetes.runtime_class);
    await waitFor("the fake nodes Ready", () => nodesReady(cp.api, nodes), 120_000, () => cp.logTail("kwok", 20));
    await nodeHealth.start(cp.api);
    console.log(`[kube-cluster] control plane and ${nodes.length} nodes ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }, 300_000);

  afterAll(async () => {
    nodeHealth.stop();
    await cp?.stop();
  }, 60_000);

  it("has nodes named and labelled after the stack's hosts, with the GPUs it declares", async (ctx) => {
    skipUnlessBuilt(ctx, tools);
    const nodes = await cp.api.get<{ items: { metadata: { name: string; labels: Record<string, string> }; status: { allocatable: Record<string, string> } }[] }>("/api/v1/nodes");
    const got = nodes.items.map((n) => [n.metadata.name, n.metadata.labels["hybrid-inference/gpu"] ?? null, n.status.allocatable["nvidia.com/gpu"] ?? null]).sort();
    expect(got).toEqual([[CPU_NODE_NAME, null, null], ["k8s-gpu-4090", "rtx-4090", "2"], ["k8s-gpu-5090", "rtx-5090", "1"]]);
  });

  it("passes a server-side dry run for every rendered manifest, and the dry run is strict", async (ctx) => {
    skipUnlessBuilt(ctx, tools);
    const [namespace, ...rest] = shipped.manifests;
    const first = await apply(shipped, [namespace!], true);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`namespace/${ns()} serverside-applied (server dry run)`);
    // Namespaced objects can only be dry-run in a namespace that exists (pulumi creates it first, too).
    const created = await apply(shipped, [namespace!]);
    expect(created.code, created.stderr).toBe(0);

    const dry = await apply(shipped, rest, true);
    expect(dry.code, dry.stderr).toBe(0);
    for (const m of rest) expect(dry.stdout).toContain(`${kubectlName(m)} serverside-applied (server dry run)`);
    for (const m of rest) expect((await cp.api.request("GET", objectPath(m))).status, `${kubectlName(m)} exists after a dry run`).toBe(404);

    // The server checks what the JSON schemas cannot: an extended resource's request must equal its limit.
    const engine = rest.find((m) => m.kind === "Deployment" && m.metadata.name.startsWith("engine-"));
    if (engine?.kind !== "Deployment") throw new Error("no engine Deployment rendered");
    const c = engine.spec.template.spec.containers[0]!;
    const bad = { ...engine, spec: { ...engine.spec, template: { ...engine.spec.template, spec: { ...engine.spec.template.spec, containers: [{ ...c, resources: { requests: { ...c.resources.requests, "nvidia.com/gpu": "1" }, limits: { "nvidia.com/gpu": "2" } } }] } } } };
    const refused = await apply(shipped, [bad], true);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("must be equal to nvidia.com/gpu limit of 2");
  }, 60_000);

  it("applies server-side; every Deployment becomes Available and each engine replica lands where the plan places it", async (ctx) => {
    skipUnlessBuilt(ctx, tools);
    const t0 = Date.now();
    const res = await apply(shipped, shipped.manifests);
    expect(res.code, res.stderr).toBe(0);
    await waitAvailable(shipped, 120_000);
    console.log(`[kube-cluster] apply to all Deployments Available: ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const placement = kubernetesPart(shipped.plan).placement;
    const engines = (await listPods(cp.api, ns(), engineSelector(shipped.plan))).items;
    const expected = Object.fromEntries(placement.nodes.filter((n) => n.replicas > 0).map((n) => [n.node, n.replicas]));
    expect(podsPerNode(engines)).toEqual(expected);
    expect(expected).toEqual({ "k8s-gpu-4090": 2, "k8s-gpu-5090": 1 });
    for (const g of placement.groups) {
      const pods = engines.filter((p) => p.metadata.labels?.["hybrid-inference/engine-group"] === g.name);
      expect(pods.map((p) => p.spec.nodeName).sort(), g.name).toEqual(placement.nodes.filter((n) => n.group === g.name).flatMap((n) => Array<string>(n.replicas).fill(n.node)).sort());
      expect(pods.every(podReady)).toBe(true);
    }
    // Every engine pod is scheduled: the diagnosis agrees.
    for (const w of shipped.workloads.engines) {
      expect(diagnoseScheduling({ workload: w, nodes: placement.nodes, pods: engines, now: Date.now() }).state).toBe("scheduled");
    }
  }, 180_000);

  it("changes nothing on a second apply of the same manifests", async (ctx) => {
    skipUnlessBuilt(ctx, tools);
    interface Meta { metadata: { resourceVersion: string; generation?: number; managedFields?: { manager: string; operation: string; time?: string; fieldsV1?: unknown }[] } }
    const snapshot = async (): Promise<Map<string, { rv: string; generation?: number; applied: string }>> => {
      const out = new Map<string, { rv: string; generation?: number; applied: string }>();
      for (const m of shipped.manifests) {
        const o = await cp.api.get<Meta>(objectPath(m));
        const mine = o.metadata.managedFields?.find((f) => f.manager === FIELD_MANAGER && f.operation === "Apply");
        out.set(kubectlName(m), { rv: o.metadata.resourceVersion, generation: o.metadata.generation, applied: JSON.stringify([mine?.time, mine?.fieldsV1]) });
      }
      return out;
    };
    const before = await snapshot();
    const res = await apply(shipped, shipped.manifests);
    expect(res.code, res.stderr).toBe(0);
    const after = await snapshot();
    // Controllers write the status of Deployments, autoscalers and budgets; nobody else writes the rest.
    const statusWritten = new Set(["Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget"]);
    for (const m of shipped.manifests) {
      const name = kubectlName(m);
      const b = before.get(name)!;
      const a = after.get(name)!;
      expect(a.generation, `${name} generation`).toBe(b.generation);
      expect(a.applied, `${name}: the apply changed its managed fields`).toBe(b.applied);
      if (!statusWritten.has(m.kind)) expect(a.rv, `${name} resourceVersion`).toBe(b.rv);
    }
  }, 60_000);

  it("rolls out an engine image change with engine replicas available throughout", async (ctx) => {
    skipUnlessBuilt(ctx, tools);
    const updatedRaw = existingClusterStack((v) => ({ ...v, engine: { ...(v["engine"] as object), version: "v0.33.1" } }));
    const updated = render(updatedRaw, secrets, cp.dir);
    const groups = kubernetesPart(updated.plan).placement.groups;
    const image = (r: Rendered, name: string): string => {
      const d = r.manifests.find((m) => m.kind === "Deployment" && m.metadata.name === name);
      return d?.kind === "Deployment" ? d.spec.template.spec.containers[0]!.image : "";
    };
    for (const g of groups) expect(image(updated, g.name)).toBe("vllm/vllm-openai:v0.33.1");
    expect(image(shipped, groups[0]!.name)).not.toBe(image(updated, groups[0]!.name));

    const pods = new AvailabilityRecorder(groups.map((g) => g.name));
    const endpoints = new EndpointRecorder(groups.map((g) => g.name));
    await pods.start(cp.api, ns(), engineSelector(updated.plan));
    await endpoints.start(cp.api, ns());
    expect(endpoints.current()).toBe(groups.reduce((s, g) => s + g.replicas, 0));
    try {
      const res = await apply(updated, updated.manifests);
      expect(res.code, res.stderr).toBe(0);
      await waitFor("the engines rolled out", async () => {
        for (const g of groups) {
          const d = await getDeployment(cp.api, ns(), g.name);
          if (!deploymentAvailable(d) || d.spec.template.spec.containers[0]!.image !== "vllm/vllm-openai:v0.33.1") return false;
        }
        const all = (await listPods(cp.api, ns(), engineSelector(updated.plan))).items;
        return all.length === groups.reduce((s, g) => s + g.replicas, 0) && all.every((p) => p.spec.containers[0]!.image === "vllm/vllm-openai:v0.33.1" && podReady(p));
      }, 120_000, () => pods.events.join("\n"));
      // Let the endpoint controller catch up with the last pod.
      await waitFor("engine endpoints back to full", () => endpoints.current() === groups.reduce((s, g) => s + g.replicas, 0), 30_000);
    } finally {
      pods.stop();
      endpoints.stop();
    }
    console.log(`[kube-cluster] fewest ready engine pods during the rollout: ${groups.map((g) => `${g.name} ${pods.minimumReady(g.name)} of ${g.replicas}`).join(", ")}; all groups ${pods.minimumTotal()}; ready endpoints ${endpoints.minimumTotal()}`);
    // Each group keeps what its rollout strategy promises (replicas - maxUnavailable), so the
    // 4090 group (2 replicas, maxUnavailable 1) always serves, and the router always has an engine.
    for (const g of groups) expect(pods.minimumReady(g.name), `${g.name} during the rollout:\n${pods.events.join("\n")}`).toBeGreaterThanOrEqual(g.replicas - g.rollout.maxUnavailable);
    expect(pods.minimumTotal()).toBeGreaterThanOrEqual(1);
    expect(endpoints.minimumTotal()).toBeGreaterThanOrEqual(1);
    expect(pods.events.some((e) => e.includes(" DELETED "))).toBe(true);
    // The placement is unchanged by the update.
    const engines = (await listPods(cp.api, ns(), engineSelector(updated.plan))).items;
    expect(podsPerNode(engines)).toEqual({ "k8s-gpu-4090": 2, "k8s-gpu-5090": 1 });
    shipped = updated;
  }, 180_000);

  it("holds a node drain back with the engines' PodDisruptionBudget (HTTP 429) while it would break the budget", async (ctx) => {
    skipUnlessBuilt(ctx, tools);
    const group = kubernetesPart(shipped.plan).placement.groups.find((g) => g.replicas >= 2)!;
    const node = kubernetesPart(shipped.plan).placement.nodes.find((n) => n.group === group.name && n.replicas >= 2)!.node;
    const pdbPath = `/apis/policy/v1/namespaces/${ns()}/poddisruptionbudgets/${group.name}`;
    const budgetIs = (allowed: number) => async (): Promise<boolean> => {
      const pdb = await cp.api.get<PdbObject>(pdbPath);
      return pdb.status?.observedGeneration === pdb.metadata.generation && pdb.status?.currentHealthy === group.replicas && pdb.status?.disruptionsAllowed === allowed;
    };
    await waitFor(`${group.name}'s budget to allow one disruption`, budgetIs(1), 30_000);

    const evict = (pod: string) => cp.api.request<{ message?: string; reason?: string }>("POST", `/api/v1/namespaces/${ns()}/pods/${pod}/eviction`, {
      apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod, namespace: ns() },
    });
    const cordon = (unschedulable: boolean) => cp.api.must("PATCH", `/api/v1/nodes/${node}`, { spec: { unschedulable } }, "application/strategic-merge-patch+json");
    // As `kubectl drain` does: cordon, then evict every pod on the node through the eviction API.
    await cordon(true);
    try {
      const onNode = (await listPods(cp.api, ns(), engineSelector(shipped.plan, group.name))).items.filter((p) => p.spec.nodeName === node);
      expect(onNode.length).toBe(2);
      const [a, b] = onNode.map((p) => p.metadata.name) as [string, string];
      expect((await evict(a)).status).toBe(201);
      await waitFor(`${a} gone`, async () => (await cp.api.request("GET", `/api/v1/namespaces/${ns()}/pods/${a}`)).status === 404, 30_000);
      // Its replacement cannot go anywhere (the only rtx-4090 node is cordoned): one replica is left.
      const second = await evict(b);
      expect(second.status).toBe(429);
      expect(second.body.reason).toBe("TooManyRequests");
      expect(second.body.message).toContain("disruption budget");
      expect(podReady(await cp.api.get(`/api/v1/namespaces/${ns()}/pods/${b}`))).toBe(true);

      // The replacement waits, and the diagnosis says why.
      const all = (await listPods(cp.api, ns(), engineSelector(shipped.plan))).items;
      const workload = shipped.workloads.engines.find((w) => w.group.name === group.name)!;
      await waitFor("the replacement marked unschedulable", async () => {
        const v = diagnoseScheduling({ workload, nodes: kubernetesPart(shipped.plan).placement.nodes, pods: (await listPods(cp.api, ns(), engineSelector(shipped.plan))).items, now: Date.now() });
        return v.state === "waiting" && v.message.includes("cordoned");
      }, 30_000, () => JSON.stringify(all.map((p) => p.status?.conditions), null, 1));
    } finally {
      await cordon(false);
    }
    // Uncordoned, the replacement starts, the budget is whole again, and the same eviction is admitted.
    await waitFor(`${group.name}'s budget whole again`, budgetIs(1), 60_000);
    const remaining = (await listPods(cp.api, ns(), engineSelector(shipped.plan, group.name))).items.filter((p) => p.spec.nodeName === node);
    expect(remaining.length).toBe(2);
    const again = await evict(remaining[0]!.metadata.name);
    expect(again.status).toBe(201);

    // A single-replica group is drainable by design (maxUnavailable 1; the router spills to the managed tier meanwhile).
    const single = kubernetesPart(shipped.plan).placement.groups.find((g) => g.replicas === 1)!;
    await waitFor(`${single.name}'s budget computed`, async () => {
      const pdb = await cp.api.get<PdbObject>(`/apis/policy/v1/namespaces/${ns()}/poddisruptionbudgets/${single.name}`);
      return pdb.status?.observedGeneration === pdb.metadata.generation && pdb.status?.disruptionsAllowed === 1;
    }, 30_000);
    const lone = (await listPods(cp.api, ns(), engineSelector(shipped.plan, single.name))).items[0]!;
    expect((await evict(lone.metadata.name)).status).toBe(201);
    await waitAvailable(shipped, 60_000);
  }, 240_000);

  it("deletes everything it applied", async (ctx) => {
    skipUnlessBuilt(ctx, tools);
    const res = await kubectl(shipped, ["delete", "--wait=true", "--timeout=120s", "-f", "-"], [...shipped.manifests].reverse());
    expect(res.code, res.stderr).toBe(0);
    for (const m of shipped.manifests) {
      expect((await cp.api.request("GET", objectPath(m))).status, `${kubectlName(m)} after delete`).toBe(404);
    }
    // The namespace's contents went with it: no pod of the stack is left anywhere, no GPU is held.
    const leftovers = await cp.api.get<{ items: unknown[] }>(`/api/v1/pods?labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${shipped.plan.spec.stack}`)}`);
    expect(leftovers.items).toEqual([]);
    const rs = await cp.api.get<{ items: unknown[] }>(`/apis/apps/v1/replicasets?labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${shipped.plan.spec.stack}`)}`);
    expect(rs.items).toEqual([]);
  }, 180_000);

  it("kept every simulated node Ready throughout (else a failure above may be the simulation's)", (ctx) => {
    skipUnlessBuilt(ctx, tools);
    expect(nodeHealth.lapses).toEqual([]);
  });

  it("never printed a secret value", (ctx) => {
    skipUnlessBuilt(ctx, tools);
    const text = outputs.join("\n");
    for (const v of secrets.all()) expect(text.includes(v), "a secret value reached kubectl's output").toBe(false);
  });
});
