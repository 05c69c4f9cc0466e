/**
 * Prometheus and promtool with Kubernetes service discovery, built from the Go module by
 * scripts/build-prometheus.sh (Debian's lack it): where they are, or null when not built.
 */
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export const PROMETHEUS_MODULE_VERSION = process.env["HI_PROMETHEUS_MODULE_VERSION"] ?? "v0.53.3";

export interface BuiltPrometheus {
  readonly prometheus: string;
  readonly promtool: string;
}

export function builtPrometheus(): BuiltPrometheus | null {
  const root = process.env["HI_PROMETHEUS_CACHE"] ?? path.join(process.env["XDG_CACHE_HOME"] ?? path.join(os.homedir(), ".cache"), "hybrid-inference", "prometheus");
  const bin = path.join(root, PROMETHEUS_MODULE_VERSION, "bin");
  const tools = { prometheus: path.join(bin, "prometheus"), promtool: path.join(bin, "promtool") };
  if (existsSync(tools.prometheus) && existsSync(tools.promtool)) return tools;
  if (process.env["CI"]) throw new Error(`Prometheus ${PROMETHEUS_MODULE_VERSION} with Kubernetes discovery is not in ${bin}: run bash scripts/build-prometheus.sh`);
  return null;
}

export const PROMETHEUS_OPERATOR_VERSION = process.env["HI_PROMETHEUS_OPERATOR_VERSION"] ?? "v0.85.0";

/** The Prometheus Operator's PodMonitor and PrometheusRule CRDs (YAML files), copied by scripts/build-prometheus.sh; null when absent. */
export function operatorCrds(): string[] | null {
  const root = process.env["HI_PROMETHEUS_CACHE"] ?? path.join(process.env["XDG_CACHE_HOME"] ?? path.join(os.homedir(), ".cache"), "hybrid-inference", "prometheus");
  const dir = path.join(root, "operator-crds", PROMETHEUS_OPERATOR_VERSION);
  const files = ["monitoring.coreos.com_podmonitors.yaml", "monitoring.coreos.com_prometheusrules.yaml"].map((f) => path.join(dir, f));
  if (files.every((f) => existsSync(f))) return files;
  if (process.env["CI"]) throw new Error(`the Prometheus Operator's CRDs are not in ${dir}: run bash scripts/build-prometheus.sh`);
  return null;
}
