import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadPlan } from "../../core/load";
import { dockerPart } from "../../core/plan/docker";
import { hostSteps, renderStepCommand } from "../../core/render/host-bootstrap";
import { rawConfig, validValues } from "../fixtures";
import { Sandbox } from "./harness";

/** The firewall step of the fixture stack's host, as the GpuHost component runs it. */
function renderedFirewall() {
  const { plan } = loadPlan(rawConfig(validValues()));
  const step = hostSteps(dockerPart(plan!).hosts[0]!.bootstrap).find((s) => s.name === "firewall")!;
  return { step, command: renderStepCommand(step) };
}

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => {
  sb.cleanup();
});

const routerHost = {
  HI_ADMIN_CIDRS: "203.0.113.0/24, 2001:db8:10::/48",
  HI_SSH_PORT: "22",
  HI_ROUTER_PORT: "4000",
  HI_ROUTER_ALLOWED_CIDRS: "0.0.0.0/0,::/0",
  HI_ENGINE_PORT: "",
  HI_ENGINE_ALLOWED_SOURCES: "",
};
const engineHost = {
  HI_ADMIN_CIDRS: "203.0.113.0/24",
  HI_ROUTER_PORT: "",
  HI_ROUTER_ALLOWED_CIDRS: "",
  HI_ENGINE_PORT: "8000",
  HI_ENGINE_ALLOWED_SOURCES: "198.51.100.7",
};

/** ufw calls that change state (everything but status/show). */
const ufwChanges = (): string[] => sb.callLines("ufw").filter((l) => !/^ufw (status|show)/.test(l));

describe("firewall: never locks out SSH", () => {
  it.each([
    ["unset", {}],
    ["empty", { HI_ADMIN_CIDRS: "" }],
    ["only commas", { HI_ADMIN_CIDRS: " , ," }],
  ])("refuses an admin CIDR list that is %s and touches no rule", (_label, admin) => {
    const { HI_ADMIN_CIDRS: _unused, ...rest } = routerHost;
    const r = sb.runStep("firewall", { ...rest, ...admin });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/^\[hybrid-inference:firewall\] HI_ADMIN_CIDRS (is not set|lists no CIDR)/);
    expect(ufwChanges()).toEqual([]);
  });

  it("allows SSH only from the admin CIDRs, before the default policy and before enabling ufw", () => {
    sb.file("etc/default/ufw", 'IPV6=yes\nDEFAULT_INPUT_POLICY="ACCEPT"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\n');
    const r = sb.runStep("firewall", routerHost);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const changes = ufwChanges();
    const ssh = changes.filter((l) => l.includes(" port 22 "));
    expect(ssh).toEqual([
      "ufw allow from 203.0.113.0/24 to any port 22 proto tcp comment hybrid-inference ssh",
      "ufw allow from 2001:db8:10::/48 to any port 22 proto tcp comment hybrid-inference ssh",
    ]);
    const lastSsh = changes.findIndex((l) => l.startsWith("ufw allow from 2001:db8:10::/48"));
    expect(changes.indexOf("ufw default deny incoming")).toBeGreaterThan(lastSsh);
    expect(changes.indexOf("ufw --force enable")).toBeGreaterThan(lastSsh);
    expect(changes.at(-1)).toBe("ufw --force enable");
    // the rule set ufw ends up with: SSH from the admins only, the router port from its CIDRs
    expect(sb.getState("ufw-rules").trim().split("\n")).toEqual([
      "allow from 203.0.113.0/24 to any port 22 proto tcp",
      "allow from 2001:db8:10::/48 to any port 22 proto tcp",
      "allow from 0.0.0.0/0 to any port 4000 proto tcp",
      "allow from ::/0 to any port 4000 proto tcp",
    ]);
  });

  it("removes SSH rules open to everyone once the admin rules exist", () => {
    sb.set("ufw-rules", "allow OpenSSH\nallow 22/tcp\nallow 80/tcp\n");
    sb.set("ufw-active", "");
    const r = sb.runStep("firewall", routerHost);
    expect(r.status).toBe(0);
    const changes = ufwChanges();
    expect(changes).toContain("ufw delete allow OpenSSH");
    expect(changes).toContain("ufw delete allow 22/tcp");
    expect(changes.indexOf("ufw delete allow OpenSSH")).toBeGreaterThan(changes.findIndex((l) => l.includes("port 22")));
    expect(sb.getState("ufw-rules")).toContain("allow 80/tcp"); // not ours to judge
    expect(sb.getState("ufw-rules")).not.toMatch(/^allow (OpenSSH|22\/tcp)$/m);
  });

  it("refuses when every open SSH session comes from outside the admin CIDRs", () => {
    sb.set("ss", "0      0      10.0.0.5:22      198.51.100.9:50022\n");
    const r = sb.runStep("firewall", routerHost);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("198.51.100.9");
    expect(r.stderr).toContain("would lock you out");
    expect(ufwChanges()).toEqual([]);
  });

  it("proceeds when an open SSH session comes from an admin CIDR (IPv4-mapped or IPv6)", () => {
    sb.set("ss", "0 0 [::ffff:10.0.0.5]:22 [::ffff:203.0.113.40]:50022\n0 0 [2001:db8::5]:22 [2001:db8:10::9]:40000\n");
    const r = sb.runStep("firewall", routerHost);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("firewall: the lock-out guard checks where this deployment connects from", () => {
  // An admin is logged in from an admin CIDR while a CI runner outside it runs the deployment:
  // "any session from an admin CIDR" would pass, and the firewall would cut the runner off.
  const adminSession = "0 0 10.0.0.5:22 203.0.113.40:50022\n";

  it("refuses when the deployment's own session (SSH_CONNECTION) comes from outside the allow-list, even with an admin logged in", () => {
    sb.set("ss", `${adminSession}0 0 10.0.0.5:22 192.0.2.77:40001\n`);
    const r = sb.runStep("firewall", { ...routerHost, HI_DEPLOY_SSH_CONNECTION: "192.0.2.77 40001 10.0.0.5 22" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("this deployment connects from 192.0.2.77 (its SSH_CONNECTION), which the SSH allow-list does not admit");
    expect(r.stderr).toContain("access.deploy_cidrs");
    expect(r.stderr).toContain("access.bastion");
    expect(ufwChanges()).toEqual([]);
  });

  it("refuses an IPv6 deployment address outside the list, and admits one inside it", () => {
    const outside = sb.runStep("firewall", { ...routerHost, HI_DEPLOY_SSH_CONNECTION: "2001:db8:99::1 40001 2001:db8::5 22" });
    expect(outside.status).not.toBe(0);
    expect(outside.stderr).toContain("connects from 2001:db8:99::1");
    const inside = sb.runStep("firewall", { ...routerHost, HI_DEPLOY_SSH_CONNECTION: "2001:db8:10::9 40001 2001:db8::5 22" });
    expect(inside.stderr).toBe("");
    expect(inside.status).toBe(0);
  });

  it("proceeds when the deployment comes from the allow-list, naming the other sessions it will cut off", () => {
    sb.set("ss", "0 0 10.0.0.5:22 192.0.2.80:40001\n0 0 10.0.0.5:22 203.0.113.9:40002\n");
    const r = sb.runStep("firewall", { ...routerHost, HI_DEPLOY_SSH_CONNECTION: "203.0.113.9 40002 10.0.0.5 22" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("SSH sessions from 192.0.2.80 are outside the allow-list and will be cut off");
    expect(ufwChanges()).toContain("ufw --force enable");
  });

  it("rejects a malformed SSH_CONNECTION instead of guessing", () => {
    const r = sb.runStep("firewall", { ...routerHost, HI_DEPLOY_SSH_CONNECTION: "$(reboot) 1 2 3" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("HI_DEPLOY_SSH_CONNECTION must start with the client's IP address");
    expect(ufwChanges()).toEqual([]);
  });

  it("gets the session's address through the rendered command line, past sudo", () => {
    const { step, command } = renderedFirewall();
    // What the login shell runs: SSH_CONNECTION is set by sshd in the session, not in sudo's environment.
    const r = sb.runCommand(command.replace(/^sudo -n /, ""), step.script, { SSH_CONNECTION: "192.0.2.77 40001 10.0.0.5 22" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("this deployment connects from 192.0.2.77");
    // Not part of the step's hash: the same step deploys from anywhere.
    expect(JSON.stringify(step.env)).not.toContain("192.0.2.77");
  });
});

describe("firewall: the engine tunnel's UDP port", () => {
  it("admits the tunnel's port from its peers only, over UDP, and removes it when the tunnel goes", () => {
    const r = sb.runStep("firewall", { ...engineHost, HI_TUNNEL_PORT: "51820", HI_TUNNEL_ALLOWED_SOURCES: "198.51.100.7" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(ufwChanges()).toContain("ufw allow from 198.51.100.7/32 to any port 51820 proto udp comment hybrid-inference tunnel");
    expect(sb.getState("ufw-rules")).not.toMatch(/port 51820 proto tcp/);
    const again = sb.runStep("firewall", engineHost);
    expect(again.status).toBe(0);
    expect(sb.getState("ufw-rules")).not.toContain("51820");
  });

  it("refuses a tunnel port without its peers", () => {
    const r = sb.runStep("firewall", { ...engineHost, HI_TUNNEL_PORT: "51820" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("HI_TUNNEL_ALLOWED_SOURCES is not set");
  });
});

describe("firewall: published ports", () => {
  it("opens both ports of a TLS edge (80,443) to the router's CIDRs, in ufw and in DOCKER-USER", () => {
    const r = sb.runStep("firewall", { ...routerHost, HI_ROUTER_PORT: "80,443", HI_ROUTER_ALLOWED_CIDRS: "192.0.2.0/24" });
    expect(r.status).toBe(0);
    const block = sb.read("etc/ufw/after.rules");
    for (const port of ["80", "443"]) {
      expect(block).toContain(`-A HI-DOCKER-USER -p tcp -m conntrack --ctorigdstport ${port} --ctdir ORIGINAL -s 192.0.2.0/24 -j RETURN`);
      expect(block).toContain(`-A HI-DOCKER-USER -p tcp -m conntrack --ctorigdstport ${port} --ctdir ORIGINAL -j DROP`);
    }
    expect(block).not.toContain("--ctorigdstport 4000");
  });

  it("restricts the published router port in DOCKER-USER, matched on the original destination port", () => {
    const r = sb.runStep("firewall", { ...routerHost, HI_ROUTER_ALLOWED_CIDRS: "192.0.2.0/24,2001:db8:99::/48" });
    expect(r.status).toBe(0);
    const v4 = sb.read("etc/ufw/after.rules");
    expect(v4.startsWith("# ufw after.rules (fixture)\n*filter\n:ufw-after-input - [0:0]\nCOMMIT\n")).toBe(true);
    const block = v4.slice(v4.indexOf("# BEGIN hybrid-inference docker-user"));
    expect(block).toBe(
      [
        "# BEGIN hybrid-inference docker-user",
        "# Managed by the hybrid-inference firewall step; edits between these markers are overwritten.",
        "*filter",
        ":DOCKER-USER - [0:0]",
        ":HI-DOCKER-USER - [0:0]",
        "-A DOCKER-USER -j HI-DOCKER-USER",
        "-A HI-DOCKER-USER -i docker0 -j RETURN",
        "-A HI-DOCKER-USER -i br-+ -j RETURN",
        "-A HI-DOCKER-USER -p tcp -m conntrack --ctorigdstport 4000 --ctdir ORIGINAL -s 192.0.2.0/24 -j RETURN",
        "-A HI-DOCKER-USER -p tcp -m conntrack --ctorigdstport 4000 --ctdir ORIGINAL -j DROP",
        "COMMIT",
        "# END hybrid-inference docker-user",
        "",
      ].join("\n"),
    );
    const v6 = sb.read("etc/ufw/after6.rules");
    expect(v6).toContain("--ctorigdstport 4000 --ctdir ORIGINAL -s 2001:db8:99::/48 -j RETURN");
    expect(v6).not.toContain("192.0.2.0/24");
    expect(sb.callLines("iptables")).toEqual(["iptables -C DOCKER-USER -j HI-DOCKER-USER"]);
  });

  it("on an engine-only host publishes the engine port to the router host alone", () => {
    const r = sb.runStep("firewall", engineHost);
    expect(r.status).toBe(0);
    expect(sb.getState("ufw-rules")).toContain("allow from 198.51.100.7/32 to any port 8000 proto tcp");
    expect(sb.getState("ufw-rules")).not.toContain("4000");
    const v4 = sb.read("etc/ufw/after.rules");
    expect(v4).toContain("--ctorigdstport 8000 --ctdir ORIGINAL -s 198.51.100.7/32 -j RETURN");
    expect(v4).toContain("--ctorigdstport 8000 --ctdir ORIGINAL -j DROP");
    // no IPv6 source allowed: IPv6 traffic to the engine port is dropped outright
    const v6 = sb.read("etc/ufw/after6.rules");
    expect(v6).toContain("--ctorigdstport 8000 --ctdir ORIGINAL -j DROP");
    expect(v6).not.toContain("-s ");
  });

  it("requires allowed sources when a port is set", () => {
    const r = sb.runStep("firewall", { ...engineHost, HI_ENGINE_ALLOWED_SOURCES: "" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("HI_ENGINE_ALLOWED_SOURCES is not set");
    expect(ufwChanges()).toEqual([]);
  });

  it("fails when ufw is up but the DOCKER-USER jump is missing", () => {
    sb.set("iptables-rc", "1");
    const r = sb.runStep("firewall", routerHost);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("published ports are not restricted");
  });
});

describe("firewall: validation and idempotence", () => {
  it.each([
    ["203.0.113.7/24", "host bits set"],
    ["300.1.1.1", "not a valid IPv4/IPv6 address or CIDR"],
    ["2001:db8::/129", "not a valid IPv4/IPv6 address or CIDR"],
    ["fe80::1%eth0", "zone indices are not allowed"],
    ["any", "not a valid IPv4/IPv6 address or CIDR"],
  ])("rejects %s, naming it, before changing anything", (cidr, reason) => {
    const r = sb.runStep("firewall", { ...routerHost, HI_ROUTER_ALLOWED_CIDRS: `10.0.0.0/8,${cidr}` });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`HI_ROUTER_ALLOWED_CIDRS: '${cidr}'`);
    expect(r.stderr).toContain(reason);
    expect(ufwChanges()).toEqual([]);
  });

  it("keeps hostile values inert", () => {
    const canary = path.join(sb.dir, "pwned");
    const hostile = `10.0.0.0/8,$(touch ${canary}),\`touch ${canary}\`,'; touch ${canary}; '`;
    const r = sb.runStep("firewall", { ...routerHost, HI_ADMIN_CIDRS: hostile });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`'$(touch ${canary})' is not a valid`);
    expect(sb.exists("../pwned")).toBe(false);
    expect(ufwChanges()).toEqual([]);
    for (const bad of ["4000; touch /tmp/x", "08000", "70000", "0"]) {
      const port = sb.runStep("firewall", { ...routerHost, HI_ROUTER_PORT: bad });
      expect(port.stderr, bad).toContain("HI_ROUTER_PORT must be TCP ports (1-65535), comma-separated");
    }
  });

  it("a second run changes nothing", () => {
    expect(sb.runStep("firewall", routerHost).status).toBe(0);
    const rules = sb.getState("ufw-rules");
    const after = sb.read("etc/ufw/after.rules");
    sb.clearCalls();
    const r = sb.runStep("firewall", routerHost);
    expect(r.status).toBe(0);
    expect(ufwChanges()).toEqual([]);
    expect(sb.getState("ufw-rules")).toBe(rules);
    expect(sb.read("etc/ufw/after.rules")).toBe(after);
  });

  it("removes the rules of CIDRs dropped from the stack, and reloads when the DOCKER-USER block changes", () => {
    expect(sb.runStep("firewall", routerHost).status).toBe(0);
    sb.clearCalls();
    const r = sb.runStep("firewall", { ...routerHost, HI_ADMIN_CIDRS: "203.0.113.0/24", HI_ROUTER_ALLOWED_CIDRS: "192.0.2.0/24" });
    expect(r.status).toBe(0);
    const changes = ufwChanges();
    expect(changes).toContain("ufw delete allow from 2001:db8:10::/48 to any port 22 proto tcp");
    expect(changes).toContain("ufw delete allow from 0.0.0.0/0 to any port 4000 proto tcp");
    expect(changes).toContain("ufw reload");
    expect(changes).not.toContain("ufw --force enable");
    expect(sb.getState("ufw-rules").trim().split("\n")).toEqual([
      "allow from 203.0.113.0/24 to any port 22 proto tcp",
      "allow from 192.0.2.0/24 to any port 4000 proto tcp",
    ]);
  });
});
