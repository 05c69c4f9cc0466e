import { describe, expect, it } from "vitest";
import { engineContainer } from "../../core/render/containers";
import { engineArgs } from "../../core/render/engine-args";
import { renderDevicePlugin } from "../../core/render/kubernetes/device-plugin";
import { describeSecret, resolveSecrets } from "../../core/render/kubernetes/files";
import { renderKubernetesTarget } from "../../core/render/kubernetes/target";
import { placementSummary } from "../../core/render/kubernetes/placement-summary";
import { litellmConfig } from "../../core/render/litellm-config";
import type { DeploymentPlan } from "../../core/plan/types";
import type { Placement } from "../../core/plan/types";
import type { Manifest } from "../../core/render/kubernetes/types";
import { DEVICE_PLUGIN_IMAGE } from "../../core/render/kubernetes/versions";
import {
  ENGINE_SECRET, GPU_LABEL, GPU_RESOURCE, ROUTER_SECRET, durationSeconds, kubernetesRouterUrl, renderKubernetesWorkloads, workloadManifests,
  groupEngineInstance,
} from "../../core/render/kubernetes/workloads";
import { DEFAULT_SECRETS } from "../fixtures";
import { MASKED_SECRET, MIXED_HOSTS, k8sValues, planOf, shippedPlan } from "./fixtures";
import { validateManifest } from "./k8s-schema";

const variants: Record<string, DeploymentPlan> = {
  // The shipped stack: k3s, LoadBalancer router, host-path cache, two single-GPU groups.
  "prod-k8s": shippedPlan("prod-k8s"),
  // Ingress with a provided certificate, LoRA adapters (hub and local), per-pod cache, HF token.
  "ingress-adapters": planOf(k8sValues({
    model: { id: "qwen2.5-7b-instruct", quantization: "bf16" },
    engine: {},
    adapters: [
      { name: "support-bot", source: "hf://acme/support-lora", rank: 16, base_model: "qwen2.5-7b-instruct" },
      { name: "legal", source: "/srv/adapters/legal", rank: 8, base_model: "qwen2.5-7b-instruct" },
    ],
    access: { admin_cidrs: ["198.51.100.0/24"], hf_token_secret: "hfToken" },
    router: { allowed_cidrs: ["0.0.0.0/0"], managed: { provider: "together_ai", api_key_secret: "togetherApiKey" } },
    kubernetes: {
      ingress: { host: "inference.example.co.uk", certificate_secret: "tlsCert", private_key_secret: "tlsKey", class_name: "traefik" },
      model_cache: { type: "empty_dir" },
      router_replicas: 3,
    },
    hfToken: MASKED_SECRET, tlsCert: MASKED_SECRET, tlsKey: MASKED_SECRET,
  }), [...DEFAULT_SECRETS, "hfToken", "tlsCert", "tlsKey"]),
  // An existing cluster, cert-manager, tensor parallel 2 and a reserved surge slot.
  "existing-tp2-surge": planOf(k8sValues({
    hosts: [
      { name: "node-a", address: "10.0.0.11", datacenter: "uk-london", gpu: "rtx-5090", gpu_count: 2 },
      { name: "node-b", address: "10.0.0.12", datacenter: "uk-london", gpu: "rtx-5090", gpu_count: 2 },
    ],
    model: { id: "llama-3.3-70b-instruct", quantization: "awq", max_model_len: 32768 },
    access: { admin_cidrs: ["198.51.100.0/24"], hf_token_secret: "hfToken" },
    kubernetes: {
      cluster: "existing", kubeconfig_secret: "kubeconfig", namespace: "inference", reserve_surge_slot: true,
      ingress: { host: "llm.example.co.uk", cert_manager_cluster_issuer: "letsencrypt-prod" },
    },
    hfToken: MASKED_SECRET, kubeconfig: MASKED_SECRET,
  }), ["togetherApiKey", "hfToken", "kubeconfig"]),
};

const cases = Object.entries(variants).map(([name, plan]) => ({ name, plan, w: renderKubernetesWorkloads(plan) }));
const described = (plan: DeploymentPlan): Manifest<string>[] => workloadManifests(renderKubernetesWorkloads(plan)).map((m) => resolveSecrets(m, describeSecret));

function placementOf(plan: DeploymentPlan): Placement {
  if (plan.target.kind !== "kubernetes") throw new Error(`${plan.spec.stack} is not a kubernetes plan`);
  return plan.target.placement;
}

describe("every manifest validates against the Kubernetes 1.36 API (kubernetes-models 5.x)", () => {
  const all = cases.flatMap(({ name, plan }) => described(plan).map((m) => [`${name}: ${m.kind} ${m.metadata.name}`, m] as const));
  it.each(all)("%s", (_label, m) => {
    expect(() => validateManifest(m)).not.toThrow();
  });

  it("the NVIDIA device plugin DaemonSet too, pinned to a release", () => {
    const ds = renderDevicePlugin(variants["prod-k8s"]!);
    expect(() => validateManifest(ds)).not.toThrow();
    expect(ds.spec.template.spec.containers[0]!.image).toBe(`${DEVICE_PLUGIN_IMAGE.repository}:${DEVICE_PLUGIN_IMAGE.tag}`);
    expect(DEVICE_PLUGIN_IMAGE.tag).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(ds.spec.template.spec.runtimeClassName).toBe("nvidia");
  });

  it("the validator does catch a broken manifest (so the checks above mean something)", () => {
    const broken = structuredClone(cases[0]!.w.engines[0]!.service) as unknown as Record<string, { type: string }>;
    broken["spec"]!.type = "Public";
    expect(() => validateManifest(broken)).toThrow(/spec\/type/);
  });
});

describe.each(cases)("$name", ({ plan, w }) => {
  const placement = placementOf(plan);
  const weightsGB = plan.engine.weightBytes / 1e9;

  it("exposes no engine outside the cluster: ClusterIP Services, no node ports, no external IPs", () => {
    expect(w.engines.length).toBe(placement.groups.length);
    for (const { service } of w.engines) {
      expect(service.spec.type).toBe("ClusterIP");
      expect(service.spec).not.toHaveProperty("loadBalancerSourceRanges");
      expect(service.spec).not.toHaveProperty("externalIPs");
      for (const p of service.spec.ports) expect(p).not.toHaveProperty("nodePort");
    }
    for (const e of w.engines) for (const c of e.deployment.spec.template.spec.containers) for (const p of c.ports ?? []) expect(p).not.toHaveProperty("hostPort");
  });

  it("reaches the router only through its Service or Ingress, limited to allowed_cidrs without an Ingress", () => {
    const svc = w.router.service;
    if (plan.spec.kubernetes.ingress) {
      expect(svc.spec.type).toBe("ClusterIP");
      expect(w.ingress?.spec.rules[0]?.host).toBe(plan.spec.kubernetes.ingress.host);
      expect(w.ingress?.spec.rules[0]?.http.paths[0]?.backend.service).toEqual({ name: "router", port: { number: plan.router.port } });
    } else {
      expect(svc.spec.type).toBe("LoadBalancer");
      expect(svc.spec.loadBalancerSourceRanges).toEqual(plan.router.allowedCidrs);
      expect(w.ingress).toBeNull();
    }
  });

  it("gives each engine group a Deployment with the planned GPUs, node selection by GPU model and the nvidia runtime", () => {
    for (const { group, deployment } of w.engines) {
      const pod = deployment.spec.template.spec;
      const c = pod.containers[0]!;
      expect(deployment.spec.replicas).toBe(group.replicas);
      expect(c.resources.limits?.[GPU_RESOURCE]).toBe(String(group.tensorParallel));
      expect(c.resources.requests[GPU_RESOURCE]).toBe(String(group.tensorParallel));
      expect(pod.nodeSelector).toEqual({ [GPU_LABEL]: group.gpu.id });
      expect(pod.runtimeClassName).toBe(plan.spec.kubernetes.runtime_class);
      expect(pod.automountServiceAccountToken).toBe(false);
    }
  });

  it("runs exactly the engine argv of one replica of tensorParallel cards (no second copy of the flags)", () => {
    for (const { group, deployment } of w.engines) {
      expect(deployment.spec.template.spec.containers[0]!.args).toEqual(engineArgs(plan.engine, { tensorParallel: group.tensorParallel, dataParallel: 1 }));
    }
  });

  it("sets requests on every container and probes sized for the model download", () => {
    const specs = placement.groups.map((g) => engineContainer(plan, groupEngineInstance(g)));
    // What the plan implies for a first start: the weights at the ~50 MB/s containers.ts assumes.
    const downloadSeconds = (weightsGB * 1000) / 50;
    w.engines.forEach(({ deployment }, i) => {
      const c = deployment.spec.template.spec.containers[0]!;
      expect(c.resources.requests["cpu"]).toBeDefined();
      expect(c.resources.requests["memory"]).toBeDefined();
      const startup = c.startupProbe!;
      const window = startup.failureThreshold * startup.periodSeconds;
      expect(window).toBeGreaterThanOrEqual(durationSeconds(specs[i]!.healthcheck.startPeriod));
      expect(window).toBeGreaterThanOrEqual(downloadSeconds);
      expect(c.readinessProbe).toBeDefined();
      expect(c.livenessProbe).toBeDefined();
      expect(startup.exec.command.join(" ")).toContain(`http://127.0.0.1:${plan.engine.port}/health`);
      // Kubernetes must not call the rollout stuck, nor Pulumi stop waiting, before that window.
      expect(deployment.spec.progressDeadlineSeconds).toBeGreaterThan(window);
      expect(Number(deployment.metadata.annotations?.["pulumi.com/timeoutSeconds"])).toBeGreaterThan(window);
    });
    const router = w.router.deployment.spec.template.spec.containers[0]!;
    expect(router.resources.requests["cpu"]).toMatch(/^\d+m$/);
    expect(router.resources.requests["memory"]).toMatch(/^\d+Mi$/);
    expect(router.startupProbe && router.readinessProbe && router.livenessProbe).toBeTruthy();
  });

  it("rolls engines by surging into a spare slot when there is one, else one pod at a time; one PDB per group", () => {
    for (const { group, deployment, podDisruptionBudget } of w.engines) {
      const spare = group.slots > group.replicas;
      expect(deployment.spec.strategy.rollingUpdate).toEqual(spare ? { maxSurge: 1, maxUnavailable: 0 } : { maxSurge: 0, maxUnavailable: 1 });
      expect(podDisruptionBudget.spec.selector).toEqual(deployment.spec.selector);
      expect(podDisruptionBudget.spec.maxUnavailable).toBe(1);
    }
  });

  it("runs at least two router pods with an autoscaler and a disruption budget", () => {
    const k = plan.spec.kubernetes;
    expect(w.router.deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(w.router.deployment.spec.replicas).toBe(k.router_replicas);
    expect(w.router.autoscaler.apiVersion).toBe("autoscaling/v2");
    expect(w.router.autoscaler.spec.minReplicas).toBe(k.router_replicas);
    expect(w.router.autoscaler.spec.maxReplicas).toBe(k.router_max_replicas ?? k.router_replicas * 3);
    expect(w.router.autoscaler.spec.scaleTargetRef.name).toBe(w.router.deployment.metadata.name);
    expect(w.router.podDisruptionBudget.spec.selector).toEqual(w.router.deployment.spec.selector);
  });

  it("lets only router pods reach the engines", () => {
    const [policy] = w.networkPolicies;
    const routerLabels = w.router.deployment.spec.template.metadata.labels;
    expect(policy!.spec.policyTypes).toEqual(["Ingress"]);
    expect(policy!.spec.ingress).toHaveLength(1);
    const rule = policy!.spec.ingress[0]!;
    expect(rule.ports).toEqual([{ protocol: "TCP", port: plan.engine.port }]);
    for (const [k, v] of Object.entries(rule.from[0]!.podSelector.matchLabels)) expect(routerLabels[k]).toBe(v);
    for (const { deployment } of w.engines) {
      const labels = deployment.spec.template.metadata.labels;
      for (const [k, v] of Object.entries(policy!.spec.podSelector.matchLabels)) expect(labels[k]).toBe(v);
    }
    // The policy's pod selector does not also select the router.
    expect(Object.entries(policy!.spec.podSelector.matchLabels).every(([k, v]) => routerLabels[k] === v)).toBe(false);
  });

  it("keeps credentials in Secrets, referenced by key, with values from Pulumi (never in a manifest)", () => {
    const secrets = new Map(w.secrets.map((s) => [s.metadata.name, s]));
    const containers = [...w.engines.map((e) => [ENGINE_SECRET, e.deployment] as const), [ROUTER_SECRET, w.router.deployment] as const];
    for (const [secretName, d] of containers) {
      for (const env of d.spec.template.spec.containers[0]!.env ?? []) {
        if (env.valueFrom) {
          expect(env.valueFrom.secretKeyRef.name).toBe(secretName);
          expect(secrets.get(secretName)?.stringData).toHaveProperty(env.valueFrom.secretKeyRef.key);
        } else {
          expect(env.name).not.toMatch(/KEY|TOKEN|SECRET/);
        }
      }
    }
    for (const s of w.secrets) for (const v of Object.values(s.stringData)) expect(["config", "engine-api-key", "router-master-key"]).toContain(v.kind);
    expect(JSON.stringify(renderKubernetesTarget(plan).files)).not.toContain(MASKED_SECRET);
  });

  it("points the router at each group's Service, weighted by the group's capacity per router pod and worker", () => {
    const config = litellmConfig(plan);
    const engines = config.model_list.filter((d) => d.model_name === plan.engine.servedModelName && d.litellm_params.model.startsWith("hosted_vllm/"));
    expect(engines.map((d) => d.litellm_params.api_base)).toEqual(
      placement.groups.map((g) => `http://${g.name}.${plan.spec.kubernetes.namespace}.svc:${plan.engine.port}/v1`));
    engines.forEach((d, i) => {
      const g = placement.groups[i]!;
      const perPod = Math.max(1, Math.floor((g.perReplica.routerRpm * g.replicas) / plan.spec.kubernetes.router_replicas));
      expect(d.litellm_params["rpm"]).toBe(Math.max(1, Math.floor(perPod / plan.router.numWorkers)));
    });
    expect(w.configMaps[0]!.data["config.yaml"]).toBe(w.routerConfig);
  });

  it("summarises the placement for the plan report", () => {
    const text = placementSummary(plan);
    for (const n of placement.nodes) expect(text).toContain(n.node);
    for (const g of placement.groups) expect(text).toContain(g.name);
  });
});

describe("specific layouts", () => {
  it("prod-k8s: two single-GPU replicas on the 2x RTX 4090 host and one on the RTX 5090 host, split by capacity", () => {
    const p = placementOf(variants["prod-k8s"]!);
    expect(p.nodes.map((n) => [n.node, n.group, n.tensorParallel, n.replicas])).toEqual([
      ["k8s-gpu-4090", "engine-rtx-4090", 1, 2],
      ["k8s-gpu-5090", "engine-rtx-5090", 1, 1],
    ]);
    const [g4090, g5090] = p.groups;
    // The 5090 replica holds more KV cache, so it runs more sequences at once and serves more.
    expect(g5090!.perReplica.routerRpm).toBeGreaterThan(g4090!.perReplica.routerRpm);
    expect(variants["prod-k8s"]!.router.upstreams.find((u) => u.name === g4090!.name)!.rpm).toBe(2 * g4090!.perReplica.routerRpm);
  });

  it("existing-tp2-surge: one tp-2 replica per node less a reserved slot, so updates surge", () => {
    const p = placementOf(variants["existing-tp2-surge"]!);
    expect(p.groups).toHaveLength(1);
    expect(p.groups[0]).toMatchObject({ name: "engine-rtx-5090", tensorParallel: 2, slots: 2, replicas: 1, rollout: { maxSurge: 1, maxUnavailable: 0 } });
    expect(kubernetesRouterUrl(variants["existing-tp2-surge"]!)).toBe("https://llm.example.co.uk");
    const w = renderKubernetesWorkloads(variants["existing-tp2-surge"]!);
    expect(w.ingress?.metadata.annotations).toEqual({ "cert-manager.io/cluster-issuer": "letsencrypt-prod" });
    expect(w.ingress?.spec.tls).toEqual([{ hosts: ["llm.example.co.uk"], secretName: "router-tls" }]);
    const pod = w.engines[0]!.deployment.spec.template.spec;
    // Tensor-parallel workers share /dev/shm; NCCL avoids P2P over consumer PCIe.
    expect(pod.volumes?.find((v) => v.name === "shm")?.emptyDir).toEqual({ medium: "Memory", sizeLimit: "16384Mi" });
    expect(pod.containers[0]!.env).toContainEqual({ name: "NCCL_P2P_DISABLE", value: "1" });
    expect(pod.containers[0]!.env).toContainEqual({ name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: ENGINE_SECRET, key: "HF_TOKEN" } } });
  });

  it("ingress-adapters: local adapters mounted read-only, a per-pod cache, the certificate as a TLS Secret", () => {
    const plan = variants["ingress-adapters"]!;
    const w = renderKubernetesWorkloads(plan);
    const pod = w.engines[0]!.deployment.spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: "adapter-1", hostPath: { path: "/srv/adapters/legal", type: "Directory" } });
    expect(pod.containers[0]!.volumeMounts).toContainEqual({ name: "adapter-1", mountPath: "/srv/adapters/legal", readOnly: true });
    expect(pod.volumes?.find((v) => v.name === "model-cache")?.emptyDir?.sizeLimit).toMatch(/^\d+Gi$/);
    const tls = w.secrets.find((s) => s.type === "kubernetes.io/tls");
    expect(tls?.stringData).toEqual({ "tls.crt": { kind: "config", configKey: "tlsCert" }, "tls.key": { kind: "config", configKey: "tlsKey" } });
    expect(w.ingress?.spec.ingressClassName).toBe("traefik");
    expect(kubernetesRouterUrl(plan)).toBe("https://inference.example.co.uk");
    expect(w.router.autoscaler.spec.minReplicas).toBe(3);
  });

  it("k3s without an Ingress: the router URL is the first host on the router port", () => {
    expect(kubernetesRouterUrl(variants["prod-k8s"]!)).toBe("http://203.0.113.41:4000");
    expect(MIXED_HOSTS).toHaveLength(2);
  });
});
