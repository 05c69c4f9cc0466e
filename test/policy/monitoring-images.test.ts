/**
 * The policy pack's pin rule (policy/rules/pinned-images.ts) covers the monitoring's images: on
 * the docker target its RemoteImages and Containers, on the kubernetes target the containers of
 * its DaemonSets and Deployment, as the real program records them under mocks; and it would
 * refuse one of them unpinned.
 */
import { describe, expect, it } from "vitest";
import { imageName } from "../../core/render/containers";
import { MONITORING_IMAGES } from "../../core/render/monitoring/images";
import { containersOf } from "../../policy/kubernetes";
import { checkPinnedImages, imagePinProblem } from "../../policy/rules/pinned-images";
import { REMOTE_IMAGE_TYPE, type ResourceView, isNotApplicable } from "../../policy/view";
import { planResources, toViews, unmask } from "./harness";

const monitoringRefs = Object.values(MONITORING_IMAGES).map(imageName);
const isMonitoringImage = (ref: unknown): boolean => typeof ref === "string" && monitoringRefs.includes(ref);

function views(stack: string): ResourceView[] {
  return toViews(planResources(stack), stack, (r) => unmask(r.inputs) as Record<string, unknown>);
}

describe("the monitoring's images under the pin rule", () => {
  it("every one is pinned to a version tag", () => {
    for (const ref of monitoringRefs) expect(imagePinProblem(ref), ref).toBeUndefined();
  });

  it("docker (staging): each monitoring image is a RemoteImage the rule checks and passes", () => {
    const all = views("staging");
    const images = all.filter((v) => v.type === REMOTE_IMAGE_TYPE && isMonitoringImage(v.props["name"]));
    // Prometheus and the two exporters on the router host (staging has no Grafana, Alertmanager or TLS edge).
    expect(images.map((v) => v.props["name"]).sort()).toEqual([MONITORING_IMAGES.dcgmExporter, MONITORING_IMAGES.nodeExporter, MONITORING_IMAGES.prometheus].map(imageName).sort());
    for (const v of images) expect(checkPinnedImages(v), v.name).toEqual([]);
    // Unpinned, the same resource is refused, naming it.
    const prometheus = images.find((v) => v.props["name"] === imageName(MONITORING_IMAGES.prometheus))!;
    const floating = checkPinnedImages({ ...prometheus, props: { ...prometheus.props, name: "prom/prometheus:latest" } });
    expect(floating).toEqual([{ message: `remote image "${prometheus.name}": image "prom/prometheus:latest" is tagged "latest": pin a version tag (e.g. :v1.2.3) or a digest (@sha256:...)` }]);
  }, 120_000);

  it("kubernetes (prod-k8s): the exporters' DaemonSets and Prometheus's Deployment carry pinned images the rule passes", () => {
    const all = views("prod-k8s");
    const workloads = all.filter((v) => containersOf(v).some((c) => isMonitoringImage(c.fields["image"])));
    const names = workloads.map((v) => v.name).sort();
    expect(names.filter((n) => n.includes("daemonset-dcgm-exporter"))).toHaveLength(2);
    expect(names.filter((n) => n.includes("daemonset-node-exporter"))).toHaveLength(2);
    expect(names.filter((n) => n.endsWith("deployment-prometheus"))).toHaveLength(1);
    for (const v of workloads) expect(checkPinnedImages(v), v.name).toEqual([]);
    const dcgm = workloads.find((v) => v.name.includes("dcgm-exporter"))!;
    const unpinned = JSON.parse(JSON.stringify(dcgm.props).replace(`:${MONITORING_IMAGES.dcgmExporter.tag}`, "")) as Record<string, unknown>;
    const result = checkPinnedImages({ ...dcgm, props: unpinned });
    if (isNotApplicable(result)) throw new Error(`the pin rule does not apply to ${dcgm.name}: ${result.notApplicable}`);
    const refused = result.map((p) => p.message);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/^DaemonSet "dcgm-exporter-[a-z0-9-]+": container "dcgm-exporter": /);
    expect(refused[0]).toContain(`image "${MONITORING_IMAGES.dcgmExporter.repository}" has no tag, so Docker pulls "latest"`);
  }, 120_000);
});
