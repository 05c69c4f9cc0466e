/**
 * The `access` keys that let pipelines reach the hosts (`deploy_cidrs`, `bastion`) and the engine
 * tunnel's block (`tunnel`): what a user sees for each mistake, and the one SSH allow-list every
 * host's firewall gets.
 */
import { describe, expect, it } from "vitest";
import { validateStackConfig } from "../../core/config/validate";
import { loadPlan } from "../../core/load";
import { dockerPart } from "../../core/plan/docker";
import { sshSources } from "../../core/plan/access";
import { rawConfig, validValues, withValues } from "../fixtures";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh5bWJhc3Rpb25ob3N0a2V5Zm9ydGVzdHNvbmx5MDAw";
const access = (patch: Record<string, unknown>) => withValues({ access: { admin_cidrs: ["198.51.100.0/24"], ...patch } });
const issuesOf = (values: Record<string, unknown>) => validateStackConfig(rawConfig(values)).issues;

describe("access.deploy_cidrs and access.bastion", () => {
  it("merge into one SSH allow-list on every host: admins, the pipeline's egress, the bastion", () => {
    const { plan } = loadPlan(rawConfig(access({ deploy_cidrs: ["192.0.2.0/28", "198.51.100.0/24"], bastion: { address: "192.0.2.50", user: "jump", host_key: HOST_KEY } })));
    expect(dockerPart(plan!).hosts[0]!.bootstrap.adminCidrs).toEqual(["198.51.100.0/24", "192.0.2.0/28", "192.0.2.50/32"]);
  });

  it("leaves a bastion named by DNS out of the list, with a warning that says what to add", () => {
    expect(sshSources({ admin_cidrs: ["198.51.100.0/24"], deploy_cidrs: [], bastion: { address: "jump.example.co.uk", port: 22, user: "jump", host_key: HOST_KEY } })).toEqual(["198.51.100.0/24"]);
    const warning = issuesOf(access({ bastion: { address: "jump.example.co.uk", user: "jump", host_key: HOST_KEY } })).find((i) => i.path.endsWith("bastion.address"));
    expect(warning?.severity).toBe("warning");
    expect(warning?.message).toContain("is a DNS name, so the hosts' firewalls cannot admit it by itself");
    expect(warning?.fix).toContain("make sure one of them covers the address the bastion connects to the hosts from");
  });

  it("refuses a deploy CIDR with host bits, naming its network", () => {
    const issue = issuesOf(access({ deploy_cidrs: ["192.0.2.7/28"] })).find((i) => i.path === "hybrid-inference:access.deploy_cidrs[0]");
    expect(issue?.message).toBe("has host bits set after /28: the network is 192.0.2.0/28");
  });

  it("requires the bastion's host key, in the form ssh-keyscan prints", () => {
    const missing = issuesOf(access({ bastion: { address: "192.0.2.50", user: "jump" } })).find((i) => i.path.includes("bastion"));
    expect(missing?.path).toBe("hybrid-inference:access.bastion.host_key");
    const bad = issuesOf(access({ bastion: { address: "192.0.2.50", user: "jump", host_key: "AAAAC3Nza" } })).find((i) => i.path.includes("bastion"));
    expect(bad?.message).toContain("must be the bastion's public host key as `ssh-keyscan -t ed25519 <bastion>` prints it");
  });
});

describe("access.tunnel", () => {
  const hosts = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `gpu-${i + 1}`, address: `203.0.113.${10 + i}`, datacenter: "uk-london", gpu: "rtx-4090" }));

  it("refuses a block that cannot number the stack's hosts", () => {
    const issue = issuesOf(withValues({ hosts: hosts(7), access: { admin_cidrs: ["198.51.100.0/24"], tunnel: { cidr: "10.9.0.0/29" } } }))
      .find((i) => i.path === "hybrid-inference:access.tunnel.cidr");
    expect(issue?.severity).toBe("error");
    expect(issue?.message).toBe("10.9.0.0/29 holds 6 hosts, but the stack has 7");
  });

  it("takes IPv4 blocks from /16 to /29 only", () => {
    for (const cidr of ["10.0.0.0/8", "10.9.0.0/30", "fd00::/64"]) {
      const issue = issuesOf(access({ tunnel: { cidr } })).find((i) => i.path === "hybrid-inference:access.tunnel.cidr");
      expect(issue?.message, cidr).toBe("must be an IPv4 network with a prefix from /16 to /29, e.g. 10.213.0.0/24");
    }
  });

  it("is planned only where the router would reach an engine over a public address", () => {
    const privateHosts = hosts(2).map((h, i) => ({ ...h, private_address: `10.0.0.${i + 1}` }));
    const { plan: onPrivate } = loadPlan(rawConfig(withValues({ hosts: privateHosts })));
    expect(dockerPart(onPrivate!).tunnel).toBeNull();
    expect(dockerPart(onPrivate!).hosts[1]!.endpoint).toMatchObject({ via: "private", apiBase: "http://10.0.0.2:8000/v1" });
    // One host without a private address: its engine goes through the tunnel, the other stays on the private network.
    const mixed = [...privateHosts, hosts(3)[2]!];
    const { plan } = loadPlan(rawConfig(withValues({ hosts: mixed, access: { admin_cidrs: ["198.51.100.0/24"], tunnel: { cidr: "10.77.0.0/24", port: 51999 } } })));
    const t = dockerPart(plan!);
    expect(t.tunnel?.members.map((m) => [m.host, m.address])).toEqual([["gpu-1", "10.77.0.1"], ["gpu-3", "10.77.0.3"]]);
    expect(t.hosts.map((h) => h.endpoint.via)).toEqual(["docker-network", "private", "tunnel"]);
    expect(t.hosts[2]!.bootstrap.tunnel).toMatchObject({ address: "10.77.0.3/24", port: 51999, allowedSources: ["203.0.113.10/32"] });
    expect(t.hosts[1]!.bootstrap.tunnel).toBeUndefined();
  });

  it("never leaves engine traffic on a public address, for any mix of private addresses", () => {
    for (let mask = 0; mask < 16; mask++) {
      const hs = hosts(4).map((h, i) => ((mask >> i) & 1 ? { ...h, private_address: `10.0.0.${i + 1}` } : h));
      const { plan, issues } = loadPlan(rawConfig(withValues({ hosts: hs })));
      if (!plan) throw new Error(JSON.stringify(issues));
      for (const h of dockerPart(plan).hosts.slice(1)) {
        const at = new URL(h.endpoint.apiBase).hostname;
        expect(at, `mask ${mask}: ${h.name}`).toMatch(/^10\./);
        expect(h.endpoint.publishOn?.address).toBe(at);
      }
    }
  });
});

describe("the shipped stacks", () => {
  it("keep planning: no access key they do not set changes their hosts' SSH list", () => {
    const { plan } = loadPlan(rawConfig(validValues()));
    expect(dockerPart(plan!).hosts[0]!.bootstrap.adminCidrs).toEqual(["198.51.100.0/24"]);
  });
});
