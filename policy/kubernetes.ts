/**
 * What the rules read from Kubernetes resources (the kubernetes target,
 * core/render/kubernetes/workloads.ts): pod specs of workloads, their containers, the
 * `app.kubernetes.io/component` label (`engine` or `router`), replica counts, and the
 * LiteLLM config carried by a ConfigMap. Field names: Kubernetes API reference (apps/v1,
 * batch/v1, core/v1, autoscaling/v2).
 */
import { type ResourceView, asArray, asRecord, asString, isUnknown, unwrap } from "./view";

export const K8S_SERVICE_TYPE = "kubernetes:core/v1:Service";
export const K8S_SECRET_TYPE = "kubernetes:core/v1:Secret";
export const K8S_CONFIGMAP_TYPE = "kubernetes:core/v1:ConfigMap";
export const K8S_DEPLOYMENT_TYPE = "kubernetes:apps/v1:Deployment";
export const K8S_HPA_TYPE = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler";
const COMPONENT_LABEL = "app.kubernetes.io/component";

/** Workload types and the path from `spec` to their pod spec. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  "kubernetes:core/v1:Pod": ["spec"],
  "kubernetes:apps/v1:Deployment": ["spec", "template", "spec"],
  "kubernetes:apps/v1:StatefulSet": ["spec", "template", "spec"],
  "kubernetes:apps/v1:DaemonSet": ["spec", "template", "spec"],
  "kubernetes:apps/v1:ReplicaSet": ["spec", "template", "spec"],
  "kubernetes:batch/v1:Job": ["spec", "template", "spec"],
  "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
};

export function isWorkload(r: ResourceView): boolean {
  return r.type in POD_SPEC_PATHS;
}

function at(value: unknown, path: readonly string[]): unknown {
  let cur = value;
  for (const key of path) cur = asRecord(cur)?.[key];
  return cur;
}

export function podSpecOf(r: ResourceView): Readonly<Record<string, unknown>> | undefined {
  const path = POD_SPEC_PATHS[r.type];
  return path ? asRecord(at(r.props, path)) : undefined;
}

export interface PodContainer {
  readonly name: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Containers and init containers of a workload's pod spec. */
export function containersOf(r: ResourceView): PodContainer[] {
  const spec = podSpecOf(r);
  if (!spec) return [];
  return ["initContainers", "containers"].flatMap((key) =>
    (asArray(spec[key]) ?? []).flatMap((c, i) => {
      const fields = asRecord(c);
      return fields ? [{ name: asString(fields["name"]) ?? `${key}[${i}]`, fields }] : [];
    }));
}

export function labelOf(r: ResourceView, label: string): string | undefined {
  return asString(asRecord(asRecord(r.props["metadata"])?.["labels"])?.[label]);
}

export function k8sName(r: ResourceView): string {
  return asString(asRecord(r.props["metadata"])?.["name"]) ?? r.name;
}

export function isK8sEngine(r: ResourceView): boolean {
  return r.type.startsWith("kubernetes:") && labelOf(r, COMPONENT_LABEL) === "engine";
}

export function isK8sRouter(r: ResourceView): boolean {
  return r.type.startsWith("kubernetes:") && labelOf(r, COMPONENT_LABEL) === "router";
}

/** `spec.replicas` of a workload (Kubernetes' default: 1); undefined while unknown. */
export function replicasOf(r: ResourceView): number | undefined {
  const raw = asRecord(r.props["spec"])?.["replicas"];
  if (raw === undefined) return 1;
  if (isUnknown(raw)) return undefined;
  const n = unwrap(raw).value;
  return typeof n === "number" ? n : undefined;
}

/** An autoscaler's floor for the workload it scales: `minReplicas` (default 1) and its target's name. */
export function autoscalerFloor(r: ResourceView): { readonly target: string; readonly minReplicas: number } | undefined {
  if (r.type !== K8S_HPA_TYPE) return undefined;
  const spec = asRecord(r.props["spec"]);
  const target = asString(asRecord(spec?.["scaleTargetRef"])?.["name"]);
  const min = unwrap(spec?.["minReplicas"]).value;
  return target === undefined ? undefined : { target, minReplicas: typeof min === "number" ? min : 1 };
}

/** Values of a ConfigMap's `data` (known strings only). */
export function configMapFiles(r: ResourceView): { readonly key: string; readonly content: string }[] {
  if (r.type !== K8S_CONFIGMAP_TYPE) return [];
  const data = asRecord(r.props["data"]);
  if (!data) return [];
  return Object.entries(data).flatMap(([key, v]) => {
    const content = asString(v);
    return content === undefined ? [] : [{ key, content }];
  });
}
