/**
 * Pinned images of the monitoring. Tags read off each project's git tags on 2026-11-30 (Prometheus,
 * node exporter, blackbox exporter, Alertmanager, DCGM exporter's hack/VERSION); Grafana's tag
 * follows the `@grafana/schema` release the dashboards are typed against (13.2.3), not checked
 * against the registry from here.
 *
 * Prometheus stays on the 2.x LTS line (2.53): the tests check the rendered config, rules and
 * rule unit tests with Debian 12's promtool 2.42, whose configuration and PromQL 2.53 shares;
 * Prometheus 3 changes defaults (scrape protocols, `le` label normalisation) the tests would not see.
 *
 * DCGM exporter rather than an nvidia-smi based exporter: it reports XID errors
 * (DCGM_EXP_XID_ERRORS_COUNT, per XID) and the card's own slowdown temperature, which nvidia-smi
 * exporters do not; DCGM supports GeForce cards from Maxwell on for these device fields (profiling
 * fields, DCGM_FI_PROF_*, only from Blackwell GeForce: we read none). Its 4.5 line is built on
 * CUDA 13 (nvcr.io/nvidia/cuda:13.2.1-base, Makefile), like the vLLM image: R580 drivers suffice.
 */
import type { ImageRef } from "../../plan/types";

export const MONITORING_IMAGES = {
  prometheus: { repository: "prom/prometheus", tag: "v2.53.5" },
  nodeExporter: { repository: "prom/node-exporter", tag: "v1.12.1" },
  dcgmExporter: { repository: "nvcr.io/nvidia/k8s/dcgm-exporter", tag: "4.5.3-4.8.2-ubuntu22.04" },
  blackbox: { repository: "prom/blackbox-exporter", tag: "v0.28.0" },
  alertmanager: { repository: "prom/alertmanager", tag: "v0.34.0" },
  grafana: { repository: "grafana/grafana", tag: "13.2.3" },
} as const satisfies Readonly<Record<string, ImageRef>>;
