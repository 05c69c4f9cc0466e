/**
 * The rendered monitoring of every shipped stack through Debian's promtool (scripts/install-prometheus.sh;
 * for the kubernetes target's config, the Go module's, scripts/build-prometheus.sh, which has pod
 * discovery): the Prometheus config and the rules pass `promtool check`, and the rendered unit tests (per alert:
 * one input that fires it with its exact labels and annotations, one on the quiet side of its
 * threshold) pass `promtool test rules`, at the shipped scrape interval. Thresholds are asserted
 * against hand-checked figures from the plan.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { monitoringPlan } from "../../core/plan/monitoring";
import { STACKS, planOf } from "./plans";
import { builtPrometheus } from "./tools";
import { renderDockerMonitoring } from "../../core/render/monitoring/docker";
import { renderKubernetesMonitoring } from "../../core/render/monitoring/kubernetes";
import { PROMETHEUS_RULE_FILE } from "../../core/render/monitoring/prometheus";
import { monitoringRules, renderRuleFile, renderRuleTests } from "../../core/render/monitoring/rules";

const PROMTOOL = "/usr/bin/promtool";
const built = builtPrometheus();

function promtool(args: string[], cwd: string, tool = PROMTOOL): string {
  const r = spawnSync(tool, args, { cwd, encoding: "utf8" });
  const out = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) throw new Error(`promtool ${args.join(" ")} exited ${String(r.status)}:\n${out}`);
  return out;
}

const skip = !existsSync(PROMTOOL);
if (skip && process.env["CI"]) throw new Error("promtool is missing: run bash scripts/install-prometheus.sh");

describe.skipIf(skip)("promtool on every shipped stack's rules", () => {
  for (const stack of STACKS) {
    it(`${stack}: rules check, and every alert fires on its input and stays quiet below its threshold`, () => {
      const plan = planOf(stack);
      // A frontier budget for every stack with a frontier tier, so each renders and tests its spend alert.
      const budgets = Object.fromEntries(plan.router.frontier.map((f) => [f.provider, 40]));
      const mp = monitoringPlan(plan, { frontierBudgetUsdPerDay: budgets });
      expect(mp.scrapeIntervalSeconds).toBe(15);
      const rules = monitoringRules(plan, mp);
      const dir = mkdtempSync(path.join(os.tmpdir(), `hi-promtool-${stack}-`));
      writeFileSync(path.join(dir, "rules.yml"), renderRuleFile(rules, mp.scrapeIntervalSeconds));
      writeFileSync(path.join(dir, "rules.test.yml"), renderRuleTests(rules, "rules.yml", mp.scrapeIntervalSeconds));
      expect(promtool(["check", "rules", "rules.yml"], dir)).toContain("SUCCESS");
      const out = promtool(["test", "rules", "rules.test.yml"], dir);
      expect(out).toContain("SUCCESS");
      const names = new Set(rules.alerts.map((a) => a.alert));
      for (const expected of ["EngineDown", "EngineSaturated", "EngineKvCacheAbovePlan", "EnginePreempting", "RouterDown", "GpuXidError",
        "GpuAtSlowdownTemperature", "GpuThermalThrottling", "ModelCacheDiskLow", "ModelCacheDiskFilling"]) {
        expect(names, `${stack} has ${expected}`).toContain(expected);
      }
      if (plan.router.frontier.length > 0) expect(names).toContain("FrontierSpendAboveBudget");
      // Kubernetes: a replica that never starts is no scrape target; only the count against the plan sees it.
      if (plan.target.kind === "kubernetes") expect(names).toContain("EngineReplicasMissing");
      else expect(names).not.toContain("EngineReplicasMissing");
    }, 240_000);
  }

  for (const stack of STACKS) {
    it(`${stack}: the Prometheus config its target deploys passes promtool check config`, () => {
      const plan = planOf(stack, (v) => { v["monitoring"] = { enabled: true }; });
      const rendering = plan.target.kind === "docker" ? renderDockerMonitoring(plan)! : renderKubernetesMonitoring(plan)!;
      const dir = mkdtempSync(path.join(os.tmpdir(), `hi-promtool-config-${stack}-`));
      writeFileSync(path.join(dir, "rules.yml"), rendering.files["monitoring/rules.yml"]!);
      // The same file, with the rule file where this test wrote it.
      writeFileSync(path.join(dir, "prometheus.yml"), rendering.files["monitoring/prometheus.yml"]!.replace(PROMETHEUS_RULE_FILE, path.join(dir, "rules.yml")));
      // Kubernetes pod discovery: Debian's promtool is built without it; the Go module's has it.
      if (plan.target.kind === "kubernetes") {
        if (built) expect(promtool(["check", "config", "prometheus.yml"], dir, built.promtool)).toContain("SUCCESS");
        else console.warn("skipped promtool check config for kubernetes: run bash scripts/build-prometheus.sh");
      } else {
        expect(promtool(["check", "config", "prometheus.yml"], dir)).toContain("SUCCESS");
      }
      writeFileSync(path.join(dir, "rules.test.yml"), rendering.files["monitoring/rules.test.yml"]!);
      expect(promtool(["test", "rules", "rules.test.yml"], dir)).toContain("SUCCESS");
    }, 240_000);
  }
});

describe("thresholds from the plan", () => {
  it("prod: the spill alert sits 5 points above what tokens_per_month over the engines' capacity implies", () => {
    const plan = planOf("prod");
    const mp = monitoringPlan(plan);
    const capacity = plan.hosts.reduce((s, h) => s + h.capacity.tokensPerMonth, 0);
    const expected = 1 - capacity / plan.spec.traffic.tokens_per_month!;
    expect(mp.expectedSpillShare).toBeCloseTo(expected, 2);
    expect(mp.expectedSpillShare).toBeGreaterThan(0.2); // 3B tokens/month on two hosts: about 28% spills (the plan's report says so too)
    expect(mp.spillAlertShare).toBeCloseTo(mp.expectedSpillShare + 0.05, 3);
  });

  it("staging: a stack without tokens_per_month expects no spill, and alerts above 5%", () => {
    const mp = monitoringPlan(planOf("staging"));
    expect(mp.expectedSpillShare).toBe(0);
    expect(mp.spillAlertShare).toBe(0.05);
  });

  it("the waiting threshold is the queue a request can wait in and still get its first token within the SLO", () => {
    const plan = planOf("dev");
    const host = plan.hosts[0]!;
    const r = host.replicaCapacity;
    const slackS = (r.slo.ttftMs! - r.operatingPoint.ttftMs) / 1000;
    const e = monitoringPlan(plan).engines[0]!;
    expect(e.waitingMax).toBe(Math.max(1, Math.floor(r.saturation.requestsPerSecond * host.replicas * slackS)));
    expect(e.plannedRunning).toBeCloseTo(r.operatingPoint.concurrency, 5);
  });

  it("monitoring is on by default in staging and prod, off in dev, and a stack can turn it on", () => {
    expect(monitoringPlan(planOf("dev")).enabled).toBe(false);
    expect(monitoringPlan(planOf("staging")).enabled).toBe(true);
    expect(monitoringPlan(planOf("prod")).enabled).toBe(true);
    expect(monitoringPlan(planOf("dev", (v) => { v["monitoring"] = { enabled: true }; })).enabled).toBe(true);
  });
});
