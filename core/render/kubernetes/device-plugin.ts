/**
 * NVIDIA's device plugin as a DaemonSet on the GPU nodes of a k3s cluster: it advertises each
 * node's cards as the `nvidia.com/gpu` resource the engine pods ask for. Written after NVIDIA's
 * static deployment (NVIDIA/k8s-device-plugin, deployments/static/nvidia-device-plugin.yml),
 * with the pod run under the `nvidia` RuntimeClass, as k3s requires when the default runtime
 * stays runc (https://docs.k3s.io/advanced#alternative-container-runtime-support).
 * Existing clusters bring their own (usually NVIDIA's GPU Operator).
 */
import type { DeploymentPlan } from "../../plan/types";
import { imageName } from "../containers";
import type { DaemonSet } from "./types";
import { DEVICE_PLUGIN_IMAGE } from "./versions";
import { GPU_LABEL, GPU_RESOURCE } from "./workloads";

export const DEVICE_PLUGIN_NAMESPACE = "kube-system";
export const DEVICE_PLUGIN_NAME = "nvidia-device-plugin";

export function renderDevicePlugin(plan: DeploymentPlan): DaemonSet {
  const selector = { "app.kubernetes.io/name": DEVICE_PLUGIN_NAME, "app.kubernetes.io/instance": plan.spec.stack };
  const labels = { ...selector, "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/version": DEVICE_PLUGIN_IMAGE.tag };
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: DEVICE_PLUGIN_NAME, namespace: DEVICE_PLUGIN_NAMESPACE, labels },
    spec: {
      selector: { matchLabels: selector },
      updateStrategy: { type: "RollingUpdate" },
      template: {
        metadata: { labels },
        spec: {
          runtimeClassName: plan.spec.kubernetes.runtime_class,
          // Only nodes the stack declares as GPU hosts (labelled at k3s registration).
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: GPU_LABEL, operator: "Exists" }] }] } } },
          tolerations: [{ key: GPU_RESOURCE, operator: "Exists", effect: "NoSchedule" }],
          // A critical add-on: https://kubernetes.io/docs/tasks/administer-cluster/guaranteed-scheduling-critical-addon-pods/
          priorityClassName: "system-node-critical",
          automountServiceAccountToken: false,
          containers: [{
            name: "nvidia-device-plugin",
            image: imageName(DEVICE_PLUGIN_IMAGE),
            imagePullPolicy: "IfNotPresent",
            // Fail loudly: every node it runs on is declared to have GPUs.
            env: [{ name: "FAIL_ON_INIT_ERROR", value: "true" }],
            resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            volumeMounts: [{ name: "device-plugins", mountPath: "/var/lib/kubelet/device-plugins" }],
          }],
          volumes: [{ name: "device-plugins", hostPath: { path: "/var/lib/kubelet/device-plugins", type: "Directory" } }],
        },
      },
    },
  };
}
