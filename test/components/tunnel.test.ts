/**
 * Three hosts with no private network: the router reaches the other two engines through the
 * engine tunnel (WireGuard), never over their public addresses, and the hosts roll one after
 * the other (1, 2, 3). The real program under mocks.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { parse as parseYaml } from "yaml";
import { MASKED_SECRET } from "../../core/config/source";
import { renderTarget } from "../../core/render/target";
import { wireguardKeyPair } from "../../core/render/wireguard";
import { rawConfig } from "../fixtures";
import { DependencyGraph } from "./dependency-graph";
import { CONTAINER, REMOTE_COMMAND, type StackRun, plaintextOccurrences, runRaw } from "./stack-harness";

const host = (n: number) => ({ name: `gpu-${n}`, address: `203.0.113.${10 + n}`, datacenter: "uk-london", gpu: "rtx-4090", gpu_count: 1 });
const raw = rawConfig({
  environment: "staging",
  residency: "uk",
  hosts: [host(1), host(2), host(3)],
  model: { id: "qwen2.5-7b-instruct", quantization: "auto" },
  router: { allowed_cidrs: ["198.51.100.0/24"], managed: { provider: "together_ai", api_key_secret: "togetherApiKey" } },
  access: { admin_cidrs: ["198.51.100.0/24"] },
  benchmark: { enabled: false },
  sshPrivateKey: MASKED_SECRET,
  togetherApiKey: MASKED_SECRET,
}, undefined, "tun");

let run: StackRun;
let graph: DependencyGraph;
beforeAll(async () => {
  run = await runRaw(raw);
  graph = new DependencyGraph(run.resources);
});

/** The key pair the program derives from the mock runner's stand-in bytes for a host. */
function keysOf(h: string) {
  const bytes = createHash("sha256").update(`tun-${h}-tunnel-key`).digest();
  return wireguardKeyPair(bytes.toString("base64"));
}

describe("engine tunnel across three hosts without a private network", () => {
  it("plans a tunnel of the router host and both engine hosts, numbered by stack position", () => {
    const rendering = renderTarget(run.plan);
    if (rendering.kind !== "docker") throw new Error("docker expected");
    expect(rendering.tunnel?.members).toEqual([
      { host: "gpu-1", address: "10.213.0.1", endpoint: "203.0.113.11" },
      { host: "gpu-2", address: "10.213.0.2", endpoint: "203.0.113.12" },
      { host: "gpu-3", address: "10.213.0.3", endpoint: "203.0.113.13" },
    ]);
  });

  it("sends engine traffic to the tunnel addresses only, never a public one", () => {
    const config = parseYaml(renderTarget(run.plan).files["router/litellm-config.yaml"]!) as { model_list: { litellm_params: { api_base?: string } }[] };
    const bases = [...new Set(config.model_list.map((m) => m.litellm_params.api_base).filter((b): b is string => b !== undefined))].sort();
    expect(bases).toEqual(["http://10.213.0.2:8000/v1", "http://10.213.0.3:8000/v1", "http://gpu-1-engine:8000/v1"]);
    for (const n of [2, 3]) {
      const ports = run.byName(`tun-gpu-${n}-engine-container`).inputs["ports"];
      expect(ports).toEqual([{ internal: 8000, external: 8000, ip: `10.213.0.${n}` }]);
    }
  });

  it("runs the tunnel step after the firewall and before the rest of the bootstrap, on every member", () => {
    for (const n of [1, 2, 3]) {
      const wg = run.byName(`tun-gpu-${n}-wireguard`);
      expect(wg.dependsOn).toContain(`${REMOTE_COMMAND}::tun-gpu-${n}-firewall`);
      expect(run.byName(`tun-gpu-${n}-cache-dir`).dependsOn).toContain(`${REMOTE_COMMAND}::tun-gpu-${n}-wireguard`);
      expect(run.byName(`tun-gpu-${n}-tunnel-key`).type).toBe("random:index/randomBytes:RandomBytes");
    }
  });

  it("gives each host its own private key on stdin only, and its peers' public keys", () => {
    const keys = Object.fromEntries([1, 2, 3].map((n) => [`gpu-${n}`, keysOf(`gpu-${n}`)]));
    const peersOf: Record<string, string[]> = { "gpu-1": ["gpu-2", "gpu-3"], "gpu-2": ["gpu-1"], "gpu-3": ["gpu-1"] };
    for (const [h, peers] of Object.entries(peersOf)) {
      const wg = run.byName(`tun-${h}-wireguard`);
      expect(wg.inputs["stdin"]).toBe("[secret]");
      const stdin = (wg.rawInputs["stdin"] as { secret: string }).secret;
      expect(stdin.split("\n")[0]).toBe(keys[h]!.privateKey);
      const create = String(wg.inputs["create"]);
      expect(create).toContain(`HI_WG_PEER_KEYS='${peers.map((p) => `${p}=${keys[p]!.publicKey}`).join(",")}'`);
      expect(create).toContain("IFS= read -r HI_WG_PRIVATE_KEY");
      // A key change re-runs the step: the public keys are in its trigger.
      expect((wg.inputs["triggers"] as string[]).length).toBe(2);
    }
  });

  it("never shows a private tunnel key outside a Pulumi secret", () => {
    for (const n of [1, 2, 3]) {
      const { privateKey } = keysOf(`gpu-${n}`);
      const leaks = [
        ...run.resources.flatMap((r) => plaintextOccurrences(r.rawInputs, privateKey, `${r.type} ${r.name}`)),
        ...plaintextOccurrences(run.outputs, privateKey, "outputs"),
        ...plaintextOccurrences(run.logs, privateKey, "log"),
        ...plaintextOccurrences(renderTarget(run.plan).files, privateKey, "rendered files"),
      ];
      expect(leaks).toEqual([]);
    }
  });

  it("admits the engine port from the router's tunnel address and the tunnel port from the peers' public addresses", () => {
    const env = (n: number) => String(run.byName(`tun-gpu-${n}-firewall`).inputs["create"]);
    expect(env(2)).toContain("HI_ENGINE_ALLOWED_SOURCES='10.213.0.1/32'");
    expect(env(2)).toContain("HI_TUNNEL_PORT='51820' HI_TUNNEL_ALLOWED_SOURCES='203.0.113.11/32'");
    expect(env(1)).toContain("HI_TUNNEL_ALLOWED_SOURCES='203.0.113.12/32,203.0.113.13/32'");
  });

  it("publishes the monitoring's exporters on the tunnel address too, scraped there and admitted from the router's tunnel address", () => {
    const prometheus = renderTarget(run.plan).files["monitoring/prometheus.yml"]!;
    for (const n of [2, 3]) {
      const exporters = run.resources.filter((r) => r.type === CONTAINER && String(r.name).startsWith(`tun-gpu-${n}-`) && /-(node|dcgm)-exporter$/.test(String(r.name)));
      expect(exporters.length).toBe(2);
      for (const e of exporters) {
        const ports = e.inputs["ports"] as { ip: string }[];
        expect(ports.map((p) => p.ip)).toEqual([`10.213.0.${n}`]);
      }
      expect(prometheus).toContain(`10.213.0.${n}:9100`);
      expect(prometheus).not.toContain(`203.0.113.${10 + n}:`);
      expect(String(run.byName(`tun-gpu-${n}-firewall`).inputs["create"])).toMatch(/HI_EXPORTER_PORTS='[0-9,]+'/);
    }
  });

  it("rolls the three hosts in order: each one's disruptive steps and engine wait for the previous host's engine", () => {
    expect(graph.cycle()).toBeUndefined();
    const gate = (n: number) => `tun-gpu-${n}-engine-readiness`;
    for (const [n, prev] of [[2, 1], [3, 2]] as const) {
      expect(graph.waitsOn(`${REMOTE_COMMAND}::tun-gpu-${n}-nvidia-driver`, gate(prev))).toBe(true);
      expect(graph.waitsOn(`${CONTAINER}::tun-gpu-${n}-engine-container`, gate(prev))).toBe(true);
    }
    expect(graph.waitsOn(gate(2), `${REMOTE_COMMAND}::tun-gpu-3-nvidia-driver`)).toBe(false);
    expect(graph.waitsOn("tun-router-readiness", gate(3))).toBe(true);
  });
});
