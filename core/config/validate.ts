/**
 * Turns a raw stack config into a `StackSpec`, or the full list of problems.
 *
 * Each top-level key is parsed on its own, so a mistake in `hosts` does not hide one
 * in `router`; the cross-key checks then run on every part that parsed. Fit checks
 * (does the model fit the cards) live in the planner, which adds its issues to these.
 */
import { ipVersion } from "../net/address";
import type { z } from "zod";
import { findGpu, findModel, GPU_IDS, MODEL_IDS, nearestIds } from "../catalog";
import { FRONTIER_PROVIDERS, MANAGED_PROVIDERS } from "../catalog/providers";
import { type ConfigIssue, error, hasErrors, keyPath, warning } from "./issues";
import { MONITORING_DEFAULTS } from "./defaults";
import { STACK_KEYS, type StackKey, type StackSpec } from "./schema";
import type { RawStackConfig } from "./source";

export interface ValidationResult {
  readonly spec?: StackSpec;
  readonly issues: readonly ConfigIssue[];
}

/** Adapter rank ceilings: vLLM's largest `--max-lora-rank` (vllm/config/lora.py); LoRAX's SGMV kernels top out at 128 [lead, unconfirmed]. */
export const MAX_ADAPTER_RANK = { vllm: 512, lorax: 128 } as const;

type Parsed = { -readonly [K in StackKey]?: z.output<(typeof STACK_KEYS)[K]["schema"]> };

export function validateStackConfig(raw: RawStackConfig): ValidationResult {
  const issues: ConfigIssue[] = [];
  const parsed: Parsed = {};

  for (const key of Object.keys(STACK_KEYS) as StackKey[]) {
    const { schema, required } = STACK_KEYS[key];
    const value = raw.values[key];
    if (value === undefined && required) {
      issues.push(error(keyPath(key), "is missing", `add \`${keyPath(key)}\` to the stack file (see README, "Stack file reference")`));
      continue;
    }
    if (raw.secretKeys.has(key)) {
      issues.push(error(keyPath(key), "is stored as a secret, but it is plain settings", `set it without --secret`));
      continue;
    }
    // reportInput: zod 4 leaves the offending value out of an issue otherwise, and a wrong type would read as missing.
    const result = schema.safeParse(value, { reportInput: true });
    if (result.success) {
      (parsed as Record<string, unknown>)[key] = result.data;
    } else {
      for (const zi of result.error.issues) issues.push(fromZodIssue(key, zi));
    }
  }

  issues.push(...crossChecks(parsed, raw));
  if (hasErrors(issues)) return { issues };

  const spec: StackSpec = {
    stack: raw.stack,
    environment: parsed.environment!,
    residency: parsed.residency!,
    target: parsed.target!,
    hosts: parsed.hosts!,
    model: parsed.model!,
    engine: parsed.engine!,
    adapters: parsed.adapters!,
    router: parsed.router!,
    access: parsed.access!,
    traffic: parsed.traffic!,
    workloads: parsed.workloads!,
    kubernetes: parsed.kubernetes!,
    monitoring: parsed.monitoring!,
    driver: parsed.driver!,
    measured: parsed.measured!,
    benchmark: parsed.benchmark!,
  };
  return { spec, issues };
}

function fromZodIssue(key: string, zi: z.core.$ZodIssue): ConfigIssue {
  const path = keyPath(key, zi.path);
  switch (zi.code) {
    case "invalid_type":
      if (zi.input === undefined) return error(path, "is required", "add this key");
      return error(path, `must be ${article(zi.expected)}, got ${describe(zi.input)}`, `write it as ${article(zi.expected)}`);
    case "unrecognized_keys":
      return error(path, `unknown key${zi.keys.length > 1 ? "s" : ""} ${zi.keys.map((k) => `"${k}"`).join(", ")}`,
        "remove it or correct its spelling (keys are snake_case; see README, \"Stack file reference\")");
    case "invalid_value":
      return error(path, `is ${describe(zi.input)}, which is not allowed`, `use one of: ${zi.values.map(String).join(", ")}`);
    case "too_small":
      return error(path, zi.message, zi.origin === "array" ? "add at least one entry" : `use a value of at least ${String(zi.minimum)}`);
    case "too_big":
      return error(path, zi.message, `use a value of at most ${String(zi.maximum)}`);
    case "custom": {
      // Rules from core/net (addresses, CIDRs) carry their own fix.
      const fix = (zi.params as { fix?: unknown } | undefined)?.fix;
      return error(path, zi.message, typeof fix === "string" ? fix : "correct the value as the message says");
    }
    default:
      return error(path, zi.message, "correct the value as the message says");
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  return JSON.stringify(v);
}

/**
 * The string and number fields of each element of a list key, read loosely from the raw
 * value, so that one malformed field (say a bad host name) does not hide the cross-checks
 * on the element's other fields (its GPU id, its datacenter).
 */
type Loose = Readonly<Record<string, string | number | undefined>>;
function looseElements(value: unknown): [number, Loose][] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((v, i): [number, Loose][] => {
    if (typeof v !== "object" || v === null) return [];
    const fields = Object.entries(v as Record<string, unknown>).filter(
      (e): e is [string, string | number] => typeof e[1] === "string" || typeof e[1] === "number");
    return [[i, Object.fromEntries(fields)]];
  });
}

const str = (v: string | number | undefined): string | undefined => (typeof v === "string" ? v : undefined);

function crossChecks(p: Parsed, raw: RawStackConfig): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const hosts = looseElements(raw.values["hosts"]);
  const adapters = looseElements(raw.values["adapters"]);
  const model = p.model ? findModel(p.model.id) : undefined;

  if (p.model && !model) {
    out.push(error(keyPath("model", ["id"]), `unknown model "${p.model.id}"`,
      `use a catalog id; nearest: ${nearestIds(p.model.id, MODEL_IDS).join(", ")}`));
  }

  const seenNames = new Map<string, number>();
  const seenAddresses = new Map<string, number>();
  hosts.forEach(([i, h]) => {
    const [name, address, gpu, datacenter] = [str(h["name"]), str(h["address"]), str(h["gpu"]), str(h["datacenter"])];
    if (gpu !== undefined && !findGpu(gpu)) {
      out.push(error(keyPath("hosts", [i, "gpu"]), `unknown GPU "${gpu}"`,
        `use a catalog id; nearest: ${nearestIds(gpu, GPU_IDS).join(", ")}`));
    }
    const firstName = name === undefined ? undefined : seenNames.get(name);
    if (name !== undefined && firstName !== undefined) {
      out.push(error(keyPath("hosts", [i, "name"]), `duplicate host name "${name}" (also hosts[${firstName}])`,
        "give every host a unique name: it names the host's Pulumi resources"));
    } else if (name !== undefined) seenNames.set(name, i);
    const firstAddr = address === undefined ? undefined : seenAddresses.get(address);
    if (address !== undefined && firstAddr !== undefined) {
      out.push(error(keyPath("hosts", [i, "address"]), `address ${address} is also hosts[${firstAddr}]`,
        "list each server once; raise gpu_count for more cards in one server"));
    } else if (address !== undefined) seenAddresses.set(address, i);
    if (p.residency === "uk" && datacenter !== undefined && !/^(uk|gb)-/.test(datacenter)) {
      out.push(error(keyPath("hosts", [i, "datacenter"]), `datacenter "${datacenter}" is outside the UK, but residency is uk`,
        "move the host to a UK datacenter (uk-<site>), or set residency: none if data may leave the UK"));
    }
  });

  const engineKind = p.engine?.kind ?? "vllm";
  const seenAdapters = new Set<string>();
  adapters.forEach(([i, a]) => {
    const [name, baseModel, rank] = [str(a["name"]), str(a["base_model"]), a["rank"]];
    if (model && baseModel !== undefined && baseModel !== model.id) {
      out.push(error(keyPath("adapters", [i, "base_model"]),
        `adapter "${name ?? i}" was trained on "${baseModel}", but the stack serves "${model.id}"`,
        `serve ${baseModel}, or remove the adapter: a LoRA adapter only works on the model it was trained on`));
    }
    const maxRank = MAX_ADAPTER_RANK[engineKind];
    if (typeof rank === "number" && rank > maxRank) {
      out.push(error(keyPath("adapters", [i, "rank"]), `rank ${rank} is above ${engineKind}'s limit of ${maxRank}`,
        `use an adapter of rank ${maxRank} or less`));
    }
    if (name === undefined) return;
    if (seenAdapters.has(name)) {
      out.push(error(keyPath("adapters", [i, "name"]), `duplicate adapter name "${name}"`, "give every adapter a unique name"));
    }
    seenAdapters.add(name);
    const served = p.model?.served_model_name ?? p.model?.id;
    if (name === served) {
      out.push(error(keyPath("adapters", [i, "name"]), `adapter name "${name}" is also the served model's name`,
        "rename the adapter: each name at the router must be unique"));
    }
  });

  if (p.router) {
    const managed = p.router.managed;
    if (managed) {
      out.push(...requireSecret(raw, keyPath("router", ["managed", "api_key_secret"]), managed.api_key_secret,
        `${MANAGED_PROVIDERS[managed.provider].displayName} API key`));
      if (model && !managed.model && !model.managedIds[managed.provider]) {
        const offering = Object.keys(model.managedIds);
        out.push(error(keyPath("router", ["managed", "provider"]),
          `${MANAGED_PROVIDERS[managed.provider].displayName} does not serve ${model.id} (per the catalog)`,
          offering.length > 0
            ? `use one of: ${offering.join(", ")}; or set router.managed.model to the provider's id for the same weights`
            : "set router.managed.model to the provider's id for the same weights, or remove the managed tier"));
      }
      if (p.residency === "uk") {
        out.push(warning(keyPath("router", ["managed"]),
          `requests that spill to ${MANAGED_PROVIDERS[managed.provider].displayName} are processed outside the UK (${MANAGED_PROVIDERS[managed.provider].processingRegion})`,
          "accept it for burst traffic, or remove the managed tier for strict UK residency"));
      }
    }
    p.router.frontier.forEach((f, i) => {
      out.push(...requireSecret(raw, keyPath("router", ["frontier", i, "api_key_secret"]), f.api_key_secret,
        `${FRONTIER_PROVIDERS[f.provider].displayName} API key`));
    });
    if (p.router.frontier.length > 0 && p.residency === "uk") {
      out.push(warning(keyPath("router", ["frontier"]), "requests routed to frontier APIs are processed outside the UK",
        "accept it for hard queries and outages, or remove the frontier tier for strict UK residency"));
    }
    const tls = p.router.tls;
    if (tls && (tls.certificate_secret === undefined) !== (tls.private_key_secret === undefined)) {
      out.push(error(keyPath("router", ["tls"]), "has only one of certificate_secret and private_key_secret",
        "set both for a certificate you provide, or neither for an automatic Let's Encrypt certificate"));
    } else if (tls?.certificate_secret && tls.private_key_secret) {
      out.push(...requireSecret(raw, keyPath("router", ["tls", "certificate_secret"]), tls.certificate_secret, "TLS certificate",
        "pulumi config set --secret %KEY% -- < fullchain.pem"));
      out.push(...requireSecret(raw, keyPath("router", ["tls", "private_key_secret"]), tls.private_key_secret, "TLS private key",
        "pulumi config set --secret %KEY% -- < privkey.pem"));
    } else if (tls && !p.router.allowed_cidrs.some((c) => c === "0.0.0.0/0" || c === "::/0")) {
      out.push(warning(keyPath("router", ["allowed_cidrs"]), "automatic certificates need ports 80/443 reachable by Let's Encrypt, but the router is open to listed CIDRs only",
        "add 0.0.0.0/0 to allowed_cidrs, or provide a certificate with tls.certificate_secret and tls.private_key_secret"));
    }
    if (p.environment === "prod" && p.router.frontier.length === 0) {
      const issue = p.router.allow_no_frontier ? warning : error;
      out.push(issue(keyPath("router", ["frontier"]),
        "prod has no frontier fallback: when the hosts and the managed tier are both down, requests fail",
        "add a router.frontier entry, or set router.allow_no_frontier: true to accept that risk"));
    }
  }

  if (p.access) {
    // An existing Kubernetes cluster is reached through its kubeconfig alone: no SSH to any host.
    const usesSsh = !(p.target === "kubernetes" && p.kubernetes?.cluster === "existing");
    if (usesSsh) {
      out.push(...requireSecret(raw, keyPath("access", ["ssh_private_key_secret"]), p.access.ssh_private_key_secret, "SSH private key", "cat ~/.ssh/id_ed25519 | pulumi config set --secret %KEY% --"));
    }
    if (p.access.hf_token_secret) {
      out.push(...requireSecret(raw, keyPath("access", ["hf_token_secret"]), p.access.hf_token_secret, "Hugging Face token"));
    } else if (model?.gated) {
      out.push(error(keyPath("access", ["hf_token_secret"]), `${model.id} is gated on Hugging Face: the engine cannot download it without a token`,
        "accept the licence on huggingface.co, then set access.hf_token_secret: hfToken and `pulumi config set --secret hfToken hf_...`"));
    }
  }

  out.push(...driverChecks(p, hosts));
  out.push(...measurementChecks(p, hosts));
  out.push(...dockerChecks(p, hosts));
  out.push(...kubernetesChecks(p, raw, hosts));
  out.push(...monitoringChecks(p, raw));
  return out;
}

/**
 * The monitoring's secrets must exist as Pulumi secrets (Grafana's admin password, Alertmanager's
 * whole config with its receivers' tokens), and settings one target does not use are said so.
 */
function monitoringChecks(p: Parsed, raw: RawStackConfig): ConfigIssue[] {
  const m = p.monitoring;
  if (!m || !p.environment) return [];
  const enabled = (p.workloads ?? true) && (m.enabled ?? MONITORING_DEFAULTS.enabled[p.environment]);
  if (!enabled) return [];
  const out: ConfigIssue[] = [];
  const kubernetes = p.target === "kubernetes";
  if (kubernetes) {
    if (m.grafana) {
      out.push(warning(keyPath("monitoring", ["grafana"]), "is not deployed on the kubernetes target",
        m.prometheus_operator
          ? "the dashboards go to a ConfigMap labelled grafana_dashboard for the cluster's Grafana sidecar; remove grafana: true"
          : "import out/<stack>/monitoring/dashboards/*.json into your Grafana, or set prometheus_operator: true where the cluster runs kube-prometheus-stack"));
    }
    if (m.alertmanager_config_secret) {
      out.push(warning(keyPath("monitoring", ["alertmanager_config_secret"]), "is not used on the kubernetes target",
        "route alerts in the cluster's Alertmanager (prometheus_operator: true sends it the rules); the Prometheus this stack runs otherwise shows alerts on its own page only"));
    }
  } else {
    if (m.grafana && m.grafana_admin_password_secret) {
      out.push(...requireSecret(raw, keyPath("monitoring", ["grafana_admin_password_secret"]), m.grafana_admin_password_secret, "Grafana admin password",
        "pulumi config set --secret %KEY% \"$(openssl rand -base64 24)\""));
    }
    if (m.alertmanager_config_secret) {
      out.push(...requireSecret(raw, keyPath("monitoring", ["alertmanager_config_secret"]), m.alertmanager_config_secret, "Alertmanager config",
        "pulumi config set --secret %KEY% -- < alertmanager.yml"));
    }
    if (m.prometheus_operator) {
      out.push(warning(keyPath("monitoring", ["prometheus_operator"]), "applies to the kubernetes target only; the docker target runs its own Prometheus", "remove it"));
    }
  }
  return out;
}

/** `driver.branch` must run every host's cards and the engine image (the catalog's minimum per card). */
function driverChecks(p: Parsed, hosts: [number, Loose][]): ConfigIssue[] {
  const branch = p.driver?.branch;
  if (branch === undefined) return [];
  const below = hosts.flatMap(([i, h]) => {
    const gpu = findGpu(str(h["gpu"]) ?? "");
    return gpu && branch < gpu.minDriverBranch ? [{ i, gpu }] : [];
  });
  if (below.length === 0) return [];
  const need = Math.max(...below.map((b) => b.gpu.minDriverBranch));
  const which = below.map((b) => `hosts[${b.i}] (${b.gpu.id}, at least ${b.gpu.minDriverBranch})`).join(", ");
  return [error(keyPath("driver", ["branch"]),
    `${branch} is below the oldest driver branch that runs the cards with the pinned engine image's CUDA version: ${which}`,
    `use ${need} or newer, or leave driver.branch out to get ${need}`)];
}

/** `measured` names hosts of the stack; `benchmark.enabled: true` asks for what the stack can run. */
function measurementChecks(p: Parsed, hosts: [number, Loose][]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const names = hosts.map(([, h]) => str(h["name"])).filter((n): n is string => n !== undefined);
  for (const host of Object.keys(p.measured ?? {})) {
    if (!names.includes(host)) {
      out.push(error(keyPath("measured", [host]), `names host "${host}", which is not in hosts`,
        names.length > 0 ? `rename it to the measured host (${names.join(", ")}), or remove it` : "remove it"));
    }
  }
  if (p.benchmark?.enabled === true) {
    const why = p.target === "kubernetes" ? "it runs on the docker target only"
      : p.engine?.kind === "lorax" ? "it runs vLLM's own `vllm bench serve` from the engine image, which LoRAX's image does not have"
        : p.workloads === false ? "the stack deploys no engine (workloads: false)" : undefined;
    if (why !== undefined) {
      out.push(error(keyPath("benchmark", ["enabled"]), `is true, but ${why}`,
        "remove benchmark.enabled (or set it to false); measure by hand with `vllm bench serve --save-result` and `npm run calibrate`"));
    }
  }
  return out;
}

/** The docker target's cross-key checks. */
function dockerChecks(p: Parsed, hosts: [number, Loose][]): ConfigIssue[] {
  if (p.target === "kubernetes" || hosts.length < 2) return [];
  // Engines on the other hosts admit the router host by IP in their firewalls (core/plan/docker.ts routerSources).
  const [i, first] = hosts[0]!;
  const addresses = [str(first["private_address"]), str(first["address"])].filter((a): a is string => a !== undefined);
  if (addresses.length === 0 || addresses.some((a) => ipVersion(a) !== 0)) return [];
  return [error(keyPath("hosts", [i, "private_address"]),
    `the router runs on "${str(first["name"]) ?? "hosts[0]"}", and the other hosts' firewalls admit it by IP address, but it has only the DNS name ${addresses.join(", ")}`,
    "set private_address to the router host's IP on the private network (or write its address as an IP)")];
}

/** The kubernetes target's cross-key checks; the `kubernetes` key is ignored (with a warning) by the docker target. */
function kubernetesChecks(p: Parsed, raw: RawStackConfig, hosts: [number, Loose][]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  if (p.target !== "kubernetes") {
    if (raw.values["kubernetes"] !== undefined && p.target !== undefined) {
      out.push(warning(keyPath("kubernetes"), "is set, but target is docker, so it is ignored",
        "set target: kubernetes to deploy to Kubernetes, or remove the kubernetes key"));
    }
    return out;
  }
  const k = p.kubernetes;
  if (p.router?.tls) {
    out.push(error(keyPath("router", ["tls"]), "is the docker target's HTTPS edge; the kubernetes target serves HTTPS through an Ingress",
      "move the domain to kubernetes.ingress.host (with certificate_secret/private_key_secret or cert_manager_cluster_issuer) and remove router.tls"));
  }
  if (!k) return out;
  if (k.cluster === "existing") {
    if (k.kubeconfig_secret === undefined) {
      out.push(error(keyPath("kubernetes", ["kubeconfig_secret"]), "is required with cluster: existing (nothing is read from ~/.kube or $KUBECONFIG)",
        "run `cat cluster.kubeconfig | pulumi config set --secret kubeconfig --` and set kubernetes.kubeconfig_secret: kubeconfig"));
    } else {
      out.push(...requireSecret(raw, keyPath("kubernetes", ["kubeconfig_secret"]), k.kubeconfig_secret, "kubeconfig", "cat cluster.kubeconfig | pulumi config set --secret %KEY% --"));
    }
    if (k.version !== undefined) {
      out.push(error(keyPath("kubernetes", ["version"]), "pins the k3s release, but cluster is existing",
        "remove kubernetes.version (the existing cluster keeps its own version), or set cluster: k3s"));
    }
  } else {
    if (k.kubeconfig_secret !== undefined) {
      out.push(error(keyPath("kubernetes", ["kubeconfig_secret"]), "is only read with cluster: existing; a k3s cluster makes its own kubeconfig",
        "remove kubernetes.kubeconfig_secret, or set cluster: existing to deploy into the cluster it points at"));
    }
    // k3s takes `node-ip` as an IP literal, and the node firewall admits peers by address.
    hosts.forEach(([i, h]) => {
      const privateAddress = str(h["private_address"]);
      const nodeAddress = privateAddress ?? str(h["address"]);
      if (nodeAddress !== undefined && ipVersion(nodeAddress) === 0) {
        out.push(error(keyPath("hosts", [i, privateAddress !== undefined ? "private_address" : "address"]),
          `"${nodeAddress}" is a DNS name, but a k3s node needs an IP address (k3s node-ip, firewall rules between nodes)`,
          "write the host's IP address here (or set private_address to its IP on the private network)"));
      }
    });
  }
  if (k.router_max_replicas !== undefined && k.router_max_replicas < k.router_replicas) {
    out.push(error(keyPath("kubernetes", ["router_max_replicas"]), `${k.router_max_replicas} is below router_replicas (${k.router_replicas})`,
      `use at least ${k.router_replicas}, or leave it out for ${k.router_replicas * 3}`));
  }
  const ingress = k.ingress;
  if (ingress) {
    const provided = ingress.certificate_secret !== undefined || ingress.private_key_secret !== undefined;
    if ((ingress.certificate_secret === undefined) !== (ingress.private_key_secret === undefined)) {
      out.push(error(keyPath("kubernetes", ["ingress"]), "has only one of certificate_secret and private_key_secret",
        "set both for a certificate you provide, or neither"));
    } else if (ingress.certificate_secret && ingress.private_key_secret) {
      out.push(...requireSecret(raw, keyPath("kubernetes", ["ingress", "certificate_secret"]), ingress.certificate_secret, "TLS certificate",
        "pulumi config set --secret %KEY% -- < fullchain.pem"));
      out.push(...requireSecret(raw, keyPath("kubernetes", ["ingress", "private_key_secret"]), ingress.private_key_secret, "TLS private key",
        "pulumi config set --secret %KEY% -- < privkey.pem"));
    }
    if (provided && ingress.cert_manager_cluster_issuer !== undefined) {
      out.push(error(keyPath("kubernetes", ["ingress", "cert_manager_cluster_issuer"]), "is set together with a provided certificate",
        "use either certificate_secret/private_key_secret or cert_manager_cluster_issuer, not both"));
    }
    if (!provided && ingress.cert_manager_cluster_issuer === undefined) {
      out.push(warning(keyPath("kubernetes", ["ingress"]), "has no certificate: the router is served over plain HTTP, master key included",
        "set cert_manager_cluster_issuer (cert-manager), or certificate_secret and private_key_secret"));
    }
    if (p.router && !p.router.allowed_cidrs.some((c) => c === "0.0.0.0/0" || c === "::/0")) {
      out.push(warning(keyPath("router", ["allowed_cidrs"]), "is not enforced by an Ingress: the ingress controller admits every client",
        "restrict sources at the ingress controller (for Traefik, an ipAllowList middleware), or drop kubernetes.ingress to get a LoadBalancer Service limited to allowed_cidrs"));
    }
  }
  return out;
}

/** A tier's credential must exist in the stack and be a Pulumi secret, never plain text. */
function requireSecret(raw: RawStackConfig, path: string, key: string, what: string, how?: string): ConfigIssue[] {
  const setLine = (how ?? "pulumi config set --secret %KEY% <value>").replace("%KEY%", key);
  if (!(key in raw.values)) {
    return [error(path, `names the config key "${key}" for the ${what}, but the stack has no ${keyPath(key)}`, `run: ${setLine}`)];
  }
  if (!raw.secretKeys.has(key)) {
    return [error(keyPath(key), `the ${what} is stored in plain text`, `re-set it as a secret: ${setLine}`)];
  }
  return [];
}
