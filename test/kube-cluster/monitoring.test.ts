/**
 * The kubernetes target's monitoring (core/render/monitoring/kubernetes.ts) on a real control plane
 * (test/kube-cluster/control-plane.ts): prod-k8s as `cluster: existing`, its monitoring on (prod's
 * default), rendered by the target's renderers.
 *
 * - Every monitoring manifest passes a server-side dry run beside the workloads; applied, each
 *   exporter DaemonSet runs one pod on every node of its GPU model and none elsewhere, and
 *   Prometheus becomes Available.
 * - Prometheus's ServiceAccount may list and watch pods in the stack's namespace, and nothing else
 *   (the API server's RBAC answers, `kubectl auth can-i`).
 * - A real Prometheus 2.53 (built from the Go module: Debian's has no Kubernetes discovery), with
 *   the rendered scrape configuration and rules and that ServiceAccount's own token, discovers the
 *   stack's pods through the API server and scrapes them; stand-ins listen on each pod's address
 *   (the nodes' pod CIDRs are loopback ranges: nothing leaves 127.0.0.0/8). The targets carry the
 *   labels the rules and dashboards read, and a replica that stops answering is EngineDown and
 *   EngineReplicasMissing.
 * - With the Prometheus Operator: its PodMonitors and PrometheusRule pass a server-side dry run
 *   against the operator's own CRDs (from its Go module), which refuse a misspelt field.
 *
 * kwok runs no containers: pods are Running with an address as soon as they are scheduled, and
 * NetworkPolicies are stored but not enforced (no CNI).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { resolveSecrets } from "../../core/render/kubernetes/files";
import type { Manifest } from "../../core/render/kubernetes/types";
import { GPU_LABEL, engineSelector, kubernetesPart, routerSelector } from "../../core/render/kubernetes/workloads";
import { DCGM, JOBS, LITELLM, RECORDED } from "../../core/render/monitoring/metrics";
import { kubernetesScrapeTargets, renderKubernetesMonitoring } from "../../core/render/monitoring/kubernetes";
import { planMonitoring } from "../../core/render/monitoring/options";
import { renderPrometheusConfig, scrapeJobs } from "../../core/render/monitoring/prometheus";
import { monitoringRules, renderRuleFile } from "../../core/render/monitoring/rules";
import { freePort } from "../router-harness/litellm-proxy";
import { VllmEngineStub, startTextEndpoint } from "../router-harness/vllm-engine-stub";
import { builtPrometheus, operatorCrds } from "../monitoring/tools";
import { type ControlPlane, type KubectlResult, startControlPlane, waitFor } from "./control-plane";
import { type PodObject, listPods } from "./observe";
import { type FakeNode, type Rendered, TestSecrets, existingClusterStack, fakeNodesFor, kubectlName, nodesReady, planOf, render, yamlStream } from "./stack";
import { findKubeTools, skipUnlessBuilt } from "./tools";

const tools = findKubeTools();
const prometheusBuild = builtPrometheus();
const crds = operatorCrds();
const raw = existingClusterStack();
const FIELD_MANAGER = "hybrid-inference";
const NODE_EXPORTER = "/usr/bin/prometheus-node-exporter";

let cp: ControlPlane;
let shipped: Rendered;
let monitoring: Manifest<string>[] = [];
let nodes: FakeNode[] = [];
const children: ChildProcess[] = [];
const closers: (() => Promise<void>)[] = [];

const ns = (): string => shipped.plan.spec.kubernetes.namespace;
const kubectl = (args: readonly string[], manifests?: readonly Manifest<unknown>[]): Promise<KubectlResult> =>
  cp.kubectl(args, { kubeconfigFile: shipped.kubeconfigFile, ...(manifests ? { input: yamlStream(manifests as Manifest<string>[]) } : {}) });
const apply = (manifests: readonly Manifest<unknown>[], dryRun = false): Promise<KubectlResult> =>
  kubectl(["apply", "--server-side", `--field-manager=${FIELD_MANAGER}`, ...(dryRun ? ["--dry-run=server"] : []), "-f", "-"], manifests);

/**
 * The fake nodes, each with a loopback pod CIDR (127.77.<n>.0/24): kwok gives pods addresses from
 * their node's podCIDR, so everything Prometheus discovers and scrapes is on 127.0.0.0/8.
 */
async function createLoopbackNodes(list: readonly FakeNode[]): Promise<void> {
  for (const [i, n] of list.entries()) {
    await cp.api.must("POST", "/api/v1/nodes", {
      apiVersion: "v1", kind: "Node",
      metadata: { name: n.name, labels: n.labels, annotations: { "kwok.x-k8s.io/node": "fake" } },
      spec: { podCIDR: `127.77.${i + 1}.0/24`, podCIDRs: [`127.77.${i + 1}.0/24`] },
      status: { capacity: n.capacity, allocatable: n.capacity },
    });
  }
  const runtimeClass = shipped.plan.spec.kubernetes.runtime_class;
  const rc = await cp.api.request("GET", `/apis/node.k8s.io/v1/runtimeclasses/${runtimeClass}`);
  if (rc.status === 404) await cp.api.must("POST", "/apis/node.k8s.io/v1/runtimeclasses", { apiVersion: "node.k8s.io/v1", kind: "RuntimeClass", metadata: { name: runtimeClass }, handler: runtimeClass });
}

describe("the prod-k8s monitoring on a real control plane", () => {
  beforeAll(async () => {
    if (tools.missing.length > 0) return;
    cp = await startControlPlane({ tools });
    const secrets = new TestSecrets(raw, cp.kubeconfig);
    shipped = render(raw, secrets, cp.dir);
    monitoring = renderKubernetesMonitoring(shipped.plan)!.manifests.map((m) => resolveSecrets(m, secrets.resolve));
    nodes = fakeNodesFor(raw);
    await createLoopbackNodes(nodes);
    await waitFor("the fake nodes Ready", () => nodesReady(cp.api, nodes), 120_000, () => cp.logTail("kwok", 20));
  }, 300_000);

  afterAll(async () => {
    for (const c of children) c.kill("SIGTERM");
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await cp?.stop();
  }, 60_000);

  it("passes a server-side dry run beside the workloads", async (ctx) => {
    skipUnlessBuilt(ctx, tools);
    const [namespace, ...rest] = shipped.manifests;
    const created = await apply([namespace!]);
    expect(created.code, created.stderr).toBe(0);
    const dry = await apply([...rest, ...monitoring], true);
    expect(dry.code, dry.stderr).toBe(0);
    expect(monitoring.length).toBeGreaterThan(10);
    for (const m of monitoring) expect(dry.stdout).toContain(`${kubectlName(m)} serverside-applied (server dry run)`);
  }, 60_000);

  it("applied: each exporter runs on every node of its GPU model and nowhere else; Prometheus becomes Available", async (ctx) => {
    skipUnlessBuilt(ctx, tools);
    const res = await apply([...shipped.manifests, ...monitoring]);
    expect(res.code, res.stderr).toBe(0);
    const gpuNodes = (gpu: string) => nodes.filter((n) => n.labels[GPU_LABEL] === gpu).map((n) => n.name).sort();
    const sets = monitoring.filter((m) => m.kind === "DaemonSet");
    expect(sets).toHaveLength(4);
    await waitFor("every exporter pod Running", async () => {
      for (const d of sets) {
        if (d.kind !== "DaemonSet") continue;
        const pods = (await listPods(cp.api, ns(), d.spec.selector.matchLabels)).items;
        if (pods.filter((p) => p.status?.phase === "Running").length !== gpuNodes(d.spec.template.spec.nodeSelector![GPU_LABEL]!).length) return false;
      }
      return true;
    }, 120_000, () => cp.logTail("kube-controller-manager", 20));
    for (const d of sets) {
      if (d.kind !== "DaemonSet") continue;
      const pods = (await listPods(cp.api, ns(), d.spec.selector.matchLabels)).items;
      expect(pods.map((p) => p.spec.nodeName).sort(), d.metadata.name).toEqual(gpuNodes(d.spec.template.spec.nodeSelector![GPU_LABEL]!));
    }
    await waitFor("Prometheus Available", async () => {
      const d = await cp.api.get<{ status?: { availableReplicas?: number } }>(`/apis/apps/v1/namespaces/${ns()}/deployments/prometheus`);
      return d.status?.availableReplicas === 1;
    }, 120_000, () => cp.logTail("kube-controller-manager", 20));
  }, 300_000);

  it("Prometheus's ServiceAccount may read the namespace's pods, and nothing else", async (ctx) => {
    skipUnlessBuilt(ctx, tools);
    const sa = `system:serviceaccount:${ns()}:prometheus`;
    const can = async (...args: string[]) => (await kubectl(["auth", "can-i", ...args, `--as=${sa}`])).stdout.trim();
    expect(await can("list", "pods", "-n", ns())).toBe("yes");
    expect(await can("watch", "pods", "-n", ns())).toBe("yes");
    expect(await can("get", "secrets", "-n", ns())).toBe("no");
    expect(await can("list", "pods", "-n", "default")).toBe("no");
    expect(await can("list", "nodes")).toBe("no");
    expect(await can("list", "configmaps", "-n", ns())).toBe("no");
  }, 60_000);

  it("a real Prometheus discovers the stack's pods with that ServiceAccount's token, and labels them as the rules read them", async (ctx) => {
    skipUnlessBuilt(ctx, tools);
    if (!prometheusBuild) return ctx.skip("Prometheus with Kubernetes discovery is not built here: run bash scripts/build-prometheus.sh");
    const plan = shipped.plan;
    const token = await kubectl(["create", "token", "prometheus", "-n", ns(), "--duration=10m"]);
    expect(token.code, token.stderr).toBe(0);
    const dir = cp.dir;
    writeFileSync(path.join(dir, "prometheus-sa.token"), token.stdout.trim(), { mode: 0o600 });
    writeFileSync(path.join(dir, "cluster-ca.pem"), cp.caPem);

    // Stand-ins on each pod's address and named port: a vLLM engine per engine replica, DCGM's and
    // the router's metrics as text, the real node exporter.
    const pods = async (labels: Record<string, string>): Promise<PodObject[]> => (await listPods(cp.api, ns(), labels)).items.filter((p) => p.status?.podIP);
    const engines = await pods(engineSelector(plan));
    const placement = kubernetesPart(plan).placement;
    expect(engines).toHaveLength(placement.groups.reduce((s, g) => s + g.replicas, 0));
    const stubs = new Map<string, VllmEngineStub>();
    for (const p of engines) {
      const stub = await new VllmEngineStub({ model: plan.engine.servedModelName, slots: 2, serviceMs: 50 }).start(p.status!.podIP!, plan.engine.port);
      stubs.set(p.metadata.name, stub);
      closers.push(() => stub.close());
    }
    const dcgmPods = await pods({ "app.kubernetes.io/component": "dcgm-exporter" });
    for (const p of dcgmPods) {
      const e = await startTextEndpoint(() => `${DCGM.gpuUtil}{gpu="0",UUID="GPU-0"} 50\n${DCGM.xidErrors}{gpu="0",UUID="GPU-0",xid="13"} 0\n`, p.status!.podIP!, 9400);
      closers.push(e.close);
    }
    const nodeExporterPods = await pods({ "app.kubernetes.io/component": "node-exporter" });
    for (const p of nodeExporterPods) {
      children.push(spawn(NODE_EXPORTER, [`--web.listen-address=${p.status!.podIP!}:9100`, "--collector.disable-defaults", "--collector.filesystem"], { stdio: "ignore" }));
    }
    const routerPods = await pods(routerSelector(plan));
    expect(routerPods).toHaveLength(plan.spec.kubernetes.router_replicas);
    for (const p of routerPods) {
      const e = await startTextEndpoint(() => `${LITELLM.deploymentSuccess}{model_id="x"} 1\n`, p.status!.podIP!, 4001);
      closers.push(e.close);
    }

    // The rendered scrape configuration and rules (at a 2 s interval), reaching this API server
    // from outside the cluster: its address, CA and the ServiceAccount's token added to each
    // discovery (in the cluster Prometheus takes them from its pod).
    const mp = { ...planMonitoring(plan), scrapeIntervalSeconds: 2 };
    const rulesFile = path.join(dir, "prometheus-rules.yml");
    writeFileSync(rulesFile, renderRuleFile(monitoringRules(plan, mp), 2));
    const promPort = await freePort();
    const config = parse(renderPrometheusConfig({ stack: plan.spec.stack, monitoring: mp, jobs: scrapeJobs(kubernetesScrapeTargets(plan)), alertmanager: null, ruleFile: rulesFile })) as {
      scrape_configs: { job_name: string; static_configs?: { targets: string[] }[]; kubernetes_sd_configs?: Record<string, unknown>[] }[];
    };
    for (const job of config.scrape_configs) {
      if (job.job_name === JOBS.prometheus) job.static_configs = [{ targets: [`127.0.0.1:${promPort}`] }];
      for (const sd of job.kubernetes_sd_configs ?? []) {
        Object.assign(sd, { api_server: cp.server, tls_config: { ca_file: path.join(dir, "cluster-ca.pem") }, authorization: { credentials_file: path.join(dir, "prometheus-sa.token") } });
      }
    }
    writeFileSync(path.join(dir, "prometheus.yml"), stringify(config));
    children.push(spawn(prometheusBuild.prometheus, [`--config.file=${path.join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(dir, "prometheus-data")}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: "ignore" }));
    const query = async (expr: string): Promise<{ metric: Record<string, string>; value: number }[]> => {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`).catch(() => null);
      if (!res?.ok) return [];
      const body = (await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    };
    const expected = { [JOBS.engine]: engines.length, [JOBS.gpu]: dcgmPods.length, [JOBS.node]: nodeExporterPods.length, [JOBS.router]: routerPods.length };
    let seen: { metric: Record<string, string>; value: number }[] = [];
    await waitFor("every pod discovered and scraped", async () => {
      seen = await query("up");
      return Object.entries(expected).every(([job, n]) => seen.filter((u) => u.metric["job"] === job && u.value === 1).length === n);
    }, 90_000, () => `expected up targets ${JSON.stringify(expected)}; Prometheus has ${JSON.stringify(seen.map((u) => [u.metric["job"], u.metric["instance"], u.value]))}`);

    const up = await query("up");
    for (const p of engines) {
      const t = up.find((u) => u.metric["job"] === JOBS.engine && u.metric["pod"] === p.metadata.name)!;
      expect(t.metric).toMatchObject({ host: p.metadata.labels!["hybrid-inference/engine-group"], node: p.spec.nodeName, instance: `${p.status!.podIP}:${plan.engine.port}` });
    }
    for (const p of [...dcgmPods, ...nodeExporterPods]) {
      const t = up.find((u) => u.metric["pod"] === p.metadata.name)!;
      const node = nodes.find((n) => n.name === p.spec.nodeName)!;
      expect(t.metric).toMatchObject({ host: p.spec.nodeName, gpu_model: node.labels[GPU_LABEL] });
    }
    // The engines' recorded series, one per group, as the dashboards and alerts read them.
    await waitFor("the engines' recording rule", async () => (await query(RECORDED.engineRunning)).length === placement.groups.length, 30_000);
    expect((await query(RECORDED.engineRunning)).map((r) => r.metric["host"]).sort()).toEqual(placement.groups.map((g) => g.name).sort());
    const rules = monitoringRules(plan, mp).alerts;
    const missing = rules.filter((a) => a.alert === "EngineReplicasMissing");
    for (const a of missing) expect(await query(a.expr), a.labels["host"]).toEqual([]);

    // One replica of the two-replica group stops answering: its target is down, the group is short.
    const group = placement.groups.find((g) => g.replicas > 1)!;
    const victim = engines.find((p) => p.metadata.labels!["hybrid-inference/engine-group"] === group.name)!;
    await stubs.get(victim.metadata.name)!.close();
    await waitFor("the stopped replica down", async () => (await query(`up{pod="${victim.metadata.name}"}`))[0]?.value === 0, 30_000);
    const down = await query(rules.find((a) => a.alert === "EngineDown")!.expr);
    expect(down.map((d) => d.metric["pod"])).toEqual([victim.metadata.name]);
    const short = missing.find((a) => a.labels["host"] === group.name)!;
    expect(await query(short.expr)).toHaveLength(1);
    for (const a of missing.filter((x) => x !== short)) expect(await query(a.expr)).toEqual([]);
  }, 240_000);

  it("with the Prometheus Operator: its PodMonitors and PrometheusRule pass a server-side dry run against its CRDs, which refuse a misspelt field", async (ctx) => {
    skipUnlessBuilt(ctx, tools);
    if (!crds) return ctx.skip("the Prometheus Operator's CRDs are not here: run bash scripts/build-prometheus.sh");
    for (const file of crds) {
      const r = await cp.kubectl(["apply", "--server-side", `--field-manager=${FIELD_MANAGER}`, "-f", file]);
      expect(r.code, r.stderr).toBe(0);
    }
    await waitFor("the CRDs Established", async () => {
      for (const name of ["podmonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"]) {
        const crd = await cp.api.get<{ status?: { conditions?: { type: string; status: string }[] } }>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
        if (!crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) return false;
      }
      return true;
    }, 60_000);
    const operatorPlan = planOf(existingClusterStack((v) => ({ ...v, monitoring: { prometheus_operator: true, operator_labels: { release: "kube-prometheus-stack" } } })));
    const objects = renderKubernetesMonitoring(operatorPlan)!.manifests.filter((m) => m.kind === "PodMonitor" || m.kind === "PrometheusRule");
    expect(objects).toHaveLength(5);
    const dry = await apply(objects, true);
    expect(dry.code, dry.stderr).toBe(0);
    for (const m of objects) expect(dry.stdout).toContain(`${kubectlName(m)} serverside-applied (server dry run)`);
    // The CRDs' schemas are strict: a misspelt field is refused, so the dry run above means something.
    const monitor = objects.find((m) => m.kind === "PodMonitor")!;
    if (monitor.kind !== "PodMonitor") throw new Error("no PodMonitor");
    const { podMetricsEndpoints, ...spec } = monitor.spec;
    const refused = await apply([{ ...monitor, spec: { ...spec, podMetricEndpoints: podMetricsEndpoints } } as unknown as Manifest<unknown>], true);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("podMetricEndpoints");
  }, 120_000);
});
