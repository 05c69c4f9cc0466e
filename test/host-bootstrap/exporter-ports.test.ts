/**
 * The monitoring's exporter ports in the firewall step (HI_EXPORTER_PORTS, templates/host/firewall.sh):
 * an engine host that does not run the router publishes its node and DCGM exporters on its
 * private address for the router host's Prometheus, and the firewall admits them from the router
 * host alone, in ufw and in DOCKER-USER (Docker-published ports bypass ufw), as it does the
 * engine port. Switching monitoring off removes them. Driven by the prod plan's own parameters.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dockerPart } from "../../core/plan/docker";
import { MONITORING_PORTS } from "../../core/plan/monitoring";
import { renderHostBootstrap } from "../../core/render/host-bootstrap";
import { planOf } from "../monitoring/plans";
import { Sandbox } from "./harness";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => {
  sb.cleanup();
});

/** The firewall step's environment of each host of the prod stack, with monitoring on or off. */
function firewallEnv(monitoring: boolean): Record<string, Record<string, string>> {
  const plan = planOf("prod", (v) => { v["monitoring"] = { enabled: monitoring }; });
  return Object.fromEntries(dockerPart(plan).hosts.map((h) => [h.name, { ...renderHostBootstrap(h.bootstrap).find((s) => s.name === "firewall")!.env }]));
}

const EXPORTERS = [MONITORING_PORTS.nodeExporter, MONITORING_PORTS.dcgmExporter];
const ufwChanges = (): string[] => sb.callLines("ufw").filter((l) => !/^ufw (status|show)/.test(l));
const block = (file: string): string => {
  const text = sb.read(file);
  return text.slice(text.indexOf("# BEGIN hybrid-inference docker-user"));
};

describe("firewall: the monitoring's exporter ports", () => {
  it("the plan asks for them on the engine-only host, from the router host's addresses, and never on the router host", () => {
    const on = firewallEnv(true);
    expect(on["prod-gpu-1"]!["HI_EXPORTER_PORTS"]).toBeUndefined();
    expect(on["prod-gpu-1"]!["HI_ENGINE_PORT"]).toBe("");
    expect(on["prod-gpu-2"]!["HI_EXPORTER_PORTS"]).toBe(EXPORTERS.join(","));
    // The router host's private and public address: where its Prometheus's scrapes come from.
    expect(on["prod-gpu-2"]!["HI_ENGINE_ALLOWED_SOURCES"]).toBe("10.20.0.31/32,203.0.113.31/32");
    const off = firewallEnv(false);
    for (const env of Object.values(off)) expect(env["HI_EXPORTER_PORTS"]).toBeUndefined();
    // Off, the step's environment (and so its trigger) is what it was before monitoring existed.
    const { HI_EXPORTER_PORTS: _ports, ...rest } = on["prod-gpu-2"]!;
    expect(off["prod-gpu-2"]).toEqual(rest);
  });

  it("admits them from the router host alone, in ufw and in DOCKER-USER", () => {
    const env = firewallEnv(true)["prod-gpu-2"]!;
    const r = sb.runStep("firewall", env);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const rules = sb.getState("ufw-rules").trim().split("\n");
    for (const port of EXPORTERS) {
      expect(rules.filter((l) => l.includes(`port ${port} `))).toEqual([
        `allow from 10.20.0.31/32 to any port ${port} proto tcp`,
        `allow from 203.0.113.31/32 to any port ${port} proto tcp`,
      ]);
    }
    expect(ufwChanges()).toContain(`ufw allow from 10.20.0.31/32 to any port ${MONITORING_PORTS.nodeExporter} proto tcp comment hybrid-inference exporter`);
    const v4 = block("etc/ufw/after.rules");
    const v6 = block("etc/ufw/after6.rules");
    for (const port of EXPORTERS) {
      // Published ports: the router host's sources return to Docker's rules, everyone else is dropped.
      expect(v4).toContain(`-A HI-DOCKER-USER -p tcp -m conntrack --ctorigdstport ${port} --ctdir ORIGINAL -s 10.20.0.31/32 -j RETURN`);
      expect(v4).toContain(`-A HI-DOCKER-USER -p tcp -m conntrack --ctorigdstport ${port} --ctdir ORIGINAL -s 203.0.113.31/32 -j RETURN`);
      expect(v4.indexOf(`--ctorigdstport ${port} --ctdir ORIGINAL -j DROP`)).toBeGreaterThan(v4.indexOf(`--ctorigdstport ${port} --ctdir ORIGINAL -s 203.0.113.31/32 -j RETURN`));
      // No IPv6 source is the router's: IPv6 to an exporter is dropped outright.
      expect(v6).toContain(`--ctorigdstport ${port} --ctdir ORIGINAL -j DROP`);
    }
    expect(v6).not.toContain("-s ");
    // Nothing else opened: SSH, the engine and the two exporters.
    expect(new Set(rules.map((l) => /port (\d+)/.exec(l)?.[1]))).toEqual(new Set(["22", "8000", ...EXPORTERS.map(String)]));
  });

  it("removes them, in ufw and DOCKER-USER, when monitoring is switched off, and keeps the engine's", () => {
    expect(sb.runStep("firewall", firewallEnv(true)["prod-gpu-2"]!).status).toBe(0);
    sb.clearCalls();
    const r = sb.runStep("firewall", firewallEnv(false)["prod-gpu-2"]!);
    expect(r.status).toBe(0);
    const changes = ufwChanges();
    for (const port of EXPORTERS) {
      expect(changes).toContain(`ufw delete allow from 10.20.0.31/32 to any port ${port} proto tcp`);
      expect(changes).toContain(`ufw delete allow from 203.0.113.31/32 to any port ${port} proto tcp`);
    }
    // The DOCKER-USER block changed, so ufw reloads it.
    expect(changes).toContain("ufw reload");
    const rules = sb.getState("ufw-rules");
    for (const port of EXPORTERS) expect(rules).not.toContain(`port ${port} `);
    expect(rules).toContain("allow from 10.20.0.31/32 to any port 8000 proto tcp");
    for (const file of ["etc/ufw/after.rules", "etc/ufw/after6.rules"]) {
      for (const port of EXPORTERS) expect(block(file)).not.toContain(`--ctorigdstport ${port} `);
      expect(block(file)).toContain("--ctorigdstport 8000 --ctdir ORIGINAL -j DROP");
    }
  });

  it("a second run with monitoring on changes nothing", () => {
    const env = firewallEnv(true)["prod-gpu-2"]!;
    expect(sb.runStep("firewall", env).status).toBe(0);
    const after = sb.read("etc/ufw/after.rules");
    sb.clearCalls();
    expect(sb.runStep("firewall", env).status).toBe(0);
    expect(ufwChanges()).toEqual([]);
    expect(sb.read("etc/ufw/after.rules")).toBe(after);
  });

  it.each([
    ["without an engine port", { HI_ENGINE_PORT: "", HI_ENGINE_ALLOWED_SOURCES: "" }, "HI_EXPORTER_PORTS is set without HI_ENGINE_PORT"],
    ["on the engine port", { HI_EXPORTER_PORTS: "9100,8000" }, "HI_EXPORTER_PORTS includes 8000, the SSH or engine port"],
    ["on the SSH port", { HI_EXPORTER_PORTS: "22" }, "HI_EXPORTER_PORTS includes 22, the SSH or engine port"],
    ["not a port", { HI_EXPORTER_PORTS: "9100;touch /tmp/x" }, "HI_EXPORTER_PORTS must be TCP ports (1-65535), comma-separated"],
  ])("refuses exporter ports %s, before changing anything", (_label, patch, message) => {
    const r = sb.runStep("firewall", { ...firewallEnv(true)["prod-gpu-2"]!, ...patch });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(message);
    expect(ufwChanges()).toEqual([]);
  });
});
