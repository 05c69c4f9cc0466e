/**
 * The k3s cluster bootstrap, as plain data: for every host its role (the first host is the
 * server, the others agents), its k3s config file, and the steps of `templates/k3s/` with the
 * quoted data they run with. It follows the GPU host bootstrap (core/render/host-bootstrap.ts),
 * which still runs first on every node: driver, container toolkit, model cache and the card
 * check. Only the host firewall differs: no router or engine port on the host, since on
 * Kubernetes the router is a Service and the engines have no host port.
 *
 * Secrets (the join token) never reach a command line: `renderSecretStepCommand` has the step
 * read them from the first lines of stdin, ahead of the script.
 *
 * Pure: reads the template files, imports nothing from Pulumi.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { httpUrl, ipVersion } from "../../net/address";
import type { DeploymentPlan, HostPlan } from "../../plan/types";
import { type BootstrapStep, type HostBootstrapParams, makeStep, renderStepCommand, shellQuote } from "../host-bootstrap";
import { K3S_VERSION, k3sInstallScriptUrl } from "./versions";
import { renderScript } from "../script";
import { GPU_COUNT_LABEL, GPU_LABEL } from "./workloads";

/** The k3s steps, in the order they run on a node (kubeconfig on the server only). */
export const K3S_STEPS = ["k3s-firewall", "k3s-install", "k3s-kubeconfig"] as const;
export type K3sStepName = (typeof K3S_STEPS)[number];

/** Port of the k3s supervisor and Kubernetes API on the server. */
export const K3S_API_PORT = 6443;
/** k3s's default pod and service networks (`--cluster-cidr`, `--service-cidr`: https://docs.k3s.io/cli/server). */
export const K3S_CLUSTER_CIDRS = ["10.42.0.0/16", "10.43.0.0/16"] as const;
/** Env var the install step reads the join token into, from stdin. */
export const K3S_TOKEN_ENV = "HI_K3S_TOKEN";
/** Line the kubeconfig step prints on stdout. */
export const KUBECONFIG_PREFIX = "HI_KUBECONFIG_B64=";

/**
 * Flannel backends (https://docs.k3s.io/networking/basic-network-options): VXLAN when every node
 * has a private address (traffic stays on the provider's private network), otherwise WireGuard,
 * which encrypts pod traffic between nodes that talk over public addresses.
 */
const FLANNEL = { vxlan: 8472, "wireguard-native": 51820 } as const;
export type FlannelBackend = keyof typeof FLANNEL;

export interface K3sNode {
  readonly host: HostPlan;
  readonly role: "server" | "agent";
  /** The address k3s binds to and other nodes reach: the private address when there is one. */
  readonly nodeIp: string;
  /** The GPU host bootstrap for this node (host firewall: SSH only). */
  readonly bootstrap: HostBootstrapParams;
  /** The k3s config file, without token and server (the install step adds those). */
  readonly config: string;
  readonly steps: { readonly firewall: BootstrapStep; readonly install: BootstrapStep; readonly kubeconfig: BootstrapStep | null };
}

export interface K3sClusterPlan {
  readonly version: string;
  /** What agents join: `https://<server node IP>:6443`. */
  readonly serverUrl: string;
  /** What Pulumi and kubectl use: `https://<server address>:6443`. */
  readonly apiUrl: string;
  readonly flannelBackend: FlannelBackend;
  readonly nodes: readonly K3sNode[];
}

/** Directory holding the k3s step scripts: `templates/k3s` under the repository (or package) root. */
export function k3sTemplatesDir(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, "templates", "k3s");
    if (existsSync(path.join(candidate, "k3s-install.sh"))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`templates/k3s not found in any parent directory of ${__dirname}`);
    dir = parent;
  }
}

function readTemplate(name: K3sStepName): string {
  return renderScript(path.join(k3sTemplatesDir(), `${name}.sh`));
}

/** The address k3s binds to and other nodes reach: the private address when there is one. */
function nodeIpOf(host: HostPlan): string {
  return host.privateAddress ?? host.address;
}

/** The k3s config file of one node (https://docs.k3s.io/installation/configuration#configuration-file). */
export function renderK3sConfig(plan: DeploymentPlan, host: HostPlan, role: "server" | "agent", flannel: FlannelBackend): string {
  const nodeIp = nodeIpOf(host);
  const config: Record<string, unknown> = {
    // Node names are the stack's host names, so nodes are known before they join.
    "node-name": host.name,
    "node-ip": nodeIp,
    ...(ipVersion(host.address) !== 0 && host.address !== nodeIp ? { "node-external-ip": host.address } : {}),
    // Set at registration; engine pods select their GPU model by it.
    "node-label": [`${GPU_LABEL}=${host.gpu.id}`, `${GPU_COUNT_LABEL}=${host.gpuCount}`],
  };
  if (role === "server") {
    Object.assign(config, {
      // The API's certificate must name the address Pulumi dials.
      "tls-san": [...new Set([host.address, nodeIp])],
      "write-kubeconfig-mode": "0600",
      // API keys live in Secrets: encrypt them at rest (https://docs.k3s.io/security/secrets-encryption).
      "secrets-encryption": true,
      "flannel-backend": flannel,
      // Traefik (k3s's ingress controller) only when the stack asks for an Ingress.
      ...(plan.spec.kubernetes.ingress ? {} : { disable: ["traefik"] }),
    });
  }
  return `# k3s config for node ${host.name} (${role}), rendered by hybrid-inference.\n${stringifyYaml(config, { lineWidth: 0 })}`;
}

export function k3sClusterPlan(plan: DeploymentPlan): K3sClusterPlan {
  const target = plan.target;
  if (target.kind !== "kubernetes" || target.settings.cluster !== "k3s") {
    throw new Error(`stack ${plan.spec.stack} does not bootstrap k3s (target ${plan.spec.target}, cluster ${plan.spec.kubernetes.cluster})`);
  }
  const version = target.settings.version ?? K3S_VERSION;
  const flannel: FlannelBackend = plan.hosts.every((h) => h.privateAddress !== undefined) ? "vxlan" : "wireguard-native";
  const server = plan.hosts[0]!;
  const serverUrl = httpUrl("https", nodeIpOf(server), K3S_API_PORT);
  const apiUrl = httpUrl("https", server.address, K3S_API_PORT);
  const nodes = plan.hosts.map((host, i): K3sNode => {
    const role = i === 0 ? "server" : "agent";
    const nodeIp = nodeIpOf(host);
    const peers = plan.hosts.filter((h) => h.name !== host.name).map(nodeIpOf);
    const config = renderK3sConfig(plan, host, role, flannel);
    const firewall = makeStep("k3s-firewall", readTemplate("k3s-firewall"), {
      HI_K3S_ROLE: role,
      HI_K3S_PEERS: peers.join(","),
      HI_ADMIN_CIDRS: role === "server" ? plan.spec.access.admin_cidrs.join(",") : "",
      HI_K3S_FLANNEL_PORT: String(FLANNEL[flannel]),
      HI_K3S_CLUSTER_CIDRS: K3S_CLUSTER_CIDRS.join(","),
    });
    const install = makeStep("k3s-install", readTemplate("k3s-install"), {
      HI_K3S_ROLE: role,
      HI_K3S_VERSION: version,
      HI_K3S_CONFIG: config,
      HI_K3S_NODE_NAME: host.name,
      HI_K3S_INSTALL_URL: k3sInstallScriptUrl(version),
      ...(role === "agent" ? { HI_K3S_SERVER_URL: serverUrl } : {}),
    });
    return {
      host,
      role,
      nodeIp,
      // The host firewall admits SSH only; k3s-firewall adds the cluster's ports.
      bootstrap: target.nodes.find((n) => n.name === host.name)!.bootstrap,
      config,
      steps: { firewall, install, kubeconfig: role === "server" ? makeStep("k3s-kubeconfig", readTemplate("k3s-kubeconfig"), {}) : null },
    };
  });
  return { version, serverUrl, apiUrl, flannelBackend: flannel, nodes };
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * The command line of a step that also needs secrets: like `renderStepCommand`, but bash first
 * reads one line of stdin into each secret variable, then runs the rest of stdin as the script:
 *   sudo -n env HI_A='…' bash -c 'IFS= read -r HI_TOKEN || exit 2; export HI_TOKEN; exec bash -s'
 * The caller sends `<secret>\n…<script>` on stdin. `read` takes a pipe one byte at a time, so
 * the script after the secrets is left whole for `bash -s`. Secrets never appear in argv
 * (visible in `ps` to every user of the host) nor in the command Pulumi records.
 */
export function renderSecretStepCommand(step: BootstrapStep, secretEnv: readonly string[]): string {
  for (const name of secretEnv) {
    if (!ENV_NAME.test(name)) throw new Error(`step ${step.name}: invalid environment variable name ${JSON.stringify(name)}`);
    if (name in step.env) throw new Error(`step ${step.name}: ${name} is both plain and secret`);
  }
  const plain = renderStepCommand(step);
  const reader = `${secretEnv.map((n) => `IFS= read -r ${n} || exit 2; export ${n}; `).join("")}exec bash -s`;
  return `${plain.slice(0, -"bash -s".length)}bash -c ${shellQuote(reader)}`;
}

/** Stdin for `renderSecretStepCommand`: each secret on its own line, then the script. */
export function secretStepStdin(secrets: readonly string[], script: string): string {
  for (const s of secrets) if (/[\n\r\0]/.test(s)) throw new Error("a secret sent on stdin must be one line");
  return `${secrets.map((s) => `${s}\n`).join("")}${script}`;
}

/**
 * The kubeconfig from the kubeconfig step's stdout, its server URL set to `apiUrl` (k3s writes
 * `https://127.0.0.1:6443`, reachable on the server only).
 */
export function kubeconfigFromStdout(stdout: string, apiUrl: string): string {
  const line = stdout.split("\n").find((l) => l.startsWith(KUBECONFIG_PREFIX));
  if (line === undefined) throw new Error(`the k3s-kubeconfig step printed no ${KUBECONFIG_PREFIX} line`);
  const doc: unknown = parseYaml(Buffer.from(line.slice(KUBECONFIG_PREFIX.length).trim(), "base64").toString("utf8"));
  const clusters = (doc as { clusters?: unknown } | null)?.clusters;
  if (!Array.isArray(clusters) || clusters.length === 0) throw new Error("the k3s kubeconfig has no clusters");
  for (const c of clusters as { cluster?: { server?: unknown } }[]) {
    if (!c.cluster || typeof c.cluster.server !== "string") throw new Error("a cluster of the k3s kubeconfig has no server");
    c.cluster.server = apiUrl;
  }
  return stringifyYaml(doc, { lineWidth: 0 });
}
