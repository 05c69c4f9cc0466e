/**
 * The engine tunnel: its keys (core/render/wireguard.ts) against RFC 7748's X25519 test vector,
 * and the `wireguard` bootstrap step (templates/host/wireguard.sh) run for real with bash against
 * the host-script harness, as the GpuHost component runs it (the private key on stdin). Stub
 * `wg`, `wg-quick`, `ip` and `systemctl` keep the interface's state in the harness's state
 * directory: `systemctl start|restart wg-quick@<if>` brings it up with the address and peers of
 * the configuration file, `wg syncconf` replaces the peers.
 */
import { readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MASKED_SECRET } from "../../core/config/source";
import { loadPlan } from "../../core/load";
import { dockerPart } from "../../core/plan/docker";
import { type HostStep, TUNNEL_STEP, hostSteps, renderCloudInit } from "../../core/render/host-bootstrap";
import { clampPrivateKey, tunnelStepRun, wireguardKeyPair, wireguardPublicKey } from "../../core/render/wireguard";
import { rawConfig } from "../fixtures";
import { Sandbox } from "./harness";

describe("tunnel keys", () => {
  it("derive the public key as X25519 does (RFC 7748, section 6.1: Alice's and Bob's keys)", () => {
    const b64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");
    expect(wireguardPublicKey(b64("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")))
      .toBe(b64("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"));
    expect(wireguardPublicKey(b64("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")))
      .toBe(b64("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
  });

  it("clamp any 32 random bytes into a Curve25519 private key, as wg genkey does", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
      const pair = wireguardKeyPair(Buffer.from(bytes).toString("base64"));
      const k = Buffer.from(pair.privateKey, "base64");
      expect(k.length).toBe(32);
      expect(k[0]! & 7).toBe(0);
      expect(k[31]! & 128).toBe(0);
      expect(k[31]! & 64).toBe(64);
      expect(clampPrivateKey(k).equals(k)).toBe(true);
      expect(pair.publicKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    }), { numRuns: 50 });
  });
});

/** A two-host stack without a private network: gpu-1 runs the router, gpu-2 is reached through the tunnel. */
const plan = (() => {
  const host = (n: number) => ({ name: `gpu-${n}`, address: `203.0.113.${10 + n}`, datacenter: "uk-london", gpu: "rtx-4090" });
  const { plan: p, issues } = loadPlan(rawConfig({
    environment: "dev", hosts: [host(1), host(2)], model: { id: "qwen2.5-7b-instruct" },
    router: { allowed_cidrs: ["198.51.100.0/24"], managed: { provider: "together_ai", api_key_secret: "togetherApiKey" } },
    access: { admin_cidrs: ["198.51.100.0/24"] }, sshPrivateKey: MASKED_SECRET, togetherApiKey: MASKED_SECRET,
  }));
  if (!p) throw new Error(JSON.stringify(issues));
  return p;
})();
const keys = { "gpu-1": wireguardKeyPair(Buffer.alloc(32, 1).toString("base64")), "gpu-2": wireguardKeyPair(Buffer.alloc(32, 2).toString("base64")) };
const publicKeys = { "gpu-1": keys["gpu-1"].publicKey, "gpu-2": keys["gpu-2"].publicKey };
const tunnelStep = (hostName: "gpu-1" | "gpu-2"): HostStep => {
  const t = dockerPart(plan).hosts.find((h) => h.name === hostName)!;
  return hostSteps(t.bootstrap).find((s) => s.name === TUNNEL_STEP)!;
};

const SYSTEMCTL_TUNNEL = String.raw`
# The tunnel unit: bring the interface up from its configuration file.
if [[ "${"$"}{args[0]:-}" =~ ^(start|restart)$ && "${"$"}{args[1]:-}" == wg-quick@* ]]; then
  ifname="${"$"}{args[1]#wg-quick@}"; ifname="${"$"}{ifname%.service}"
  conf="$HI_ROOT/etc/wireguard/$ifname.conf"
  echo "$ifname" >"$S/wg-up"
  sed -n 's/^Address = //p' "$conf" >"$S/wg-address"
  sed -n 's/^PublicKey = //p' "$conf" >"$S/wg-peers"
  echo "${"$"}{args[0]}" >>"$S/wg-unit-ops"
fi`;

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
  const systemctl = readFileSync(path.join(__dirname, "stubs", "systemctl"), "utf8");
  sb.stub("systemctl", systemctl + SYSTEMCTL_TUNNEL);
  sb.stub("ip", String.raw`
# ip link show dev X | ip -4 -o addr show dev X
[[ -f "$S/wg-up" ]] || { echo "Device \"${"$"}{!#}\" does not exist." >&2; exit 1; }
if [[ "$1" == -4 ]]; then printf '7: %s    inet %s scope global %s\\       valid_lft forever\n' "${"$"}{!#}" "$(cat "$S/wg-address")" "${"$"}{!#}"; fi`);
  sb.stub("wg", String.raw`
case "$1" in
  show) cat "$S/wg-peers" ;;
  syncconf) sed -n 's/^PublicKey = //p' "$3" >"$S/wg-peers"; echo syncconf >>"$S/wg-unit-ops" ;;
esac`);
  sb.stub("wg-quick", String.raw`[[ "$1" == strip ]] && grep -v '^Address = ' "$HI_ROOT/etc/wireguard/$2.conf"`);
});
afterEach(() => sb.cleanup());

/** Runs the step as the GpuHost component does: its command (with the peers' public keys), the private key then the script on stdin. */
function runTunnel(hostName: "gpu-1" | "gpu-2", step = tunnelStep(hostName)) {
  const r = tunnelStepRun(step, keys[hostName].privateKey, publicKeys);
  return sb.runCommand(r.create.replace(/^sudo -n /, ""), r.stdin);
}

describe("the wireguard step", () => {
  it("is planned on both hosts, after the firewall, and never in cloud-init (it needs a key)", () => {
    for (const h of ["gpu-1", "gpu-2"] as const) {
      const steps = hostSteps(dockerPart(plan).hosts.find((x) => x.name === h)!.bootstrap).map((s) => s.name);
      expect(steps.indexOf("wireguard")).toBe(steps.indexOf("firewall") + 1);
      const cloudInit = renderCloudInit(dockerPart(plan).hosts.find((x) => x.name === h)!.bootstrap);
      expect(cloudInit).not.toContain("wireguard");
    }
  });

  it("writes the engine host's tunnel (0600, its key, the router host as its one peer), orders Docker after it and brings it up", () => {
    const r = runTunnel("gpu-2");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const conf = sb.read("etc/wireguard/hi-engines.conf");
    expect(conf).toContain("[Interface]\nAddress = 10.213.0.2/24\nListenPort = 51820\n");
    expect(conf).toContain(`PrivateKey = ${keys["gpu-2"].privateKey}\n`);
    expect(conf).toContain(`[Peer]\n# gpu-1\nPublicKey = ${keys["gpu-1"].publicKey}\nAllowedIPs = 10.213.0.1/32\nEndpoint = 203.0.113.11:51820\nPersistentKeepalive = 25\n`);
    expect(conf.match(/\[Peer\]/g)).toHaveLength(1);
    expect(statSync(path.join(sb.root, "etc/wireguard/hi-engines.conf")).mode & 0o777).toBe(0o600);
    expect(sb.read("etc/systemd/system/docker.service.d/50-hybrid-inference-tunnel.conf")).toContain("After=wg-quick@hi-engines.service");
    expect(sb.callLines("systemctl")).toEqual(expect.arrayContaining(["systemctl daemon-reload", "systemctl enable wg-quick@hi-engines.service", "systemctl start wg-quick@hi-engines.service"]));
    expect(r.stdout).toContain("tunnel hi-engines up at 10.213.0.2/24 (udp :51820), peers: gpu-1=10.213.0.1");
    // The key was read from stdin: it is on no command line and in no printed output.
    expect(sb.callLines().filter((l) => l.includes(keys["gpu-2"].privateKey))).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain(keys["gpu-2"].privateKey);
  });

  it("gives the router host one peer per engine host", () => {
    const r = runTunnel("gpu-1");
    expect(r.status).toBe(0);
    const conf = sb.read("etc/wireguard/hi-engines.conf");
    expect(conf).toContain("Address = 10.213.0.1/24");
    expect(conf).toContain(`PublicKey = ${keys["gpu-2"].publicKey}\nAllowedIPs = 10.213.0.2/32\nEndpoint = 203.0.113.12:51820`);
  });

  it("changes nothing on a second run, and applies a peer's new key without restarting the tunnel", () => {
    expect(runTunnel("gpu-2").status).toBe(0);
    sb.clearCalls();
    const again = runTunnel("gpu-2");
    expect(again.status).toBe(0);
    expect(sb.callLines("systemctl").filter((l) => /start|restart|daemon-reload/.test(l))).toEqual([]);
    expect(sb.calls("wg").filter((c) => c[1] === "syncconf")).toEqual([]);

    const rotated = wireguardKeyPair(Buffer.alloc(32, 9).toString("base64"));
    const r = sb.runCommand(...(() => {
      const run = tunnelStepRun(tunnelStep("gpu-2"), keys["gpu-2"].privateKey, { ...publicKeys, "gpu-1": rotated.publicKey });
      return [run.create.replace(/^sudo -n /, ""), run.stdin] as const;
    })());
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("updated the tunnel's peers and keys without restarting it");
    expect(sb.getState("wg-peers").trim()).toBe(rotated.publicKey);
    expect(sb.getState("wg-unit-ops").trim().split("\n")).toEqual(["start", "syncconf"]);
  });

  it("restarts the tunnel when its address changes", () => {
    expect(runTunnel("gpu-2").status).toBe(0);
    const step = tunnelStep("gpu-2");
    const moved = { ...step, env: { ...step.env, HI_WG_ADDRESS: "10.214.0.2/24" } };
    const r = runTunnel("gpu-2", moved);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("restarted the tunnel hi-engines: its address or port changed");
    expect(sb.getState("wg-address").trim()).toBe("10.214.0.2/24");
  });

  it("refuses a malformed key without printing it, and a peer without a key", () => {
    const step = tunnelStep("gpu-2");
    const bad = tunnelStepRun(step, keys["gpu-2"].privateKey, publicKeys);
    const r = sb.runCommand(bad.create.replace(/^sudo -n /, ""), `not-a-key'$(reboot)\n${step.script}`);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("HI_WG_PRIVATE_KEY is not a WireGuard key (32 bytes, base64); its value is not shown");
    expect(r.stderr).not.toContain("not-a-key");
    expect(() => tunnelStepRun(step, keys["gpu-2"].privateKey, {})).toThrow("no tunnel key for peer gpu-1");
    expect(sb.calls("systemctl")).toEqual([]);
  });

  it("fails when the kernel's tunnel lacks a peer it was given", () => {
    sb.stub("wg", String.raw`case "$1" in show) echo "someoneElse=" ;; esac`);
    const r = runTunnel("gpu-2");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("the tunnel hi-engines has no peer for gpu-1");
  });
});
