/**
 * The Kubernetes objects the kubernetes target renders, as plain data: only the fields this
 * project sets, named as in the Kubernetes API reference
 * (https://kubernetes.io/docs/reference/kubernetes-api/). The tests validate every rendered
 * object against the OpenAPI schemas of the targeted Kubernetes version, so a field spelt
 * wrong here fails there.
 *
 * Secret values are a type parameter: the renderers say where each value comes from
 * (`SecretSource`), the component resolves that to a Pulumi secret, the tests to a string.
 */
export type Labels = Readonly<Record<string, string>>;

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Labels;
  readonly annotations?: Labels;
}

export interface LabelSelector {
  readonly matchLabels: Labels;
}

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly secretKeyRef: { readonly name: string; readonly key: string } };
}

export interface Probe {
  readonly exec: { readonly command: string[] };
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly failureThreshold: number;
  readonly successThreshold?: number;
}

export interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly subPath?: string;
  readonly readOnly?: boolean;
}

export interface Volume {
  readonly name: string;
  readonly hostPath?: { readonly path: string; readonly type: "Directory" | "DirectoryOrCreate" };
  readonly emptyDir?: { readonly medium?: "Memory"; readonly sizeLimit?: string };
  readonly configMap?: { readonly name: string; readonly items: { readonly key: string; readonly path: string }[] };
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly imagePullPolicy: "IfNotPresent";
  readonly args?: string[];
  readonly env?: EnvVar[];
  readonly ports?: { readonly name: string; readonly containerPort: number; readonly protocol: "TCP" }[];
  readonly resources: {
    readonly requests: Labels;
    readonly limits?: Labels;
  };
  readonly volumeMounts?: VolumeMount[];
  readonly startupProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly securityContext?: {
    readonly allowPrivilegeEscalation: false;
    readonly capabilities?: { readonly drop: string[] };
  };
}

export interface Toleration {
  readonly key: string;
  readonly operator: "Exists";
  readonly effect: "NoSchedule";
}

export interface TopologySpreadConstraint {
  readonly maxSkew: number;
  readonly topologyKey: string;
  readonly whenUnsatisfiable: "ScheduleAnyway" | "DoNotSchedule";
  readonly labelSelector: LabelSelector;
}

export interface PodSpec {
  readonly containers: Container[];
  readonly volumes?: Volume[];
  readonly nodeSelector?: Labels;
  readonly affinity?: {
    readonly nodeAffinity: {
      readonly requiredDuringSchedulingIgnoredDuringExecution: {
        readonly nodeSelectorTerms: { readonly matchExpressions: { readonly key: string; readonly operator: "Exists" }[] }[];
      };
    };
  };
  readonly runtimeClassName?: string;
  readonly priorityClassName?: string;
  readonly tolerations?: Toleration[];
  readonly topologySpreadConstraints?: TopologySpreadConstraint[];
  readonly serviceAccountName?: string;
  readonly automountServiceAccountToken?: boolean;
  readonly enableServiceLinks?: boolean;
  readonly terminationGracePeriodSeconds?: number;
}

export interface PodTemplate {
  readonly metadata: { readonly labels: Labels; readonly annotations?: Labels };
  readonly spec: PodSpec;
}

export interface Namespace {
  readonly apiVersion: "v1";
  readonly kind: "Namespace";
  readonly metadata: ObjectMeta;
}

export interface Secret<V> {
  readonly apiVersion: "v1";
  readonly kind: "Secret";
  readonly metadata: ObjectMeta;
  readonly type: "Opaque" | "kubernetes.io/tls";
  readonly stringData: Readonly<Record<string, V>>;
}

export interface ConfigMap {
  readonly apiVersion: "v1";
  readonly kind: "ConfigMap";
  readonly metadata: ObjectMeta;
  readonly data: Labels;
}

export interface Deployment {
  readonly apiVersion: "apps/v1";
  readonly kind: "Deployment";
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly replicas: number;
    readonly selector: LabelSelector;
    readonly strategy: { readonly type: "RollingUpdate"; readonly rollingUpdate: { readonly maxSurge: number; readonly maxUnavailable: number } };
    readonly progressDeadlineSeconds: number;
    readonly revisionHistoryLimit: number;
    readonly template: PodTemplate;
  };
}

export interface DaemonSet {
  readonly apiVersion: "apps/v1";
  readonly kind: "DaemonSet";
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly selector: LabelSelector;
    readonly updateStrategy: { readonly type: "RollingUpdate" };
    readonly template: PodTemplate;
  };
}

export interface Service {
  readonly apiVersion: "v1";
  readonly kind: "Service";
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly type: "ClusterIP" | "LoadBalancer";
    readonly selector: Labels;
    readonly ports: { readonly name: string; readonly port: number; readonly targetPort: string; readonly protocol: "TCP" }[];
    readonly loadBalancerSourceRanges?: string[];
    readonly externalTrafficPolicy?: "Local" | "Cluster";
  };
}

export interface PodDisruptionBudget {
  readonly apiVersion: "policy/v1";
  readonly kind: "PodDisruptionBudget";
  readonly metadata: ObjectMeta;
  readonly spec: { readonly selector: LabelSelector; readonly maxUnavailable: number };
}

export interface HorizontalPodAutoscaler {
  readonly apiVersion: "autoscaling/v2";
  readonly kind: "HorizontalPodAutoscaler";
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly scaleTargetRef: { readonly apiVersion: "apps/v1"; readonly kind: "Deployment"; readonly name: string };
    readonly minReplicas: number;
    readonly maxReplicas: number;
    readonly metrics: {
      readonly type: "Resource";
      readonly resource: { readonly name: "cpu"; readonly target: { readonly type: "Utilization"; readonly averageUtilization: number } };
    }[];
  };
}

export interface Ingress {
  readonly apiVersion: "networking.k8s.io/v1";
  readonly kind: "Ingress";
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly ingressClassName?: string;
    readonly tls?: { readonly hosts: string[]; readonly secretName: string }[];
    readonly rules: {
      readonly host: string;
      readonly http: {
        readonly paths: {
          readonly path: string;
          readonly pathType: "Prefix";
          readonly backend: { readonly service: { readonly name: string; readonly port: { readonly number: number } } };
        }[];
      };
    }[];
  };
}

export interface NetworkPolicy {
  readonly apiVersion: "networking.k8s.io/v1";
  readonly kind: "NetworkPolicy";
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly podSelector: LabelSelector;
    readonly policyTypes: "Ingress"[];
    readonly ingress: {
      /** With a namespaceSelector, pods matching both (a namespace other than the policy's). */
      readonly from: { readonly podSelector: LabelSelector; readonly namespaceSelector?: LabelSelector }[];
      readonly ports: { readonly protocol: "TCP"; readonly port: number }[];
    }[];
  };
}

export interface ServiceAccount {
  readonly apiVersion: "v1";
  readonly kind: "ServiceAccount";
  readonly metadata: ObjectMeta;
  readonly automountServiceAccountToken: boolean;
}

export interface PolicyRule {
  readonly apiGroups: string[];
  readonly resources: string[];
  readonly verbs: ("get" | "list" | "watch")[];
}

export interface Role {
  readonly apiVersion: "rbac.authorization.k8s.io/v1";
  readonly kind: "Role";
  readonly metadata: ObjectMeta;
  readonly rules: PolicyRule[];
}

export interface RoleBinding {
  readonly apiVersion: "rbac.authorization.k8s.io/v1";
  readonly kind: "RoleBinding";
  readonly metadata: ObjectMeta;
  readonly roleRef: { readonly apiGroup: "rbac.authorization.k8s.io"; readonly kind: "Role"; readonly name: string };
  readonly subjects: { readonly kind: "ServiceAccount"; readonly name: string; readonly namespace: string }[];
}

/**
 * A Prometheus relabeling as the Prometheus Operator spells it (camelCase of Prometheus's
 * relabel_config; https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.RelabelConfig).
 */
export interface OperatorRelabel {
  readonly sourceLabels?: string[];
  readonly targetLabel?: string;
  readonly regex?: string;
  readonly replacement?: string;
  readonly action?: "replace" | "keep" | "drop";
}

/** The Prometheus Operator's PodMonitor (monitoring.coreos.com/v1): which pods, which port, which labels. */
export interface PodMonitor {
  readonly apiVersion: "monitoring.coreos.com/v1";
  readonly kind: "PodMonitor";
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly selector: LabelSelector;
    readonly namespaceSelector: { readonly matchNames: string[] };
    readonly podMetricsEndpoints: {
      readonly port: string;
      readonly path: string;
      readonly interval: string;
      readonly scrapeTimeout: string;
      readonly relabelings: OperatorRelabel[];
    }[];
  };
}

/** The Prometheus Operator's PrometheusRule (monitoring.coreos.com/v1): rule groups as in a rule file. */
export interface PrometheusRule {
  readonly apiVersion: "monitoring.coreos.com/v1";
  readonly kind: "PrometheusRule";
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly groups: {
      readonly name: string;
      readonly interval: string;
      readonly rules: {
        readonly record?: string;
        readonly alert?: string;
        readonly expr: string;
        readonly for?: string;
        readonly labels?: Labels;
        readonly annotations?: Labels;
      }[];
    }[];
  };
}

/** Every kind the target renders; `kind` tells them apart. */
export type Manifest<V> =
  | Namespace
  | Secret<V>
  | ConfigMap
  | Deployment
  | DaemonSet
  | Service
  | PodDisruptionBudget
  | HorizontalPodAutoscaler
  | Ingress
  | NetworkPolicy
  | ServiceAccount
  | Role
  | RoleBinding
  | PodMonitor
  | PrometheusRule;
