import { beforeAll, describe, expect, it } from "vitest";
import { type MockRunResult, runProgramUnderMocks } from "../../cli/mock-run";
import { loadPlan } from "../../core/load";
import { rawConfig, validValues } from "../fixtures";
import { canaryFor, plaintextOccurrences } from "./stack-harness";

const values = {
  ...validValues(),
  router: {
    allowed_cidrs: ["0.0.0.0/0"],
    managed: { provider: "together_ai", api_key_secret: "togetherApiKey" },
    tls: { domain: "inference.example.co.uk", email: "ops@example.co.uk", certificate_secret: "tlsCert", private_key_secret: "tlsKey" },
  },
  tlsCert: "[secret]",
  tlsKey: "[secret]",
};
const raw = rawConfig(values, ["sshPrivateKey", "togetherApiKey", "tlsCert", "tlsKey"], "tls");

describe("router behind TLS", () => {
  let run: MockRunResult;
  beforeAll(async () => {
    const { plan, issues } = loadPlan(raw);
    if (!plan) throw new Error(JSON.stringify(issues));
    run = await runProgramUnderMocks(raw, plan, canaryFor);
  });
  const byName = (n: string) => run.resources.find((r) => r.name === n)!;

  it("publishes 80 and 443 on the edge and nothing on the router", () => {
    expect(byName("tls-router-container").inputs["ports"]).toEqual([]);
    expect(byName("tls-router-edge").inputs["ports"]).toEqual([{ internal: 80, external: 80 }, { internal: 443, external: 443 }]);
    expect(byName("tls-router-edge-image").inputs["name"]).toBe("caddy:2.11.9");
    expect(run.outputs["routerUrl"]).toBe("https://inference.example.co.uk");
  });

  it("opens 80 and 443, not the router port, in the host firewall", () => {
    expect(byName("tls-gpu-1-firewall").inputs["create"]).toContain("HI_ROUTER_PORT='80,443'");
  });

  it("proxies the domain to the router on the private network, with the provided certificate", () => {
    // One secret element makes Pulumi mark the whole uploads list secret.
    const wrapped = byName("tls-router-edge").rawInputs["uploads"] as { secret: { file: string; content: string; permissions?: string }[] };
    const uploads = wrapped.secret;
    const caddyfile = uploads.find((u) => u.file === "/etc/caddy/Caddyfile")!.content as string;
    expect(caddyfile).toContain("inference.example.co.uk {\n\ttls /etc/caddy/certs/fullchain.pem /etc/caddy/certs/privkey.pem\n\treverse_proxy tls-router:4000 {");
    expect(caddyfile).toContain("email ops@example.co.uk");
    const cert = uploads.find((u) => u.file === "/etc/caddy/certs/fullchain.pem")!;
    expect(cert.content).toBe(canaryFor("tlsCert"));
    expect(cert.permissions).toBe("0600");
  });

  it("keeps the certificate and key out of every plain input", () => {
    for (const key of ["tlsCert", "tlsKey"]) {
      expect(run.resources.flatMap((r) => plaintextOccurrences(r.rawInputs, canaryFor(key), r.name))).toEqual([]);
    }
  });
});
