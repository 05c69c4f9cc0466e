/**
 * Grafana and Alertmanager on the docker target (staging with `grafana: true` and an
 * `alertmanager_config_secret`): Grafana's provisioning points at the Prometheus the stack runs and
 * at the dashboards it uploads, its admin password comes from a Pulumi secret that must exist;
 * Alertmanager's config is the stack's secret, never rendered, checked by Debian's amtool as the
 * example a user starts from; and end to end, a rendered alert (RouterDown) fires in a real
 * Prometheus with the rendered rules and alerting section, and a real Alertmanager started with
 * the container's own arguments delivers it to a webhook.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { validateStackConfig } from "../../core/config/validate";
import { MASKED_SECRET, readStackFile } from "../../core/config/source";
import type { ContainerSpec } from "../../core/render/containers";
import { DATASOURCE_UID, renderDashboards } from "../../core/render/monitoring/dashboards";
import { ALERTMANAGER_CONFIG_FILE, GRAFANA_DASHBOARDS_DIR, dataVolume, dockerScrapeTargets, renderDockerMonitoring } from "../../core/render/monitoring/docker";
import { JOBS } from "../../core/render/monitoring/metrics";
import { planMonitoring } from "../../core/render/monitoring/options";
import { type ScrapeJob, renderPrometheusConfig, scrapeJobs } from "../../core/render/monitoring/prometheus";
import { monitoringRules, renderRuleFile } from "../../core/render/monitoring/rules";
import { freePort } from "../router-harness/litellm-proxy";
import { planOf } from "./plans";

const REPO = path.join(__dirname, "..", "..");
const EXAMPLE = path.join(REPO, "templates", "monitoring", "alertmanager.example.yml");
const AMTOOL = "/usr/bin/amtool";
const ALERTMANAGER = "/usr/bin/prometheus-alertmanager";
const PROMETHEUS = "/usr/bin/prometheus";
const haveTools = existsSync(AMTOOL) && existsSync(ALERTMANAGER) && existsSync(PROMETHEUS);
if (!haveTools && process.env["CI"]) throw new Error("amtool, Alertmanager or Prometheus is missing: run bash scripts/install-prometheus.sh");

const SECRETS = ["grafanaAdminPassword", "alertmanagerConfig"];
const withBoth = (v: Record<string, unknown>) => {
  v["monitoring"] = { grafana: true, grafana_admin_password_secret: "grafanaAdminPassword", alertmanager_config_secret: "alertmanagerConfig" };
};
const plan = planOf("staging", withBoth, SECRETS);
const rendering = renderDockerMonitoring(plan)!;
const routerHost = rendering.hosts.find((h) => h.host === plan.hosts[0]!.name)!;
const container = (suffix: string): ContainerSpec => routerHost.containers.find((c) => c.name === `${plan.spec.stack}-${suffix}`)!;

describe("Grafana", () => {
  const grafana = container("grafana");
  const file = (p: string) => grafana.files.find((f) => f.path === p)?.content;

  it("provisions the stack's Prometheus as its datasource, by the uid every panel names", () => {
    const ds = parse(file("/etc/grafana/provisioning/datasources/hybrid-inference.yml")!) as { datasources: { uid: string; type: string; url: string; isDefault: boolean; editable: boolean }[] };
    const prometheus = container("prometheus");
    const port = prometheus.command.find((a) => a.startsWith("--web.listen-address=:"))!.split(":").pop();
    expect(ds.datasources).toEqual([expect.objectContaining({ uid: DATASOURCE_UID, type: "prometheus", url: `http://${prometheus.name}:${port}`, isDefault: true, editable: false })]);
    for (const [name, json] of Object.entries(renderDashboards(plan))) {
      const d = JSON.parse(json) as { panels: { datasource: { uid: string }; targets: { datasource: { uid: string } }[] }[] };
      for (const p of d.panels) {
        expect(p.datasource.uid, name).toBe(DATASOURCE_UID);
        for (const t of p.targets) expect(t.datasource.uid, name).toBe(DATASOURCE_UID);
      }
    }
  });

  it("loads the rendered dashboards from the folder its provisioning names, outside its data volume", () => {
    const provider = parse(file("/etc/grafana/provisioning/dashboards/hybrid-inference.yml")!) as { providers: { options: { path: string }; allowUiUpdates: boolean }[] };
    expect(provider.providers[0]!.options.path).toBe(GRAFANA_DASHBOARDS_DIR);
    expect(provider.providers[0]!.allowUiUpdates).toBe(false);
    const uploaded = grafana.files.filter((f) => f.path.startsWith(`${GRAFANA_DASHBOARDS_DIR}/`));
    expect(Object.fromEntries(uploaded.map((f) => [path.basename(f.path), f.content]))).toEqual(renderDashboards(plan));
    expect(uploaded.map((f) => path.basename(f.path)).sort()).toEqual(["fleet.json", `host-${plan.hosts[0]!.name}.json`]);
    // Data in a named volume (Grafana runs as uid 472: a root-owned host directory would not be writable).
    expect(grafana.volumes).toEqual([{ hostPath: dataVolume(plan.spec.stack, "grafana"), containerPath: "/var/lib/grafana", readOnly: false, named: true }]);
  });

  it("takes its admin password from the Pulumi secret, binds to the router host's loopback, and sends nothing home", () => {
    expect(grafana.secretEnv).toEqual({ GF_SECURITY_ADMIN_PASSWORD: { kind: "config", configKey: "grafanaAdminPassword" } });
    expect(Object.keys(grafana.env)).not.toContain("GF_SECURITY_ADMIN_PASSWORD");
    expect(grafana.ports).toEqual([{ internal: 3000, external: 3000, ip: "127.0.0.1" }]);
    expect(grafana.env).toMatchObject({ GF_ANALYTICS_REPORTING_ENABLED: "false", GF_ANALYTICS_CHECK_FOR_UPDATES: "false", GF_USERS_ALLOW_SIGN_UP: "false" });
  });
});

describe("the monitoring's secrets must be Pulumi secrets", () => {
  const raw = (values: (v: Record<string, unknown>) => void, secretKeys: readonly string[]) => {
    const file = readStackFile(path.join(REPO, "stacks", "Pulumi.staging.yaml"), "staging");
    const v = { ...file.values } as Record<string, unknown>;
    values(v);
    return { ...file, values: v, secretKeys: new Set([...file.secretKeys, ...secretKeys]) };
  };
  const messages = (r: ReturnType<typeof validateStackConfig>) => r.issues.filter((i) => i.severity === "error").map((i) => `${i.path}: ${i.message} (${i.fix})`);

  it("refuses a Grafana admin password or Alertmanager config the stack does not have", () => {
    const r = validateStackConfig(raw(withBoth, []));
    expect(messages(r)).toEqual([
      "hybrid-inference:monitoring.grafana_admin_password_secret: names the config key \"grafanaAdminPassword\" for the Grafana admin password, but the stack has no hybrid-inference:grafanaAdminPassword (run: pulumi config set --secret grafanaAdminPassword \"$(openssl rand -base64 24)\")",
      "hybrid-inference:monitoring.alertmanager_config_secret: names the config key \"alertmanagerConfig\" for the Alertmanager config, but the stack has no hybrid-inference:alertmanagerConfig (run: pulumi config set --secret alertmanagerConfig -- < alertmanager.yml)",
    ]);
  });

  it("refuses them in plain text", () => {
    const r = validateStackConfig(raw((v) => { withBoth(v); v["grafanaAdminPassword"] = "hunter2"; v["alertmanagerConfig"] = "route: {}"; }, []));
    expect(messages(r)).toEqual([
      "hybrid-inference:grafanaAdminPassword: the Grafana admin password is stored in plain text (re-set it as a secret: pulumi config set --secret grafanaAdminPassword \"$(openssl rand -base64 24)\")",
      "hybrid-inference:alertmanagerConfig: the Alertmanager config is stored in plain text (re-set it as a secret: pulumi config set --secret alertmanagerConfig -- < alertmanager.yml)",
    ]);
  });

  it("accepts them as secrets; and with monitoring off they are not asked for", () => {
    expect(messages(validateStackConfig(raw((v) => { withBoth(v); for (const k of SECRETS) v[k] = MASKED_SECRET; }, SECRETS)))).toEqual([]);
    expect(messages(validateStackConfig(raw((v) => { withBoth(v); (v["monitoring"] as Record<string, unknown>)["enabled"] = false; }, [])))).toEqual([]);
  });
});

describe("Alertmanager", () => {
  const am = container("alertmanager");

  it("reads its whole config from the secret, which no rendered file holds, and Prometheus sends it the alerts", () => {
    expect(am.secretFiles).toEqual([{ path: ALERTMANAGER_CONFIG_FILE, source: { kind: "config", configKey: "alertmanagerConfig" }, mode: "0644" }]);
    expect(am.files).toEqual([]);
    expect(am.command).toContain(`--config.file=${ALERTMANAGER_CONFIG_FILE}`);
    expect(Object.keys(rendering.files).some((f) => f.includes("alertmanager"))).toBe(false);
    expect(am.ports).toEqual([{ internal: 9093, external: 9093, ip: "127.0.0.1" }]);
    const config = parse(rendering.files["monitoring/prometheus.yml"]!) as { alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] } };
    expect(config.alerting.alertmanagers).toEqual([{ static_configs: [{ targets: [`${am.name}:9093`] }] }]);
  });

  it.skipIf(!haveTools)("the example config a user starts from passes amtool check-config", () => {
    const r = spawnSync(AMTOOL, ["check-config", EXAMPLE], { encoding: "utf8" });
    expect(`${r.stdout}${r.stderr}`).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });
});

describe.skipIf(!haveTools)("end to end: a rendered alert through a real Prometheus and Alertmanager to a webhook", () => {
  const children: ChildProcess[] = [];
  let dir = "";
  let server: http.Server | undefined;

  afterAll(async () => {
    for (const c of children) c.kill("SIGTERM");
    if (server) await new Promise((r) => server!.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("RouterDown fires after its 45 s with its rendered labels and annotations, and reaches the receiver", async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "hi-alertmanager-"));
    const received: { receiver: string; alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[] = [];
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Omit<(typeof received)[number], "receiver">;
        received.push({ ...body, receiver: (req.url ?? "").slice(1) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // The example config, its receivers aimed at the local webhook and its waits shortened.
    const example = parse(readFileSync(EXAMPLE, "utf8")) as { route: Record<string, unknown>; receivers: { name: string; webhook_configs: { url: string }[] }[] };
    example.route["group_wait"] = "1s";
    for (const r of example.receivers) for (const w of r.webhook_configs) w.url = `${hook}/${r.name}`;
    writeFileSync(path.join(dir, "alertmanager.yml"), JSON.stringify(example));
    const amPort = await freePort();
    // The container's own arguments, with the files and the listen address moved to this test's.
    const args = container("alertmanager").command.map((a) => a
      .replace(`--config.file=${ALERTMANAGER_CONFIG_FILE}`, `--config.file=${path.join(dir, "alertmanager.yml")}`)
      .replace("--storage.path=/alertmanager", `--storage.path=${path.join(dir, "am-data")}`)
      .replace(/^--web\.listen-address=:\d+$/, `--web.listen-address=127.0.0.1:${amPort}`));
    expect(args).toContain("--cluster.listen-address=");
    children.push(spawn(ALERTMANAGER, args, { stdio: "ignore" }));

    // The rendered rules at a 1 s interval; the router job aimed at a port nothing listens on.
    const mp = { ...planMonitoring(plan), scrapeIntervalSeconds: 1 };
    writeFileSync(path.join(dir, "rules.yml"), renderRuleFile(monitoringRules(plan, mp), 1));
    const dead = await freePort();
    const jobs: ScrapeJob[] = scrapeJobs({ ...dockerScrapeTargets(plan), edge: null }).filter((j) => j.job === JOBS.router)
      .map((j) => ({ ...j, targets: [{ kind: "static", addresses: [`127.0.0.1:${dead}`], labels: {} }] }));
    writeFileSync(path.join(dir, "prometheus.yml"), renderPrometheusConfig({ stack: plan.spec.stack, monitoring: mp, jobs, alertmanager: `127.0.0.1:${amPort}`, ruleFile: path.join(dir, "rules.yml") }));
    const promPort = await freePort();
    children.push(spawn(PROMETHEUS, [`--config.file=${path.join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(dir, "data")}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: "ignore" }));

    const rule = monitoringRules(plan, mp).alerts.find((a) => a.alert === "RouterDown")!;
    const started = Date.now();
    const deadline = started + 150_000;
    while (!received.some((n) => n.alerts.some((a) => a.labels["alertname"] === "RouterDown" && a.status === "firing"))) {
      if (Date.now() > deadline) throw new Error(`no RouterDown at the webhook after 150 s; received ${JSON.stringify(received)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const alert = received.flatMap((n) => n.alerts).find((a) => a.labels["alertname"] === "RouterDown")!;
    expect(alert.labels).toMatchObject({ ...rule.labels, job: JOBS.router, stack: plan.spec.stack, instance: `127.0.0.1:${dead}` });
    expect(alert.annotations).toEqual(rule.annotations);
    // Critical: the example routes it to the pager receiver.
    expect(received.find((n) => n.alerts.includes(alert))!.receiver).toBe("pager");
    // Not before its `for` (45 s) has passed.
    expect(Date.now() - started).toBeGreaterThan(45_000);
  }, 200_000);
});
