/**
 * The k3s bootstrap scripts (templates/k3s/), linted and run for real with bash against stubs,
 * with the host bootstrap's harness (HI_ROOT scratch root, stub-only PATH).
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { makeStep, renderStepCommand } from "../../core/render/host-bootstrap";
import {
  K3S_STEPS, K3S_TOKEN_ENV, k3sClusterPlan, k3sTemplatesDir, kubeconfigFromStdout, renderSecretStepCommand, secretStepStdin,
} from "../../core/render/kubernetes/k3s-bootstrap";
import { renderScript } from "../../core/render/script";
import { Sandbox, TEMPLATES as HOST_TEMPLATES } from "../host-bootstrap/harness";
import { shellcheckRendered } from "../host-bootstrap/shellcheck";
import { shippedPlan } from "./fixtures";

const K3S = k3sTemplatesDir();
const scripts = readdirSync(K3S).filter((f) => f.endsWith(".sh")).sort();
/** The script as it runs: the shared helpers inlined. */
const text = (f: string): string => renderScript(path.join(K3S, f));
const helperBlock = (s: string): string => s.slice(s.indexOf("# ---- common helpers: begin"), s.indexOf("# ---- common helpers: end"));

describe("k3s scripts: lint and conventions", () => {
  it("has one script per k3s step", () => {
    expect(scripts).toEqual([...K3S_STEPS].map((s) => `${s}.sh`).sort());
  });

  it("passes shellcheck at the strictest severity", () => {
    expect(shellcheckRendered(scripts.map((f) => path.join(K3S, f)))).toBe("");
  });

  it.each(scripts)("%s: strict mode, its step name, stdin guarded, the host scripts' helper block", (f) => {
    const s = text(f);
    expect(s.startsWith("#!/usr/bin/env bash\n")).toBe(true);
    expect(s).toMatch(/^set -euo pipefail$/m);
    expect(s).toMatch(new RegExp(`^STEP=${f.replace(/\.sh$/, "")}$`, "m"));
    expect(s.trimEnd().endsWith('main "$@" </dev/null')).toBe(true);
    expect(helperBlock(s)).toBe(helperBlock(renderScript(path.join(HOST_TEMPLATES, "cache-dir.sh"))));
  });

  it.each(scripts)("%s: prefixes the absolute paths it touches with $ROOT (the host scripts' heuristic)", (f) => {
    const offenders = text(f).split("\n")
      .filter((line) => !line.trimStart().startsWith("#") && !line.includes("readonly "))
      .filter((line) => /(?:[<>]\s*|\s-[a-z]\s+|")\/(?:etc|var|usr|proc|sys|opt|run|lib)\//.test(line))
      .filter((line) => !/https?:\/\//.test(line));
    expect(offenders).toEqual([]);
  });

  it.each(scripts)("%s: documents every HI_* variable it reads", (f) => {
    const s = text(f);
    const header = s.slice(0, s.indexOf("\nSTEP="));
    for (const name of new Set(s.slice(s.indexOf("\nSTEP=")).match(/\bHI_[A-Z0-9_]+\b/g) ?? [])) {
      if (name === "HI_KUBECONFIG_B64") continue; // an output line, documented as such
      expect(header, `${f} should document ${name}`).toContain(name);
    }
  });
});

const TOKEN = "K3sJoinTokenFromPulumiRandom0123456789abcdefXYZ";
const SERVER_URL = "https://10.20.0.41:6443";
const CONFIG = "node-name: gpu-b\nnode-ip: 10.20.0.42\nnode-label:\n  - hybrid-inference/gpu=rtx-5090\n";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
  // The k3s binary: its version from state/k3s-version, the API ready when state/k3s-ready exists.
  sb.stub("k3s", [
    'case "${1:-}" in',
    '--version) [[ -f "$S/k3s-version" ]] || exit 1; echo "k3s version $(cat "$S/k3s-version") (deadbeef)"; echo "go version go1.26" ;;',
    'kubectl) if [[ -f "$S/k3s-ready" ]]; then echo ok; else exit 1; fi ;;',
    "esac",
  ].join("\n"));
  sb.stub("sleep", "true");
  // curl writes a stand-in for k3s's install.sh, which records how it was run and "starts" k3s.
  sb.stub("curl", [
    'out=""; prev=""',
    'for a in "$@"; do if [[ "$prev" == -o ]]; then out="$a"; fi; prev="$a"; done',
    'if [[ -f "$S/curl-fails" ]]; then echo "curl: (6) Could not resolve host" >&2; exit 6; fi',
    "cat >\"$out\" <<'FAKE'",
    'printf "%s\\n" "$INSTALL_K3S_VERSION" >"$STUB_STATE/k3s-version"',
    'printf "%s\\n" "$*" >"$STUB_STATE/install-args"',
    'env >"$STUB_STATE/install-env"',
    'if [[ ! -f "$STUB_STATE/no-nvidia" ]]; then',
    '  mkdir -p "$HI_ROOT/var/lib/rancher/k3s/agent/etc/containerd"',
    '  printf "[plugins.\\"io.containerd.cri.v1.runtime\\".containerd.runtimes.\\"nvidia\\"]\\n" >"$HI_ROOT/var/lib/rancher/k3s/agent/etc/containerd/config.toml"',
    "fi",
    'touch "$STUB_STATE/k3s-ready"',
    "FAKE",
  ].join("\n"));
  sb.stub("sh", 'exec bash "$@"');
});
afterEach(() => sb.cleanup());

/** Runs k3s-install the way the component does: the command line, then token + script on stdin. */
function install(env: Record<string, string>, token = TOKEN) {
  const step = makeStep("k3s-install", text("k3s-install.sh"), {
    HI_K3S_ROLE: "agent",
    HI_K3S_VERSION: "v1.36.4+k3s1",
    HI_K3S_CONFIG: CONFIG,
    HI_K3S_NODE_NAME: "gpu-b",
    HI_K3S_INSTALL_URL: "https://raw.githubusercontent.com/k3s-io/k3s/v1.36.4%2Bk3s1/install.sh",
    HI_K3S_SERVER_URL: SERVER_URL,
    HI_K3S_WAIT_S: "10",
    ...env,
  });
  return sb.runCommand(renderSecretStepCommand(step, [K3S_TOKEN_ENV]), secretStepStdin([token], step.script));
}
const withoutKey = (key: string) => ({ [key]: "" });

describe("k3s-install against stubs", () => {
  it("joins an agent: token in a 0600 file, config with token-file and server, release installer run as agent", () => {
    const r = install({});
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(sb.read("etc/rancher/k3s/token")).toBe(`${TOKEN}\n`);
    expect(statSync(path.join(sb.root, "etc/rancher/k3s/token")).mode & 0o777).toBe(0o600);
    const config = sb.read("etc/rancher/k3s/config.yaml");
    expect(parseYaml(config)).toEqual({
      "node-name": "gpu-b", "node-ip": "10.20.0.42", "node-label": ["hybrid-inference/gpu=rtx-5090"],
      "token-file": "/etc/rancher/k3s/token", server: SERVER_URL,
    });
    expect(config).not.toContain(TOKEN);
    expect(sb.getState("k3s-version").trim()).toBe("v1.36.4+k3s1");
    expect(sb.getState("install-args").trim()).toBe("agent");
    // No K3S_* variable reaches the installer, so none is written to the unit's environment file.
    expect(sb.getState("install-env")).not.toMatch(/^K3S_/m);
    expect(sb.callLines("curl")[0]).toContain("https://raw.githubusercontent.com/k3s-io/k3s/v1.36.4%2Bk3s1/install.sh");
    expect(r.stdout).toContain("[hybrid-inference:k3s-install] node gpu-b: k3s v1.36.4+k3s1 agent ready; containerd has the nvidia runtime");
    // The token is in no command's argv and in no output.
    for (const argv of sb.calls()) expect(argv.join(" ")).not.toContain(TOKEN);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it("starts a server and waits for the API", () => {
    const r = install({ HI_K3S_ROLE: "server", ...withoutKey("HI_K3S_SERVER_URL") });
    expect(r.status).toBe(0);
    expect(sb.getState("install-args").trim()).toBe("server");
    expect(parseYaml(sb.read("etc/rancher/k3s/config.yaml"))).not.toHaveProperty("server");
    expect(sb.callLines("k3s")).toContain("k3s kubectl get --raw=/readyz");
  });

  it("keeps the join token as data, whatever it contains", () => {
    const hostile = "abc$(touch pwned-subst)`touch pwned-tick`';touch pwned-quote;'\"$HOME\\n";
    const r = install({}, hostile);
    expect(r.status).toBe(0);
    expect(sb.read("etc/rancher/k3s/token")).toBe(`${hostile}\n`);
    for (const f of ["pwned-subst", "pwned-tick", "pwned-quote"]) {
      expect(existsSync(path.join(sb.dir, f))).toBe(false);
      expect(existsSync(path.join(sb.root, f))).toBe(false);
    }
  });

  it("refuses to start an agent without the server URL, before touching anything", () => {
    const r = install(withoutKey("HI_K3S_SERVER_URL"));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("[hybrid-inference:k3s-install] HI_K3S_SERVER_URL is not set: an agent joins a server");
    expect(sb.exists("etc/rancher/k3s/token")).toBe(false);
    expect(sb.exists("etc/rancher/k3s/config.yaml")).toBe(false);
    expect(sb.calls("curl")).toEqual([]);
    expect(sb.calls("sh")).toEqual([]);
  });

  it("refuses a missing token, a non-https server URL, and a config that sets the token itself", () => {
    expect(install({}, "").stderr).toContain("HI_K3S_TOKEN is not set");
    expect(install({ HI_K3S_SERVER_URL: "http://10.20.0.41:6443" }).stderr).toContain("HI_K3S_SERVER_URL must look like https://");
    expect(install({ HI_K3S_CONFIG: `${CONFIG}token: hunter2\n` }).stderr).toContain("sets the token or the server itself");
    expect(sb.calls("sh")).toEqual([]);
  });

  it("is idempotent: a second run changes nothing; a new config restarts the agent without reinstalling", () => {
    expect(install({}).status).toBe(0);
    sb.set("systemd-active", "k3s-agent\n");
    sb.clearCalls();
    const again = install({});
    expect(again.status).toBe(0);
    expect(again.stdout).toContain("already running as agent with this configuration");
    expect(sb.calls("sh")).toEqual([]);
    expect(sb.calls("curl")).toEqual([]);
    expect(sb.calls("systemctl").filter((c) => c[1] === "restart")).toEqual([]);
    sb.clearCalls();
    const changed = install({ HI_K3S_CONFIG: `${CONFIG}  - hybrid-inference/gpu-count=1\n` });
    expect(changed.status).toBe(0);
    expect(sb.callLines("systemctl")).toContain("systemctl restart k3s-agent");
    expect(sb.calls("sh")).toEqual([]);
  });

  it("upgrades when another release is installed", () => {
    sb.set("k3s-version", "v1.35.4+k3s1\n");
    const r = install({});
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("k3s v1.35.4+k3s1 is installed; moving to v1.36.4+k3s1");
    expect(sb.getState("k3s-version").trim()).toBe("v1.36.4+k3s1");
  });

  it("fails, naming the fix, when k3s's containerd did not pick up the NVIDIA runtime", () => {
    sb.set("no-nvidia", "");
    sb.file("var/lib/rancher/k3s/agent/etc/containerd/config.toml", "[plugins]\n");
    const r = install({ HI_K3S_WAIT_S: "0" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("containerd has no nvidia runtime");
    expect(r.stderr).toContain("nvidia-container-runtime");
  });

  it("explains a failed download of the installer", () => {
    sb.set("curl-fails", "");
    const r = install({});
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("could not download k3s's install script");
  });
});

describe("k3s-firewall against stubs", () => {
  const run = (env: Record<string, string>) => sb.runText(text("k3s-firewall.sh"), {
    HI_K3S_ROLE: "server", HI_K3S_PEERS: "10.20.0.42", HI_ADMIN_CIDRS: "198.51.100.0/24",
    HI_K3S_FLANNEL_PORT: "8472", HI_K3S_CLUSTER_CIDRS: "10.42.0.0/16,10.43.0.0/16", ...env,
  });
  const rules = () => sb.getState("ufw-rules").trim().split("\n").filter(Boolean);

  it("opens the API, kubelet and flannel to the other nodes, the API to admins, and the pod/service networks", () => {
    const r = run({});
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(rules()).toEqual([
      "allow from 10.20.0.42 to any port 6443 proto tcp",
      "allow from 10.20.0.42 to any port 10250 proto tcp",
      "allow from 10.20.0.42 to any port 8472 proto udp",
      "allow from 198.51.100.0/24 to any port 6443 proto tcp",
      "allow from 10.42.0.0/16 to any",
      "allow from 10.43.0.0/16 to any",
    ]);
    for (const c of sb.calls("ufw").filter((a) => a[1] === "allow")) expect(c.join(" ")).toMatch(/comment hybrid-inference /);
  });

  it("opens no API port on an agent and needs no admin list there", () => {
    const r = run({ HI_K3S_ROLE: "agent", HI_ADMIN_CIDRS: "", HI_K3S_PEERS: "10.20.0.41" });
    expect(r.status).toBe(0);
    expect(rules().some((l) => l.includes("6443"))).toBe(false);
  });

  it("re-runs without changes and removes the rules of a node that left", () => {
    expect(run({ HI_K3S_PEERS: "10.20.0.42,10.20.0.43" }).status).toBe(0);
    sb.clearCalls();
    expect(run({ HI_K3S_PEERS: "10.20.0.42,10.20.0.43" }).status).toBe(0);
    expect(sb.calls("ufw").filter((a) => a[1] === "allow" || a[1] === "delete")).toEqual([]);
    const r = run({ HI_K3S_PEERS: "10.20.0.42" });
    expect(r.status).toBe(0);
    expect(rules().some((l) => l.includes("10.20.0.43"))).toBe(false);
    expect(r.stdout).toContain("removed stale rule 'allow from 10.20.0.43 to any port 10250 proto tcp'");
  });

  it("rejects a peer that is not an address, with the offending value", () => {
    const r = run({ HI_K3S_PEERS: "10.20.0.42,$(reboot)" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("HI_K3S_PEERS: '$(reboot)' is not a valid IPv4/IPv6 address or CIDR");
    expect(sb.calls("ufw")).toEqual([]);
  });
});

describe("k3s-kubeconfig against stubs", () => {
  it("prints the kubeconfig base64-encoded on one line, and the renderer points it at the server's address", () => {
    const kubeconfig = "apiVersion: v1\nkind: Config\nclusters:\n- name: default\n  cluster:\n    server: https://127.0.0.1:6443\n";
    sb.file("etc/rancher/k3s/k3s.yaml", kubeconfig);
    const r = sb.runText(text("k3s-kubeconfig.sh"), {});
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`HI_KUBECONFIG_B64=${Buffer.from(kubeconfig).toString("base64")}\n`);
    const rewritten = parseYaml(kubeconfigFromStdout(r.stdout, "https://203.0.113.41:6443")) as { clusters: { cluster: { server: string } }[] };
    expect(rewritten.clusters[0]!.cluster.server).toBe("https://203.0.113.41:6443");
  });

  it("fails clearly before the server has started", () => {
    const r = sb.runText(text("k3s-kubeconfig.sh"), {});
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("/etc/rancher/k3s/k3s.yaml is missing or empty");
  });
});

describe("k3s bootstrap renderer", () => {
  const cluster = k3sClusterPlan(shippedPlan("prod-k8s"));

  it("makes the first host the server and the others agents of its private address", () => {
    expect(cluster.nodes.map((n) => [n.host.name, n.role, n.nodeIp])).toEqual([["k8s-gpu-4090", "server", "10.20.0.41"], ["k8s-gpu-5090", "agent", "10.20.0.42"]]);
    expect(cluster.serverUrl).toBe("https://10.20.0.41:6443");
    expect(cluster.apiUrl).toBe("https://203.0.113.41:6443");
    expect(cluster.flannelBackend).toBe("vxlan");
    expect(cluster.nodes[1]!.steps.install.env["HI_K3S_SERVER_URL"]).toBe(cluster.serverUrl);
    expect(cluster.nodes[0]!.steps.install.env).not.toHaveProperty("HI_K3S_SERVER_URL");
    expect(cluster.nodes[1]!.steps.kubeconfig).toBeNull();
  });

  it("labels every node with its GPU model and count, and runs the host firewall with SSH only", () => {
    for (const n of cluster.nodes) {
      const config = parseYaml(n.config) as Record<string, unknown>;
      expect(config["node-label"]).toEqual([`hybrid-inference/gpu=${n.host.gpu.id}`, `hybrid-inference/gpu-count=${n.host.gpuCount}`]);
      expect(config["node-name"]).toBe(n.host.name);
      expect(n.bootstrap.router).toBeNull();
      expect(n.bootstrap.engine).toBeNull();
    }
    const server = parseYaml(cluster.nodes[0]!.config) as Record<string, unknown>;
    expect(server["secrets-encryption"]).toBe(true);
    expect(server["tls-san"]).toEqual(["203.0.113.41", "10.20.0.41"]);
  });

  it("keeps the token off the command line: only its variable's name appears there", () => {
    const step = cluster.nodes[1]!.steps.install;
    const cmd = renderSecretStepCommand(step, [K3S_TOKEN_ENV]);
    expect(cmd.startsWith(renderStepCommand(step).slice(0, -"bash -s".length))).toBe(true);
    expect(cmd.endsWith(`bash -c 'IFS= read -r HI_K3S_TOKEN || exit 2; export HI_K3S_TOKEN; exec bash -s'`)).toBe(true);
    expect(() => secretStepStdin(["two\nlines"], "script")).toThrow(/one line/);
    expect(() => renderSecretStepCommand(step, ["HI_K3S_ROLE"])).toThrow(/both plain and secret/);
  });
});
