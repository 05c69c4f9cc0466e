/**
 * Turns a raw stack config into a `StackSpec`, or the full list of problems.
 *
 * Each top-level key is parsed on its own, so a mistake in `hosts` does not hide one
 * in `router`; the cross-key checks then run on every part that parsed. Fit checks
 * (does the model fit the cards) live in the planner, which adds its issues to these.
 */
import { ipVersion, ipv4HostCapacity } from "../net/address";
import type { z } from "zod";
import { findGpu, findModel, GPU_IDS, MODEL_IDS, nearestIds } from "../catalog";
import { FRONTIER_PROVIDERS, MANAGED_PROVIDERS } from "../catalog/providers";
import { type ConfigIssue, PROJECT, error, hasErrors, keyPath, warning } from "./issues";
import { EDGE_PORTS, ENGINE_DEFAULTS, HOST_DEFAULTS, MONITORING_DEFAULTS } from "./defaults";
import { STACK_KEYS, type StackKey, type StackSpec } from "./schema";
import type { RawStackConfig } from "./source";
import { knownKeysAt, nearestKey } from "./suggest-keys";

/** Each top-level key's value as the schema parsed it, for the keys that parsed. */
export type ParsedParts = { -readonly [K in StackKey]?: z.output<(typeof STACK_KEYS)[K]["schema"]> };

export interface ValidationResult {
  readonly spec?: StackSpec;
  readonly issues: readonly ConfigIssue[];
  /**
   * The keys that parsed, even when others did not: enough, often, to plan what does not depend
   * on the broken keys (core/load.ts checks the fit this way), so one mistake does not hide another.
   */
  readonly parts: ParsedParts;
  /** Keys that are missing or did not parse (their cross-checks did not run either). */
  readonly failed: ReadonlySet<StackKey>;
}

/** Adapter rank ceilings: vLLM's largest `--max-lora-rank` (vllm/config/lora.py); LoRAX's SGMV kernels top out at 128 [lead, unconfirmed]. */
export const MAX_ADAPTER_RANK = { vllm: 512, lorax: 128 } as const;

type Parsed = ParsedParts;

const STACK_KEY_NAMES = Object.keys(STACK_KEYS) as StackKey[];

/** Config keys a stack may hold besides the schema's: the secrets, and the keys its *_secret fields name. */
function referencedKeys(raw: RawStackConfig): Set<string> {
  const names = new Set<string>(raw.secretKeys);
  const walk = (v: unknown, key?: string): void => {
    if (typeof v === "string" && key !== undefined && /_secret$/.test(key)) names.add(v);
    else if (Array.isArray(v)) v.forEach((x) => walk(x));
    else if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  for (const k of STACK_KEY_NAMES) walk(raw.values[k]);
  // Defaults a stack need not write: the SSH key's config key.
  names.add("sshPrivateKey");
  return names;
}

/** Top-level keys that are neither settings nor secrets: a misspelt setting is an error, anything else is ignored with a warning. */
function unknownTopLevelKeys(raw: RawStackConfig): { issues: ConfigIssue[]; meant: Set<StackKey> } {
  const referenced = referencedKeys(raw);
  const issues: ConfigIssue[] = [];
  const meant = new Set<StackKey>();
  for (const key of Object.keys(raw.values)) {
    if ((STACK_KEY_NAMES as string[]).includes(key) || referenced.has(key)) continue;
    const near = nearestKey(key, STACK_KEY_NAMES) as StackKey | undefined;
    if (near !== undefined && raw.values[near] === undefined) {
      meant.add(near);
      issues.push(error(keyPath(key), `is not a setting; did you mean ${keyPath(near)}?`, `rename it to ${PROJECT}:${near}`));
    } else {
      issues.push(warning(keyPath(key), "is not a setting of this project and not a secret any setting names: it is ignored",
        `remove it, or use one of: ${STACK_KEY_NAMES.join(", ")}`));
    }
  }
  return { issues, meant };
}

export function validateStackConfig(raw: RawStackConfig): ValidationResult {
  const issues: ConfigIssue[] = [];
  const parsed: Parsed = {};
  const failed = new Set<StackKey>();
  const unknown = unknownTopLevelKeys(raw);
  issues.push(...unknown.issues);

  for (const key of STACK_KEY_NAMES) {
    const { schema, required } = STACK_KEYS[key];
    const value = raw.values[key];
    if (value === undefined && required) {
      failed.add(key);
      // A misspelling of it was reported already, with the name to use.
      if (!unknown.meant.has(key)) issues.push(error(keyPath(key), "is missing", `add \`${keyPath(key)}\` to the stack file (see README, "Stack file reference")`));
      continue;
    }
    if (raw.secretKeys.has(key)) {
      failed.add(key);
      issues.push(error(keyPath(key), "is stored as a secret, but it is plain settings", `set it without --secret`));
      continue;
    }
    // reportInput: zod 4 leaves the offending value out of an issue otherwise, and a wrong type would read as missing.
    const result = schema.safeParse(value, { reportInput: true });
    if (result.success) {
      (parsed as Record<string, unknown>)[key] = result.data;
    } else {
      failed.add(key);
      issues.push(...fromZodIssues(key, schema, value, result.error.issues));
    }
  }

  issues.push(...crossChecks(parsed, raw));
  if (hasErrors(issues)) return { issues, parts: parsed, failed };

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
  return { spec, issues, parts: parsed, failed };
}

/** The value at `path` inside `value`, or undefined. */
function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const p of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/**
 * Zod's issues for one key, in the user's words: an unknown key names the key it most likely
 * meant, and then the "is required" of that key (the same slip) is not reported twice.
 */
function fromZodIssues(key: StackKey, schema: z.ZodType, value: unknown, zodIssues: readonly z.core.$ZodIssue[]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const meant = new Set<string>();
  for (const zi of zodIssues) {
    if (zi.code !== "unrecognized_keys") continue;
    const known = knownKeysAt(schema, zi.path);
    const present = valueAt(value, zi.path);
    for (const k of zi.keys) {
      const near = nearestKey(k, known);
      const path = keyPath(key, [...zi.path, k]);
      if (near !== undefined) {
        const alsoThere = typeof present === "object" && present !== null && near in present;
        if (!alsoThere) meant.add(keyPath(key, [...zi.path, near]));
        out.push(error(path, `is not a known key; did you mean "${near}"?`, alsoThere ? `remove it: "${near}" is set too` : `rename it to ${near}`));
      } else {
        out.push(error(path, "is not a known key", `remove it, or use one of: ${known.join(", ")} (see README, "Stack file reference")`));
      }
    }
  }
  for (const zi of zodIssues) {
    if (zi.code === "unrecognized_keys") continue;
    if (zi.code === "invalid_type" && zi.input === undefined && meant.has(keyPath(key, zi.path))) continue;
    out.push(fromZodIssue(key, zi));
  }
  return out;
}

/** How to write a value the schema wanted as `expected` but got as `input`. */
function typeFix(expected: string, input: unknown): string {
  if (typeof input === "string") {
    const t = input.trim();
    if (expected === "number" && t !== "" && Number.isFinite(Number(t))) return `write ${t} without quotes: quoted, YAML reads it as text`;
    if (expected === "boolean" && /^(true|false)$/i.test(t)) return `write ${t.toLowerCase()} without quotes: quoted, YAML reads it as text`;
    if (expected === "boolean") return "write true or false";
  }
  if (expected === "array") return "write it as a list, e.g. [a, b] or one `- item` per line";
  if (expected === "object") return "write it as a map of keys, e.g. { key: value }";
  return `write it as ${article(expected)}`;
}

function fromZodIssue(key: string, zi: z.core.$ZodIssue): ConfigIssue {
  const path = keyPath(key, zi.path);
  switch (zi.code) {
    case "invalid_type":
      if (zi.input === undefined) return error(path, "is required", "add this key");
      return error(path, `must be ${article(zi.expected === "object" ? "map" : zi.expected === "array" ? "list" : zi.expected)}, got ${describe(zi.input)}`, typeFix(zi.expected, zi.input));
    case "unrecognized_keys":
      return error(path, `unknown key${zi.keys.length > 1 ? "s" : ""} ${zi.keys.map((k) => `"${k}"`).join(", ")}`,
        "remove it or correct its spelling (keys are snake_case; see README, \"Stack file reference\")");
    case "invalid_value": {
      const allowed = zi.values.map(String);
      const near = typeof zi.input === "string" ? nearestKey(zi.input, allowed) : undefined;
      return error(path, `is ${typeof zi.input === "string" ? JSON.stringify(zi.input) : describe(zi.input)}, which is not allowed${near !== undefined ? `; did you mean "${near}"?` : ""}`,
        `use one of: ${allowed.join(", ")}`);
    }
    case "invalid_union": {
      // Every variant refused the value: by type (say which types would do), or for what it holds (say why, as that variant does).
      const branches = zi.errors.filter((b) => b.length > 0);
      const byType = branches.every((b) => b.every((i) => i.code === "invalid_type"));
      if (byType || branches.length === 0) {
        const types = [...new Set(branches.flatMap((b) => b.map((i) => (i.code === "invalid_type" ? i.expected : ""))))].filter((t) => t !== "");
        return error(path, `must be ${types.map(article).join(" or ")}, got ${describe(zi.input)}`, `write it as ${types.map(article).join(" or ")}`);
      }
      const first = branches.find((b) => !b.every((i) => i.code === "invalid_type"))![0]!;
      return fromZodIssue(key, { ...first, path: [...zi.path, ...first.path] } as z.core.$ZodIssue);
    }
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
  if (v === null) return "null (an empty value)";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  if (typeof v === "string") return `the text ${JSON.stringify(v)}`;
  return `${typeof v} ${JSON.stringify(v)}`;
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

/** The router extension's policy keys that depend on each other (adapter fallbacks, escalation). */
function routerPolicyChecks(p: Parsed, raw: RawStackConfig): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const hasFrontier = (p.router?.frontier.length ?? 0) > 0;
  (p.adapters ?? []).forEach((a, i) => {
    if (a.fallback === "managed" && !a.fallback_managed) {
      out.push(error(keyPath("adapters", [i, "fallback_managed"]), `is missing: adapter "${a.name}" falls back to "managed"`,
        "name the same fine-tune at a provider: fallback_managed: {provider, model, api_key_secret}; or choose fallback none or base"));
    }
    if (a.fallback !== "managed" && a.fallback_managed) {
      out.push(error(keyPath("adapters", [i, "fallback_managed"]), `is only used with fallback: managed (adapter "${a.name}" has ${a.fallback})`,
        "set fallback: managed, or remove fallback_managed"));
    }
    if (a.fallback_managed) {
      out.push(...requireSecret(raw, keyPath("adapters", [i, "fallback_managed", "api_key_secret"]), a.fallback_managed.api_key_secret,
        `${MANAGED_PROVIDERS[a.fallback_managed.provider].displayName} API key`));
    }
    if (a.fallback === "base" && p.router && !p.router.managed && !hasFrontier) {
      out.push(error(keyPath("adapters", [i, "fallback"]), `"base" needs router.managed or router.frontier to answer adapter "${a.name}" with the base model`,
        "add a managed or frontier tier, or choose fallback none"));
    }
  });
  if (p.router?.escalation?.enabled && !hasFrontier) {
    out.push(error(keyPath("router", ["escalation", "enabled"]), "escalation re-asks the frontier tier, and router.frontier is empty",
      "add a frontier tier, or turn escalation off"));
  }
  return out;
}

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

  out.push(...portChecks(p, hosts));
  out.push(...driverChecks(p, hosts));
  out.push(...measurementChecks(p, hosts));
  out.push(...dockerChecks(p, hosts));
  out.push(...kubernetesChecks(p, raw, hosts));
  out.push(...monitoringChecks(p, raw));
  out.push(...routerPolicyChecks(p, raw));
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

/**
 * The docker target's ports on each host against its SSH port: the firewall opens SSH and the
 * published ports with different rules, and the bootstrap refuses a port that is both.
 */
function portChecks(p: Parsed, hosts: [number, Loose][]): ConfigIssue[] {
  if (p.target === "kubernetes" || !p.router) return [];
  const out: ConfigIssue[] = [];
  const routerPorts = p.router.tls ? [...EDGE_PORTS] : [p.router.port];
  const enginePort = p.engine?.port ?? ENGINE_DEFAULTS.port;
  hosts.forEach(([i, h], n) => {
    const ssh = typeof h["ssh_port"] === "number" ? h["ssh_port"] : HOST_DEFAULTS.ssh_port;
    if (n === 0 && routerPorts.includes(ssh)) {
      out.push(error(keyPath("hosts", [i, "ssh_port"]), `${ssh} is also a port the router host publishes (${p.router!.tls ? "the TLS edge's 80 and 443" : "router.port"})`,
        p.router!.tls ? "use another ssh_port" : "use another ssh_port, or another router.port"));
    }
    if (n > 0 && ssh === enginePort) {
      out.push(error(keyPath("hosts", [i, "ssh_port"]), `${ssh} is also engine.port, which this host publishes for the router host`,
        "use another ssh_port, or another engine.port"));
    }
  });
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
  const out: ConfigIssue[] = [];
  const bastion = p.access?.bastion;
  if (bastion && ipVersion(bastion.address) === 0) {
    out.push(warning(keyPath("access", ["bastion", "address"]),
      `is a DNS name, so the hosts' firewalls cannot admit it by itself: SSH is admitted from admin_cidrs and deploy_cidrs only`,
      "make sure one of them covers the address the bastion connects to the hosts from (the deploy refuses to enable a firewall that would cut it off), or write the bastion's address as an IP"));
  }
  if (p.target === "kubernetes" || hosts.length < 2) return out;
  // The engine tunnel numbers hosts by their position (core/plan/docker.ts tunnelPlan).
  const tunnel = p.access?.tunnel;
  const capacity = tunnel ? ipv4HostCapacity(tunnel.cidr) : Infinity;
  if (tunnel && hosts.length > capacity) {
    out.push(error(keyPath("access", ["tunnel", "cidr"]), `${tunnel.cidr} holds ${capacity} hosts, but the stack has ${hosts.length}`,
      "use a larger block, e.g. a /24"));
  }
  // Engines on the other hosts admit the router host by IP in their firewalls (core/plan/docker.ts routerSources).
  const [i, first] = hosts[0]!;
  const addresses = [str(first["private_address"]), str(first["address"])].filter((a): a is string => a !== undefined);
  if (addresses.length === 0 || addresses.some((a) => ipVersion(a) !== 0)) return out;
  return [...out, error(keyPath("hosts", [i, "private_address"]),
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
    // A secret stored under a slightly different name is most likely the one meant.
    const near = nearestKey(key, [...raw.secretKeys]);
    return [error(path, `names the config key "${key}" for the ${what}, but the stack has no ${keyPath(key)}${near !== undefined ? `; it has the secret ${keyPath(near)}: did you mean "${near}"?` : ""}`,
      near !== undefined ? `write ${near} here, or run: ${setLine}` : `run: ${setLine}`)];
  }
  if (!raw.secretKeys.has(key)) {
    return [error(keyPath(key), `the ${what} is stored in plain text`, `re-set it as a secret: ${setLine}`)];
  }
  return [];
}
