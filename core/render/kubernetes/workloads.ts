/**
 * The kubernetes target's workloads as plain manifests, from the plan.
 *
 * Every container is translated from the same `ContainerSpec` the docker target runs
 * (core/render/containers.ts): image, argv, env, secret env, GPUs, mounts, files and health
 * check. What is Kubernetes-specific lives here: one Deployment per engine group
 * (core/plan/placement.ts) with its Service, PodDisruptionBudget and rollout strategy, the
 * router as a Deployment behind a Service with an autoscaler, an optional Ingress, and a
 * NetworkPolicy that lets only router pods reach the engines.
 *
 * Pure: no Pulumi. Secret values are `SecretSource`s; the component resolves them.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import type { EngineGroup } from "../../plan/types";
import type { DeploymentPlan, KubernetesTargetPlan } from "../../plan/types";
import { httpUrl } from "../../net/address";
import { MONITORING_PORTS, monitoringEnabled } from "../../plan/monitoring";
import { type ContainerSpec, type EngineInstance, ROUTER_INTERNAL_PORT, type SecretSource, engineContainer, imageName, modelCacheMount, routerContainer } from "../containers";
import { engineReadinessCheck, readinessProbeProgram } from "../readiness";
import { renderRouter } from "../router-config";
import type {
  ConfigMap, Container, Deployment, EnvVar, HorizontalPodAutoscaler, Ingress, Labels, Manifest, Namespace, NetworkPolicy,
  PodDisruptionBudget, Probe, Secret, Service, Toleration, Volume, VolumeMount,
} from "./types";

/** Node label holding the catalog GPU id (`rtx-4090`); k3s nodes get it at registration. */
export const GPU_LABEL = "hybrid-inference/gpu";
/** Node label holding the number of cards. */
export const GPU_COUNT_LABEL = "hybrid-inference/gpu-count";
/** Pod label naming a pod's engine group. */
export const GROUP_LABEL = "hybrid-inference/engine-group";
/** Extended resource NVIDIA's device plugin advertises (https://github.com/NVIDIA/k8s-device-plugin). */
export const GPU_RESOURCE = "nvidia.com/gpu";
/** Pod template annotation: a change of the router config rolls the router pods. */
export const CONFIG_HASH_ANNOTATION = "hybrid-inference/config-sha256";
/** How long Pulumi waits for a Deployment to become ready (Pulumi Kubernetes provider annotation). */
export const PULUMI_TIMEOUT_ANNOTATION = "pulumi.com/timeoutSeconds";

export const ENGINE_SECRET = "engine-credentials";
export const ROUTER_SECRET = "router-credentials";
export const ROUTER_CONFIG_MAP = "router-config";
export const ROUTER_NAME = "router";
export const INGRESS_TLS_SECRET = "router-tls";

/** Router CPU target of the autoscaler; LiteLLM is CPU-bound per worker. */
const ROUTER_CPU_TARGET_PERCENT = 70;
/** Period of the startup and readiness probes. */
const PROBE_PERIOD_S = 10;
/** Time Kubernetes allows after the startup window before it calls a rollout stuck. */
const PROGRESS_SLACK_S = 600;

export interface EngineWorkload {
  readonly group: EngineGroup;
  readonly deployment: Deployment;
  readonly service: Service;
  readonly podDisruptionBudget: PodDisruptionBudget;
}

export interface KubernetesWorkloads {
  readonly namespace: Namespace;
  readonly secrets: readonly Secret<SecretSource>[];
  readonly configMaps: readonly ConfigMap[];
  readonly engines: readonly EngineWorkload[];
  readonly router: {
    readonly deployment: Deployment;
    readonly service: Service;
    readonly autoscaler: HorizontalPodAutoscaler;
    readonly podDisruptionBudget: PodDisruptionBudget;
  };
  readonly ingress: Ingress | null;
  readonly networkPolicies: readonly NetworkPolicy[];
  /** The router's LiteLLM config (also in the ConfigMap), for review files. */
  readonly routerConfig: string;
  /** The router extension's files beside the config (paths relative to its directory), for review files. */
  readonly routerFiles: readonly { readonly path: string; readonly content: string }[];
}

/** `30s`, `10m`, `1h` -> seconds. */
export function durationSeconds(d: string): number {
  const m = /^([0-9]+)(s|m|h)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${JSON.stringify(d)}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as "s" | "m" | "h"];
}

function baseLabels(plan: DeploymentPlan): Labels {
  return {
    "app.kubernetes.io/name": "hybrid-inference",
    "app.kubernetes.io/instance": plan.spec.stack,
    "app.kubernetes.io/managed-by": "pulumi",
  };
}

export function engineSelector(plan: DeploymentPlan, group?: string): Labels {
  return {
    "app.kubernetes.io/name": "hybrid-inference",
    "app.kubernetes.io/instance": plan.spec.stack,
    "app.kubernetes.io/component": "engine",
    ...(group ? { [GROUP_LABEL]: group } : {}),
  };
}

export function routerSelector(plan: DeploymentPlan): Labels {
  return { "app.kubernetes.io/name": "hybrid-inference", "app.kubernetes.io/instance": plan.spec.stack, "app.kubernetes.io/component": "router" };
}

const GPU_TOLERATION: Toleration = { key: GPU_RESOURCE, operator: "Exists", effect: "NoSchedule" };

/**
 * Probes from the spec's health check: the same command Docker runs (minus Docker's `CMD`
 * marker). The startup probe allows the spec's start period (the engine's port opens only
 * after the model is downloaded and loaded, core/render/containers.ts), so
 * `failureThreshold x periodSeconds >= startPeriod`; liveness only starts counting after it.
 */
export function probesFor(spec: ContainerSpec): { startupProbe: Probe; readinessProbe: Probe; livenessProbe: Probe; startupSeconds: number } {
  const hc = spec.healthcheck;
  const command = hc.test[0] === "CMD" ? hc.test.slice(1) : [...hc.test];
  const timeoutSeconds = durationSeconds(hc.timeout);
  const startupSeconds = durationSeconds(hc.startPeriod);
  const exec = { command };
  return {
    startupSeconds,
    startupProbe: { exec, periodSeconds: PROBE_PERIOD_S, timeoutSeconds, failureThreshold: Math.ceil(startupSeconds / PROBE_PERIOD_S) + 1 },
    readinessProbe: { exec, periodSeconds: PROBE_PERIOD_S, timeoutSeconds, failureThreshold: 3, successThreshold: 1 },
    livenessProbe: { exec, periodSeconds: durationSeconds(hc.interval), timeoutSeconds, failureThreshold: hc.retries },
  };
}

/**
 * The engine pod is Ready (in its Service, and counted by `pulumi up`'s wait) only when it
 * serves everything clients call: for vLLM, the docker target's readiness check
 * (core/render/readiness.ts, the same Python program) run as the probe, so `/v1/models` must
 * list the served name and every adapter, read with the engine key from the pod's environment;
 * an adapter that failed to load keeps the pod out of rotation, and the kubelet's event says
 * which (`kubectl describe pod`). Startup and liveness stay on `/health`: a missing adapter must
 * not restart an engine that serves the base model. LoRAX keeps `/health`: its check is a
 * completion per name, which a probe every few seconds would turn into constant load.
 */
function engineReadinessProbe(plan: DeploymentPlan, base: Probe): Probe {
  const { check, probes } = engineReadinessCheck(plan);
  if (check !== "vllm") return base;
  return { ...base, exec: { command: ["python3", "-c", readinessProbeProgram(), check, JSON.stringify(probes)] } };
}

/** Plain env, then secret env as references to `secretName` (one key per variable). */
function envFor(spec: ContainerSpec, secretName: string): EnvVar[] {
  return [
    ...Object.entries(spec.env).map(([name, value]) => ({ name, value })),
    ...Object.keys(spec.secretEnv).map((name) => ({ name, valueFrom: { secretKeyRef: { name: secretName, key: name } } })),
  ];
}

/** A spec's files as one ConfigMap, each file mounted at its path with subPath. */
function filesFor(spec: ContainerSpec, configMapName: string): { volumes: Volume[]; mounts: VolumeMount[]; data: Record<string, string> } {
  if (spec.secretFiles.length > 0) throw new Error(`${spec.name}: secret files are not supported on the kubernetes target`);
  if (spec.files.length === 0) return { volumes: [], mounts: [], data: {} };
  const data: Record<string, string> = {};
  const mounts: VolumeMount[] = spec.files.map((f) => {
    const key = path.posix.basename(f.path);
    if (key in data) throw new Error(`${spec.name}: two files named ${key}`);
    data[key] = f.content;
    return { name: "files", mountPath: f.path, subPath: key, readOnly: true };
  });
  return { volumes: [{ name: "files", configMap: { name: configMapName, items: Object.keys(data).map((key) => ({ key, path: key })) } }], mounts, data };
}

function secretFor(plan: DeploymentPlan, name: string, specs: readonly ContainerSpec[]): Secret<SecretSource> {
  const stringData: Record<string, SecretSource> = {};
  for (const spec of specs) Object.assign(stringData, spec.secretEnv);
  return { apiVersion: "v1", kind: "Secret", metadata: { name, namespace: plan.spec.kubernetes.namespace, labels: baseLabels(plan) }, type: "Opaque", stringData };
}

function engineWorkload(plan: DeploymentPlan, group: EngineGroup, spec: ContainerSpec): EngineWorkload {
  const k = plan.spec.kubernetes;
  const ns = k.namespace;
  const selector = engineSelector(plan, group.name);
  const labels = { ...baseLabels(plan), ...selector };
  const tp = group.tensorParallel;
  const probes = probesFor(spec);
  const readinessProbe = engineReadinessProbe(plan, probes.readinessProbe);
  const weightsGB = plan.engine.weightBytes / 1e9;

  const volumes: Volume[] = [];
  const mounts: VolumeMount[] = [];
  const cachePath = modelCacheMount(plan.engine.kind, plan.spec.access.cache_dir).containerPath;
  let compileCaches = 0;
  spec.volumes.forEach((v, i) => {
    if (v.containerPath === cachePath) {
      volumes.push(k.model_cache.type === "host_path"
        // The cache-dir bootstrap step creates it on k3s nodes; DirectoryOrCreate covers existing clusters.
        ? { name: "model-cache", hostPath: { path: v.hostPath, type: "DirectoryOrCreate" } }
        : { name: "model-cache", emptyDir: { sizeLimit: `${k.model_cache.size_limit_gb ?? Math.ceil(weightsGB * 1.5)}Gi` } });
      mounts.push({ name: "model-cache", mountPath: v.containerPath });
    } else if (v.cache === "compile") {
      // Compile caches (vLLM's torch.compile, FlashInfer's JIT) follow the model cache: on the
      // node's disk next to it, kept across pod restarts; with empty_dir, per pod (a liveness
      // restart still keeps them, a rescheduled pod compiles again). Written by the engine.
      const name = `compile-cache-${compileCaches++}`;
      volumes.push(k.model_cache.type === "host_path"
        ? { name, hostPath: { path: v.hostPath, type: "DirectoryOrCreate" } }
        : { name, emptyDir: {} });
      mounts.push({ name, mountPath: v.containerPath });
    } else {
      // LoRA adapters on the nodes' local disk, read-only.
      volumes.push({ name: `adapter-${i}`, hostPath: { path: v.hostPath, type: "Directory" } });
      mounts.push({ name: `adapter-${i}`, mountPath: v.containerPath, readOnly: v.readOnly });
    }
  });
  const shmMb = spec.shmSizeMb ?? 0;
  if (shmMb > 0) {
    // Tensor/data-parallel workers exchange tensors through /dev/shm; the container default is 64 MiB.
    volumes.push({ name: "shm", emptyDir: { medium: "Memory", sizeLimit: `${shmMb}Mi` } });
    mounts.push({ name: "shm", mountPath: "/dev/shm" });
  }
  const gpus = String(spec.gpus === "all" ? tp : spec.gpus ?? 0);

  // Host memory of one vLLM replica besides /dev/shm: the API server, tokenizer, CUDA host
  // buffers and the page cache of the memory-mapped weights it loads [estimate].
  const memoryGi = 8 + Math.ceil(shmMb / 1024);
  const container: Container = {
    name: "engine",
    image: imageName(spec.image),
    imagePullPolicy: "IfNotPresent",
    args: [...spec.command],
    env: envFor(spec, ENGINE_SECRET),
    ports: [{ name: "http", containerPort: plan.engine.port, protocol: "TCP" }],
    resources: {
      requests: { cpu: String(2 * tp), memory: `${memoryGi}Gi`, [GPU_RESOURCE]: gpus },
      limits: { [GPU_RESOURCE]: gpus },
    },
    volumeMounts: mounts,
    startupProbe: probes.startupProbe,
    readinessProbe,
    livenessProbe: probes.livenessProbe,
    securityContext: { allowPrivilegeEscalation: false },
  };
  const timeout = probes.startupSeconds + PROGRESS_SLACK_S;
  const deployment: Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: group.name, namespace: ns, labels, annotations: { [PULUMI_TIMEOUT_ANNOTATION]: String(timeout) } },
    spec: {
      replicas: group.replicas,
      selector: { matchLabels: selector },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: group.rollout.maxSurge, maxUnavailable: group.rollout.maxUnavailable } },
      // A first start downloads the weights: do not call the rollout stuck before that is done.
      progressDeadlineSeconds: timeout,
      revisionHistoryLimit: 5,
      template: {
        metadata: { labels },
        spec: {
          runtimeClassName: k.runtime_class,
          nodeSelector: { [GPU_LABEL]: group.gpu.id },
          tolerations: [GPU_TOLERATION],
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } }],
          automountServiceAccountToken: false,
          // vLLM reads VLLM_* variables; Service links would add <SERVICE>_PORT ones to the environment.
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 60,
          containers: [container],
          volumes,
        },
      },
    },
  };
  const service: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: group.name, namespace: ns, labels },
    // Inside the cluster only: the router is the one way in.
    spec: { type: "ClusterIP", selector, ports: [{ name: "http", port: plan.engine.port, targetPort: "http", protocol: "TCP" }] },
  };
  const podDisruptionBudget: PodDisruptionBudget = {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: group.name, namespace: ns, labels },
    // One replica at a time, so a node drain never empties a group while another is down; a
    // single-replica group can still be drained (the router spills to the managed tier meanwhile).
    spec: { selector: { matchLabels: selector }, maxUnavailable: 1 },
  };
  return { group, deployment, service, podDisruptionBudget };
}

/** The plan's kubernetes part; throws for a plan made for the docker target. */
export function kubernetesPart(plan: DeploymentPlan): KubernetesTargetPlan {
  if (plan.target.kind !== "kubernetes") throw new Error(`stack ${plan.spec.stack}: the plan is for the ${plan.target.kind} target, not kubernetes`);
  return plan.target;
}

/** One pod of an engine group: `tp` cards, one replica, no host port. */
export function groupEngineInstance(group: EngineGroup): EngineInstance {
  return { name: group.name, tensorParallel: group.tensorParallel, dataParallel: 1, gpus: group.tensorParallel };
}

export function renderKubernetesWorkloads(plan: DeploymentPlan): KubernetesWorkloads {
  const target = kubernetesPart(plan);
  const k = target.settings;
  const ns = k.namespace;

  const engineSpecs = target.placement.groups.map((g) => engineContainer(plan, groupEngineInstance(g)));
  const engines = target.placement.groups.map((g, i) => engineWorkload(plan, g, engineSpecs[i]!));

  const rendered = renderRouter(plan);
  const routerConfig = rendered.yaml;
  const routerSpec = routerContainer(plan, rendered);
  const selector = routerSelector(plan);
  const labels = { ...baseLabels(plan), ...selector };
  const files = filesFor(routerSpec, ROUTER_CONFIG_MAP);
  const probes = probesFor(routerSpec);
  // The extension's lasting state is per pod here (an emptyDir, kept across container
  // restarts): each pod admits its share of an engine's rate and of the frontier budgets
  // (core/render/router-extension.ts divides them by the router instances).
  const routerState = {
    volumes: routerSpec.volumes.map((_, i): Volume => ({ name: `router-state-${i}`, emptyDir: {} })),
    mounts: routerSpec.volumes.map((v, i): VolumeMount => ({ name: `router-state-${i}`, mountPath: v.containerPath })),
  };
  const workers = plan.router.numWorkers;
  const minReplicas = k.router_replicas;
  const maxReplicas = k.router_max_replicas ?? minReplicas * 3;
  const routerDeployment: Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: ROUTER_NAME, namespace: ns, labels, annotations: { [PULUMI_TIMEOUT_ANNOTATION]: String(probes.startupSeconds + PROGRESS_SLACK_S) } },
    spec: {
      replicas: minReplicas,
      selector: { matchLabels: selector },
      // Router pods need no GPU: a new one can always start before an old one stops.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      progressDeadlineSeconds: probes.startupSeconds + PROGRESS_SLACK_S,
      revisionHistoryLimit: 5,
      template: {
        // Every file counts: a changed extension setting rolls the pods as a changed config does.
        metadata: { labels, annotations: { [CONFIG_HASH_ANNOTATION]: createHash("sha256").update(JSON.stringify(routerSpec.files)).digest("hex") } },
        spec: {
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } }],
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [{
            name: "router",
            image: imageName(routerSpec.image),
            imagePullPolicy: "IfNotPresent",
            args: [...routerSpec.command],
            env: envFor(routerSpec, ROUTER_SECRET),
            ports: [
              { name: "http", containerPort: ROUTER_INTERNAL_PORT, protocol: "TCP" },
              // LiteLLM's metrics process (--prometheus_metrics_port): what the monitoring scrapes, by this name.
              ...(monitoringEnabled(plan.spec) ? [{ name: "metrics", containerPort: MONITORING_PORTS.routerMetrics, protocol: "TCP" as const }] : []),
            ],
            // LiteLLM's workers are processes of ~0.5 GiB each [estimate from its benchmarks' sizing].
            resources: {
              requests: { cpu: `${250 * workers}m`, memory: `${512 * workers}Mi` },
              limits: { memory: `${1024 * workers}Mi` },
            },
            volumeMounts: [...files.mounts, ...routerState.mounts],
            startupProbe: probes.startupProbe,
            readinessProbe: probes.readinessProbe,
            livenessProbe: probes.livenessProbe,
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
          }],
          volumes: [...files.volumes, ...routerState.volumes],
        },
      },
    },
  };
  const ingressConfig = k.ingress;
  const routerService: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: ROUTER_NAME, namespace: ns, labels },
    spec: ingressConfig
      ? { type: "ClusterIP", selector, ports: [{ name: "http", port: plan.router.port, targetPort: "http", protocol: "TCP" }] }
      // Without an Ingress the router is a LoadBalancer Service (k3s: ServiceLB on every node),
      // open only to router.allowed_cidrs through loadBalancerSourceRanges
      // (https://kubernetes.io/docs/reference/kubernetes-api/service-resources/service-v1/), which
      // k3s's ServiceLB enforces since klipper-lb v0.4.0 (k3s-io/k3s#6549).
      : { type: "LoadBalancer", selector, ports: [{ name: "http", port: plan.router.port, targetPort: "http", protocol: "TCP" }], loadBalancerSourceRanges: [...plan.router.allowedCidrs] },
  };
  const autoscaler: HorizontalPodAutoscaler = {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: ROUTER_NAME, namespace: ns, labels },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: ROUTER_NAME },
      minReplicas,
      maxReplicas,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: ROUTER_CPU_TARGET_PERCENT } } }],
    },
  };
  const routerPdb: PodDisruptionBudget = {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: ROUTER_NAME, namespace: ns, labels },
    spec: { selector: { matchLabels: selector }, maxUnavailable: 1 },
  };

  const secrets: Secret<SecretSource>[] = [secretFor(plan, ENGINE_SECRET, engineSpecs), secretFor(plan, ROUTER_SECRET, [routerSpec])];
  let ingress: Ingress | null = null;
  if (ingressConfig) {
    const provided = ingressConfig.certificate_secret && ingressConfig.private_key_secret
      ? { cert: ingressConfig.certificate_secret, key: ingressConfig.private_key_secret }
      : null;
    if (provided) {
      secrets.push({
        apiVersion: "v1", kind: "Secret", metadata: { name: INGRESS_TLS_SECRET, namespace: ns, labels: baseLabels(plan) }, type: "kubernetes.io/tls",
        stringData: { "tls.crt": { kind: "config", configKey: provided.cert }, "tls.key": { kind: "config", configKey: provided.key } },
      });
    }
    const issuer = ingressConfig.cert_manager_cluster_issuer;
    const tls = provided !== null || issuer !== undefined;
    ingress = {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: {
        name: ROUTER_NAME, namespace: ns, labels,
        // cert-manager's ingress-shim issues the certificate into the TLS secret (https://cert-manager.io/docs/usage/ingress/).
        ...(issuer ? { annotations: { "cert-manager.io/cluster-issuer": issuer } } : {}),
      },
      spec: {
        ...(ingressConfig.class_name ? { ingressClassName: ingressConfig.class_name } : {}),
        ...(tls ? { tls: [{ hosts: [ingressConfig.host], secretName: INGRESS_TLS_SECRET }] } : {}),
        rules: [{
          host: ingressConfig.host,
          http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: ROUTER_NAME, port: { number: plan.router.port } } } }] },
        }],
      },
    };
  }
  const networkPolicies: NetworkPolicy[] = [{
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "engines-from-router", namespace: ns, labels: baseLabels(plan) },
    // Engines answer /health and /metrics without the API key: only router pods may connect.
    // k3s enforces NetworkPolicy with its embedded controller (https://docs.k3s.io/networking/networking-services).
    spec: {
      podSelector: { matchLabels: engineSelector(plan) },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ podSelector: { matchLabels: selector } }], ports: [{ protocol: "TCP", port: plan.engine.port }] }],
    },
  }];

  return {
    namespace: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: baseLabels(plan) } },
    secrets,
    configMaps: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: ROUTER_CONFIG_MAP, namespace: ns, labels }, data: files.data }],
    engines,
    router: { deployment: routerDeployment, service: routerService, autoscaler, podDisruptionBudget: routerPdb },
    ingress,
    networkPolicies,
    routerConfig,
    routerFiles: rendered.extension.files,
  };
}

/** Every manifest, in the order they can be applied. */
export function workloadManifests(w: KubernetesWorkloads): Manifest<SecretSource>[] {
  return [
    w.namespace,
    ...w.secrets,
    ...w.configMaps,
    ...w.networkPolicies,
    ...w.engines.flatMap((e) => [e.deployment, e.service, e.podDisruptionBudget]),
    w.router.deployment,
    w.router.service,
    w.router.autoscaler,
    w.router.podDisruptionBudget,
    ...(w.ingress ? [w.ingress] : []),
  ];
}

/** Fields Pulumi leaves to the cluster after creating an object: the router's replica count belongs to its autoscaler. */
export function clusterOwnedFields(m: Manifest<unknown>): string[] {
  return m.kind === "Deployment" && m.metadata.name === ROUTER_NAME ? ["spec.replicas"] : [];
}

/**
 * The router's URL when the plan knows it: the Ingress host, or on k3s the first host's
 * address (ServiceLB answers on every node). Null for a LoadBalancer on an existing cluster,
 * whose address only the Service's status tells.
 */
export function kubernetesRouterUrl(plan: DeploymentPlan): string | null {
  const k = plan.spec.kubernetes;
  if (k.ingress) {
    const tls = Boolean(k.ingress.cert_manager_cluster_issuer || (k.ingress.certificate_secret && k.ingress.private_key_secret));
    return `${tls ? "https" : "http"}://${k.ingress.host}`;
  }
  if (k.cluster === "k3s") return httpUrl("http", plan.hosts[0]!.address, plan.router.port);
  return null;
}

/** The router's URL from its LoadBalancer Service's status, on an existing cluster; a hint while it is pending. */
export function loadBalancerRouterUrl(plan: DeploymentPlan, ingress: { readonly ip?: string; readonly hostname?: string } | undefined): string {
  const host = ingress?.ip ?? ingress?.hostname;
  return host ? httpUrl("http", host, plan.router.port) : `(pending: kubectl -n ${plan.spec.kubernetes.namespace} get service ${ROUTER_NAME})`;
}
