/**
 * A stack deployed from a pipeline through a bastion, with the runner's egress admitted
 * (`access.bastion`, `access.deploy_cidrs`): every SSH connection the deployment makes goes
 * through the bastion with its host key pinned, and the hosts' SSH allow-list admits the
 * bastion and the runner. The real program under mocks.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { MASKED_SECRET } from "../../core/config/source";
import { rawConfig } from "../fixtures";
import { REMOTE_COMMAND, type StackRun, runRaw } from "./stack-harness";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh5bWJhc3Rpb25ob3N0a2V5Zm9ydGVzdHNvbmx5MDAw";
const raw = rawConfig({
  environment: "dev",
  hosts: [
    { name: "gpu-1", address: "203.0.113.11", private_address: "10.0.0.11", datacenter: "uk-london", gpu: "rtx-4090" },
    { name: "gpu-2", address: "203.0.113.12", private_address: "10.0.0.12", datacenter: "uk-london", gpu: "rtx-4090" },
  ],
  model: { id: "qwen2.5-7b-instruct" },
  router: { allowed_cidrs: ["198.51.100.0/24"], managed: { provider: "together_ai", api_key_secret: "togetherApiKey" } },
  access: {
    admin_cidrs: ["198.51.100.0/24"],
    deploy_cidrs: ["192.0.2.0/28"],
    bastion: { address: "192.0.2.50", user: "jump", port: 2222, host_key: HOST_KEY },
  },
  sshPrivateKey: MASKED_SECRET,
  togetherApiKey: MASKED_SECRET,
}, undefined, "bas");

let run: StackRun;
beforeAll(async () => {
  run = await runRaw(raw);
});

interface Connection { host: string; port: number; user: string; privateKey: string; proxy?: Record<string, unknown> }
/** A step's connection with its secrets (the SSH key) unwrapped: the whole connection is secret. */
function connection(name: string): Connection {
  return unwrap(run.byName(name).rawInputs["connection"]) as Connection;
}

/** A recorded input with every `{ secret: value }` replaced by its value. */
function unwrap(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrap);
  if (typeof v === "object" && v !== null && "secret" in v && Object.keys(v).length === 1) return unwrap((v as { secret: unknown }).secret);
  return typeof v === "object" && v !== null ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)])) : v;
}

describe("deploying through a bastion", () => {
  it("sends every remote step through the bastion, with its host key pinned and the same key", () => {
    const steps = run.ofType(REMOTE_COMMAND);
    expect(steps.length).toBeGreaterThan(20);
    for (const s of steps) {
      const c = connection(s.name);
      expect(c.proxy, s.name).toMatchObject({ host: "192.0.2.50", port: 2222, user: "jump", hostKey: HOST_KEY, privateKey: c.privateKey });
      expect(c.host).toMatch(/^203\.0\.113\.1[12]$/);
    }
  });

  it("runs the Docker provider's ssh and the reboot wait through the same bastion, its key pinned in a known_hosts file", () => {
    for (const h of ["gpu-1", "gpu-2"]) {
      const provider = run.resources.find((r) => r.type === "pulumi:providers:docker" && r.name === `bas-${h}-docker`)!;
      // The options name the key file (made from the secret key), so Pulumi keeps them secret.
      const raw = provider.rawInputs["sshOpts"] as { secret: unknown } | string;
      const value = typeof raw === "object" ? raw.secret : raw;
      const opts = (typeof value === "string" ? JSON.parse(value) : value) as string[];
      const proxy = opts[opts.indexOf("-o", opts.indexOf("StrictHostKeyChecking=accept-new")) + 1]!;
      expect(proxy).toMatch(/^ProxyCommand=ssh -i '.*\/ssh_key' -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile='.*\/bastion_known_hosts' -o GlobalKnownHostsFile=\/dev\/null -p 2222 -W '\[%h\]:%p' -- 'jump@192\.0\.2\.50'$/);
      const wait = run.byName(`bas-${h}-wait-for-reboot`);
      expect((unwrap(wait.rawInputs["environment"]) as Record<string, string>)["HI_SSH_PROXY_COMMAND"]).toBe(proxy.slice("ProxyCommand=".length));
    }
  });

  it("admits SSH from the admins, the runner's egress and the bastion, on every host", () => {
    for (const h of ["gpu-1", "gpu-2"]) {
      expect(String(run.byName(`bas-${h}-firewall`).inputs["create"])).toContain("HI_ADMIN_CIDRS='198.51.100.0/24,192.0.2.0/28,192.0.2.50/32'");
    }
  });
});
