/**
 * Validation of rendered manifests against the Kubernetes API of the targeted version, with
 * kubernetes-models 5.x (its models and OpenAPI-derived validators are generated from
 * Kubernetes v1.36.0; core/render/kubernetes/versions.ts).
 *
 * Two checks, because each misses what the other catches:
 *  - at run time, `new <Kind>(obj).validate()`: types, required fields, enums, apiVersion/kind
 *    (its validators let unknown fields through);
 *  - at compile time, `FieldProblems<Ours, Theirs>`: every field our manifest types can hold
 *    exists, at the same path, in the model's TypeScript interface, so a misspelt field fails
 *    `tsc` (see the assertions at the bottom).
 */
import { Deployment as DeploymentModel, type IDeployment } from "kubernetes-models/apps/v1/Deployment";
import { DaemonSet as DaemonSetModel, type IDaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { HorizontalPodAutoscaler as HpaModel, type IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Ingress as IngressModel, type IIngress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { NetworkPolicy as NetworkPolicyModel, type INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget as PdbModel, type IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap as ConfigMapModel, type IConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace as NamespaceModel, type INamespace } from "kubernetes-models/v1/Namespace";
import { Secret as SecretModel, type ISecret } from "kubernetes-models/v1/Secret";
import { Service as ServiceModel, type IService } from "kubernetes-models/v1/Service";
import { ServiceAccount as ServiceAccountModel, type IServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { Role as RoleModel, type IRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding as RoleBindingModel, type IRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
// The Prometheus Operator's CRDs, @kubernetes-models/prometheus-operator 6.x (generated from the
// operator's Go API types, monitoring.coreos.com/v1).
import { PodMonitor as PodMonitorModel, type IPodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import { PrometheusRule as PrometheusRuleModel, type IPrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import type {
  ConfigMap, DaemonSet, Deployment, HorizontalPodAutoscaler, Ingress, Manifest, Namespace, NetworkPolicy, PodDisruptionBudget, PodMonitor, PrometheusRule,
  Role, RoleBinding, Secret, Service, ServiceAccount,
} from "../../core/render/kubernetes/types";

/**
 * The models' `validate` comes from @kubernetes-models/base, whose types this project's
 * `moduleResolution: node` cannot see (ESM exports map only); it exists at run time.
 */
interface Validatable {
  validate(): void;
}
const check = (model: unknown): void => (model as Validatable).validate();

/** Throws kubernetes-models' validation error (with the failing path) for an invalid object. */
export function validateManifest(m: Manifest<string> | Record<string, unknown>): void {
  const kind = (m as { kind?: unknown }).kind;
  const data = m as never;
  switch (kind) {
    case "Namespace": return check(new NamespaceModel(data));
    case "Secret": return check(new SecretModel(data));
    case "ConfigMap": return check(new ConfigMapModel(data));
    case "Deployment": return check(new DeploymentModel(data));
    case "DaemonSet": return check(new DaemonSetModel(data));
    case "Service": return check(new ServiceModel(data));
    case "PodDisruptionBudget": return check(new PdbModel(data));
    case "HorizontalPodAutoscaler": return check(new HpaModel(data));
    case "Ingress": return check(new IngressModel(data));
    case "NetworkPolicy": return check(new NetworkPolicyModel(data));
    case "ServiceAccount": return check(new ServiceAccountModel(data));
    case "Role": return check(new RoleModel(data));
    case "RoleBinding": return check(new RoleBindingModel(data));
    case "PodMonitor": return check(new PodMonitorModel(data));
    case "PrometheusRule": return check(new PrometheusRuleModel(data));
    default: throw new Error(`no Kubernetes model for kind ${String(kind)}`);
  }
}

type Leaf = string | number | boolean | null | undefined;

/** The paths of fields in `A` that `B` does not have (never when every field exists). */
export type FieldProblems<A, B, P extends string = ""> =
  A extends Leaf ? never
  : A extends readonly (infer EA)[]
    ? NonNullable<B> extends readonly (infer EB)[] ? FieldProblems<EA, EB, `${P}[]`> : `${P}: not an array in the API`
    : { [K in keyof A & string]-?: K extends keyof NonNullable<B>
        ? FieldProblems<NonNullable<A[K]>, NonNullable<NonNullable<B>[K]>, `${P}.${K}`>
        : `${P}.${K}: no such field in the API` }[keyof A & string];

type Expect<T extends never> = T;
// Compile-time: every field of every manifest type is a field of the Kubernetes API object.
export type ManifestFieldsExist = [
  Expect<FieldProblems<Namespace, INamespace>>,
  Expect<FieldProblems<Secret<string>, ISecret>>,
  Expect<FieldProblems<ConfigMap, IConfigMap>>,
  Expect<FieldProblems<Deployment, IDeployment>>,
  Expect<FieldProblems<DaemonSet, IDaemonSet>>,
  Expect<FieldProblems<Service, IService>>,
  Expect<FieldProblems<PodDisruptionBudget, IPodDisruptionBudget>>,
  Expect<FieldProblems<HorizontalPodAutoscaler, IHorizontalPodAutoscaler>>,
  Expect<FieldProblems<Ingress, IIngress>>,
  Expect<FieldProblems<NetworkPolicy, INetworkPolicy>>,
  Expect<FieldProblems<ServiceAccount, IServiceAccount>>,
  Expect<FieldProblems<Role, IRole>>,
  Expect<FieldProblems<RoleBinding, IRoleBinding>>,
  Expect<FieldProblems<PodMonitor, IPodMonitor>>,
  Expect<FieldProblems<PrometheusRule, IPrometheusRule>>,
];
