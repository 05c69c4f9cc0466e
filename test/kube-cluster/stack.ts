/**
 * The stack the real-cluster tests deploy: stacks/Pulumi.prod-k8s.yaml turned into a
 * `cluster: existing` stack whose kubeconfig secret is the test cluster's kubeconfig, as a user
 * with a GPU cluster of their own would write it; its manifests rendered by the kubernetes
 * target's renderers with every secret resolved to a test value; and the fake nodes that stand
 * for the stack's hosts.
 *
 * The hosts' `address` fields are never used as addresses here: a host only names its node
 * and gives its labels and GPU capacity.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { MASKED_SECRET, type RawStackConfig, readStackFile } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import type { DeploymentPlan } from "../../core/plan/types";
import type { SecretSource } from "../../core/render/containers";
import { resolveSecrets } from "../../core/render/kubernetes/files";
import type { Manifest } from "../../core/render/kubernetes/types";
import { GPU_COUNT_LABEL, GPU_LABEL, GPU_RESOURCE, type KubernetesWorkloads, renderKubernetesWorkloads, workloadManifests } from "../../core/render/kubernetes/workloads";
import { KWOK_NODE_ANNOTATION } from "./control-plane";
import type { KubeApi } from "./kube-api";

const REPO = path.resolve(__dirname, "..", "..");
export const KUBECONFIG_KEY = "kubeconfig";

/**
 * prod-k8s as a `cluster: existing` stack: the same hosts, model, engine and router, deployed
 * into the cluster the `kubeconfig` secret points at. `patch` changes top-level keys.
 */
export function existingClusterStack(patch: (values: Record<string, unknown>) => Record<string, unknown> = (v) => v): RawStackConfig {
  const shipped = readStackFile(path.join(REPO, "stacks", "Pulumi.prod-k8s.yaml"), "prod-k8s");
  const k = shipped.values["kubernetes"] as Record<string, unknown>;
  const values = patch({
    ...shipped.values,
    kubernetes: { ...k, cluster: "existing", kubeconfig_secret: KUBECONFIG_KEY },
    [KUBECONFIG_KEY]: MASKED_SECRET,
  });
  return { stack: "prod-k8s-existing", values, secretKeys: new Set([...shipped.secretKeys, KUBECONFIG_KEY]) };
}

export function planOf(raw: RawStackConfig): DeploymentPlan {
  const { plan, issues } = loadPlan(raw);
  if (!plan) throw new Error(`stack ${raw.stack} does not plan: ${JSON.stringify(issues, null, 2)}`);
  return plan;
}

/**
 * The stack's secrets as a user holds them in Pulumi config: the kubeconfig, and a test value
 * for every other secret key; generated keys (engine API key, router master key) as the
 * component would generate them.
 */
export class TestSecrets {
  private readonly values = new Map<string, string>();
  readonly engineApiKey = `test-engine-${randomBytes(8).toString("hex")}`;
  readonly masterKey = `sk-test-${randomBytes(8).toString("hex")}`;

  constructor(raw: RawStackConfig, kubeconfig: string) {
    for (const key of raw.secretKeys) this.values.set(key, key === KUBECONFIG_KEY ? kubeconfig : `test-${key}-${randomBytes(6).toString("hex")}`);
  }

  config(key: string): string {
    const v = this.values.get(key);
    if (v === undefined) throw new Error(`the manifests read config key ${key}, which is not a secret of the stack`);
    return v;
  }

  resolve = (s: SecretSource): string => {
    switch (s.kind) {
      case "config":
        return this.config(s.configKey);
      case "engine-api-key":
        return this.engineApiKey;
      case "router-master-key":
        return this.masterKey;
      default: {
        const unreachable: never = s;
        throw new Error(`unknown secret source ${JSON.stringify(unreachable)}`);
      }
    }
  };

  /** Every value, to check none reaches a log. */
  all(): string[] {
    return [...this.values.values(), this.engineApiKey, this.masterKey];
  }
}

export interface Rendered {
  readonly plan: DeploymentPlan;
  readonly workloads: KubernetesWorkloads;
  /** In apply order (namespace first), secrets resolved. */
  readonly manifests: readonly Manifest<string>[];
  /** The kubeconfig file kubectl uses: the stack's `kubeconfig` secret, written 0600. */
  readonly kubeconfigFile: string;
}

/** Renders the stack's manifests as the component does, secrets resolved to `secrets`. */
export function render(raw: RawStackConfig, secrets: TestSecrets, dir: string): Rendered {
  const plan = planOf(raw);
  const workloads = renderKubernetesWorkloads(plan);
  const manifests = workloadManifests(workloads).map((m) => resolveSecrets(m, secrets.resolve));
  const key = plan.spec.kubernetes.kubeconfig_secret;
  if (!key) throw new Error("the stack has no kubeconfig_secret");
  const kubeconfigFile = path.join(dir, `${raw.stack}.kubeconfig`);
  writeFileSync(kubeconfigFile, secrets.config(key), { mode: 0o600 });
  return { plan, workloads, manifests, kubeconfigFile };
}

/** Manifests as one YAML stream, for `kubectl apply -f -`. */
export function yamlStream(manifests: readonly Manifest<string>[]): string {
  return manifests.map((m) => stringify(m, { lineWidth: 0, aliasDuplicateObjects: false })).join("---\n");
}

/** `kind/name` as kubectl prints it (`deployment.apps/engine-rtx-4090`). */
export function kubectlName(m: Manifest<unknown>): string {
  const group = m.apiVersion.includes("/") ? m.apiVersion.split("/")[0] : "";
  return `${m.kind.toLowerCase()}${group ? `.${group}` : ""}/${m.metadata.name}`;
}

/** The REST path of a manifest's object. */
export function objectPath(m: Manifest<unknown>): string {
  const plural: Record<Manifest<unknown>["kind"], string> = {
    Namespace: "namespaces", Secret: "secrets", ConfigMap: "configmaps", Deployment: "deployments", DaemonSet: "daemonsets",
    Service: "services", PodDisruptionBudget: "poddisruptionbudgets", HorizontalPodAutoscaler: "horizontalpodautoscalers",
    Ingress: "ingresses", NetworkPolicy: "networkpolicies",
  };
  const base = m.apiVersion === "v1" ? "/api/v1" : `/apis/${m.apiVersion}`;
  const ns = m.metadata.namespace ? `/namespaces/${m.metadata.namespace}` : "";
  return `${base}${ns}/${plural[m.kind]}/${m.metadata.name}`;
}

/** A node of the test cluster, as an API object. */
export interface FakeNode {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Capacity and allocatable alike. */
  readonly capacity: Readonly<Record<string, string>>;
}

/**
 * Sizes of the fake nodes. The stack declares only cards, so CPU and memory are generous
 * values for a GPU server (the engine pods ask for 2 CPUs and 8 GiB per card, the router for
 * 250m CPU and 512 MiB per worker); they bound nothing the tests check.
 */
const GPU_NODE = { cpu: "32", memory: "128Gi", pods: "110" };
const CPU_NODE = { cpu: "8", memory: "32Gi", pods: "110" };
export const CPU_NODE_NAME = "cpu-node-1";

/**
 * One node per host of `raw` (name = host name; `hybrid-inference/gpu` = its card,
 * `hybrid-inference/gpu-count` and `nvidia.com/gpu` = its count, as the stack declares them),
 * plus one node without GPUs. Read from the stack file, not the plan: the nodes are what the
 * cluster has, which is what a user states in `hosts`.
 */
export function fakeNodesFor(raw: RawStackConfig): FakeNode[] {
  const hosts = raw.values["hosts"] as { name: string; gpu: string; gpu_count?: number }[];
  const base = (name: string): Record<string, string> => ({
    "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "kwok",
  });
  return [
    ...hosts.map((h) => ({
      name: h.name,
      labels: { ...base(h.name), [GPU_LABEL]: h.gpu, [GPU_COUNT_LABEL]: String(h.gpu_count ?? 1) },
      capacity: { ...GPU_NODE, [GPU_RESOURCE]: String(h.gpu_count ?? 1) },
    })),
    { name: CPU_NODE_NAME, labels: base(CPU_NODE_NAME), capacity: CPU_NODE },
  ];
}

interface NodeObject {
  metadata: { name: string };
  spec?: { taints?: { key: string; effect: string }[]; unschedulable?: boolean };
  status?: { conditions?: { type: string; status: string }[]; allocatable?: Record<string, string> };
}

/** Creates the nodes (kwok takes them over by annotation) and the `nvidia` RuntimeClass. */
export async function createNodes(api: KubeApi, nodes: readonly FakeNode[], runtimeClass = "nvidia"): Promise<void> {
  for (const n of nodes) {
    await api.must("POST", "/api/v1/nodes", {
      apiVersion: "v1", kind: "Node",
      metadata: { name: n.name, labels: n.labels, annotations: { [KWOK_NODE_ANNOTATION]: "fake" } },
      spec: {},
      status: { capacity: n.capacity, allocatable: n.capacity },
    });
  }
  // What NVIDIA's GPU Operator (or k3s) provides on a real cluster; kwok runs no containers.
  const rc = await api.request("GET", `/apis/node.k8s.io/v1/runtimeclasses/${runtimeClass}`);
  if (rc.status === 404) {
    await api.must("POST", "/apis/node.k8s.io/v1/runtimeclasses", { apiVersion: "node.k8s.io/v1", kind: "RuntimeClass", metadata: { name: runtimeClass }, handler: runtimeClass });
  }
}

/** Ready, schedulable (the node lifecycle controller has lifted its not-ready taint), GPUs allocatable. */
export function nodeReady(n: NodeObject, want: FakeNode): boolean {
  const ready = n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  const tainted = (n.spec?.taints ?? []).some((t) => t.key.startsWith("node.kubernetes.io/"));
  const gpus = want.capacity[GPU_RESOURCE];
  return ready && !tainted && !n.spec?.unschedulable && (gpus === undefined || n.status?.allocatable?.[GPU_RESOURCE] === gpus);
}

export async function nodesReady(api: KubeApi, nodes: readonly FakeNode[]): Promise<boolean> {
  const list = await api.get<{ items: NodeObject[] }>("/api/v1/nodes");
  return nodes.every((want) => {
    const n = list.items.find((i) => i.metadata.name === want.name);
    return n !== undefined && nodeReady(n, want);
  });
}
