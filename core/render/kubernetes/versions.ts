/**
 * Versions the kubernetes target pins. Each is a release read off its project in 2026-11;
 * change them together with the tests that run against them.
 */

/**
 * k3s release installed by `cluster: k3s` (overridable with `kubernetes.version`).
 * v1.36.4+k3s1 is the k3s stable channel since 2026-08-27 (k3s-io/k3s#14553, "Update stable
 * to v1.36.4+k3s1"); it ships Kubernetes v1.36.4.
 */
export const K3S_VERSION = "v1.36.4+k3s1";

/**
 * The Kubernetes minor version the manifests are written and validated for: the test suite
 * checks every manifest against the OpenAPI schemas of kubernetes-models 5.x, generated from
 * Kubernetes v1.36.0 (tommy351/kubernetes-models-ts, CHANGELOG 5.0.0 "Update to Kubernetes
 * v1.36.0"). Every API version used here (apps/v1, policy/v1, autoscaling/v2,
 * networking.k8s.io/v1) is GA and served by every Kubernetes from 1.23 on.
 */
export const KUBERNETES_MINOR = "1.36";

/**
 * NVIDIA's device plugin, which advertises `nvidia.com/gpu` on each node. v0.20.1: NVIDIA/k8s-device-plugin
 * #2057 (2026-09-22); image on NVIDIA's registry as in its static deployment
 * (deployments/static/nvidia-device-plugin.yml).
 */
export const DEVICE_PLUGIN_IMAGE = { repository: "nvcr.io/nvidia/k8s-device-plugin", tag: "v0.20.1" } as const;

/**
 * k3s's install script, taken from the release tag itself rather than get.k3s.io so that the
 * script matches the pinned release. It downloads the k3s binary of INSTALL_K3S_VERSION from
 * GitHub releases and checks it against the release's sha256sum file
 * (https://docs.k3s.io/installation/configuration#configuration-with-install-script).
 */
export function k3sInstallScriptUrl(version: string): string {
  return `https://raw.githubusercontent.com/k3s-io/k3s/${encodeURIComponent(version)}/install.sh`;
}
