/**
 * Fuzzed stack files for the "validates => plans and renders" property, generated from the
 * schema's own key space (core/config/schema.ts, walked through zod): every key the schema knows,
 * each value drawn from its type and range, strings from realistic pools for their field, and
 * now and then a hostile value (shell metacharacters, quotes, newlines, out-of-range numbers,
 * unknown keys) or a missing key. Most files come out valid, so the property has many cases
 * where it bites; the rest exercise the validator's refusals.
 */
import fc from "fast-check";
import { z } from "zod";
import { GPU_IDS, MODELS } from "../../core/catalog";
import { FRONTIER_PRICES, MANAGED_PRICES } from "../../core/catalog/prices";
import { STACK_KEYS, VLLM_LORA_RANKS } from "../../core/config/schema";

/** Values that have broken shells, YAML, argv and Markdown before. */
export const HOSTILE_STRINGS = [
  "", " ", "$(reboot)", "`id`", "a'b", 'a"b', "a\nb", "--help", "-rf", "../../etc/passwd", "ü-ñ", "🙂", "x".repeat(300),
  "0.0.0.0/0; reboot", "${HI_X}", "<script>", "|", "# comment", "*", "&anchor", "null", "true", "1e9",
] as const;

const SECRET_NAMES = ["togetherApiKey", "anthropicApiKey", "hfToken", "sshPrivateKey", "tlsCert", "tlsKey", "kubeconfig"];
const CIDRS = ["0.0.0.0/0", "198.51.100.0/24", "203.0.113.7/32", "2001:db8::/32", "::/0", "10.0.0.0/8"];

/** Realistic strings per field, by the field's path without list indexes. */
const STRING_POOLS: Readonly<Record<string, readonly string[]>> = {
  "hosts.name": ["gpu-1", "gpu-2", "node-a", "ab"],
  "hosts.address": ["203.0.113.10", "203.0.113.11", "10.0.0.5", "2001:db8::10", "gpu1.example.co.uk"],
  "hosts.private_address": ["10.0.0.5", "10.0.0.6", "fd00::5"],
  "hosts.ssh_user": ["ubuntu", "root", "deploy"],
  "hosts.datacenter": ["uk-london", "uk-manchester", "gb-edinburgh", "uk-london", "uk-manchester", "de-frankfurt"],
  "hosts.gpu": GPU_IDS,
  "model.id": MODELS.map((m) => m.id),
  "model.served_model_name": ["qwen2.5-7b-instruct", "chat.v1", "My_Model-2"],
  "engine.version": ["v0.33.0", "v0.10.1", "nightly"],
  "engine.image_digest": [`sha256:${"a".repeat(64)}`],
  "adapters.name": ["support-bot", "sql.v2", "legal"],
  "adapters.source": ["hf://org/adapter-1", "/srv/adapters/support-bot"],
  "adapters.base_model": MODELS.map((m) => m.id),
  "router.allowed_cidrs": CIDRS,
  "router.managed.model": [...new Set(MANAGED_PRICES.map((p) => p.providerModel))],
  "router.frontier.model": FRONTIER_PRICES.map((p) => p.id),
  "router.tls.domain": ["inference.example.co.uk", "llm.example.com"],
  "router.tls.email": ["ops@example.co.uk"],
  "router.hard_tag": ["hard", "frontier-only"],
  "router.budget_override_tag": ["budget-override", "oncall"],
  "access.admin_cidrs": CIDRS,
  "access.cache_dir": ["/var/lib/hybrid-inference/models", "/srv/models"],
  "kubernetes.namespace": ["hybrid-inference", "llm"],
  "kubernetes.version": ["v1.36.4+k3s1", "v1.31.2+k3s1"],
  "kubernetes.runtime_class": ["nvidia"],
  "kubernetes.ingress.host": ["inference.example.co.uk"],
  "kubernetes.ingress.class_name": ["traefik", "nginx"],
  "kubernetes.ingress.cert_manager_cluster_issuer": ["letsencrypt"],
  "driver.refresh": ["2026-12-01", "r2"],
  "access.deploy_cidrs": CIDRS,
  "access.bastion.address": ["203.0.113.99", "bastion.example.co.uk", "2001:db8::99"],
  "access.bastion.user": ["jump", "ubuntu"],
  "access.bastion.host_key": [`ssh-ed25519 ${"A".repeat(68)}`],
  "access.tunnel.cidr": ["10.213.0.0/24", "10.99.0.0/28", "172.16.5.0/29"],
  "monitoring.operator_namespace": ["monitoring", "observability"],
};

/** Realistic records for record-typed keys (label maps), by path. */
const RECORD_POOLS: Readonly<Record<string, readonly Readonly<Record<string, string>>[]>> = {
  "monitoring.operator_labels": [{}, { release: "kube-prometheus-stack" }, { "app.kubernetes.io/part-of": "monitoring", team: "ml" }],
};

/** Realistic ranges where the schema's own bounds are far wider than a stack would use. */
const NUMBER_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  "hosts.gpu_count": [1, 4],
  "hosts.ssh_port": [22, 2222],
  "model.max_model_len": [256, 131_072],
  "model.min_context": [256, 32_768],
  "engine.max_num_seqs": [1, 256],
  "engine.max_loras": [1, 8],
  "adapters.rank": [1, 64],
  "router.num_workers": [1, 8],
  "router.slo.ttft_ms": [50, 20_000],
  "router.slo.tpot_ms": [1, 500],
  "traffic.avg_input_tokens": [1, 16_000],
  "traffic.avg_output_tokens": [1, 4_000],
  "traffic.tokens_per_month": [0, 1e11],
  "kubernetes.router_replicas": [2, 6],
  "kubernetes.router_max_replicas": [2, 20],
  "kubernetes.model_cache.size_limit_gb": [1, 400],
  "driver.branch": [535, 590],
};

const HOSTILE_NUMBERS = [0, -1, 0.5, 1e308, 2 ** 53, -0];

function unwrap(s: z.ZodType): { inner: z.ZodType; optional: boolean } {
  let inner = s;
  let optional = false;
  for (;;) {
    if (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) {
      optional = true;
      inner = inner.unwrap() as z.ZodType;
    } else return { inner, optional };
  }
}

/**
 * Mostly `good`, now and then a hostile value: one leaf in 150, so that with some fifty leaves
 * most files stay valid and each hostile value is met thousands of times over a run.
 */
function mostly<T>(good: fc.Arbitrary<T>, hostile: fc.Arbitrary<unknown>, goodWeight = 150): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: good, weight: goodWeight }, { arbitrary: hostile, weight: 1 });
}

const hostileAny = fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.constantFrom(...HOSTILE_NUMBERS), fc.constant(null), fc.constant([]), fc.constant({}), fc.boolean());

/** A value for `schema` at `path` (dotted, list indexes dropped). */
export function arbFor(schema: z.ZodType, path: string): fc.Arbitrary<unknown> {
  const { inner } = unwrap(schema);
  if (inner instanceof z.ZodObject) return objectArb(inner, path);
  if (inner instanceof z.ZodDiscriminatedUnion || inner instanceof z.ZodUnion) return fc.oneof(...(inner.options as z.ZodType[]).map((o) => arbFor(o, path)));
  if (inner instanceof z.ZodArray) {
    // The schema's own minimum length (z.array(...).min(n)).
    const checks = (inner._zod.def.checks ?? []) as { _zod: { def: { check: string; minimum?: number } } }[];
    const min = checks.map((c) => c._zod.def).find((d) => d.check === "min_length")?.minimum ?? 0;
    const element = arbFor(inner.element as z.ZodType, path);
    // Mostly one host (each host renders its own bootstrap, the costly part of a case), now and then two or three.
    const list = path === "hosts"
      ? fc.oneof({ arbitrary: fc.array(element, { minLength: 1, maxLength: 1 }), weight: 7 }, { arbitrary: fc.array(element, { minLength: 2, maxLength: 3 }), weight: 3 })
      : fc.array(element, { minLength: min, maxLength: 2 });
    return mostly(list, hostileAny);
  }
  if (inner instanceof z.ZodEnum) return mostly(fc.constantFrom(...(inner.options as readonly string[])), fc.constantFrom(...HOSTILE_STRINGS, "AUTO", "bf-16"));
  if (inner instanceof z.ZodLiteral) return fc.constant([...inner.values][0]);
  if (inner instanceof z.ZodBoolean) return mostly(fc.boolean(), fc.constantFrom("true", "yes", 1, null));
  if (inner instanceof z.ZodNumber) {
    const range = NUMBER_RANGES[path];
    const lo = range?.[0] ?? (Number.isFinite(inner.minValue) ? inner.minValue! : 0);
    const hi = range?.[1] ?? (Number.isFinite(inner.maxValue) ? inner.maxValue! : lo + 100_000);
    const good = inner.isInt ? fc.integer({ min: Math.ceil(lo), max: Math.floor(hi) }) : fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true });
    return mostly(good, fc.oneof(fc.constantFrom(...HOSTILE_NUMBERS), fc.constantFrom(String(lo), "sixty-four")));
  }
  if (inner instanceof z.ZodRecord && RECORD_POOLS[path]) return mostly(fc.constantFrom(...RECORD_POOLS[path]!), hostileAny);
  if (inner instanceof z.ZodString || inner instanceof z.ZodStringFormat) {
    const pool = STRING_POOLS[path] ?? (/_secret$/.test(path) ? SECRET_NAMES : undefined);
    const good = pool ? fc.constantFrom(...pool) : fc.string({ minLength: 1, maxLength: 12 });
    return mostly(good, fc.constantFrom(...HOSTILE_STRINGS));
  }
  return hostileAny;
}

function objectArb(schema: z.ZodObject, path: string): fc.Arbitrary<unknown> {
  const entries = Object.entries(schema.shape as Record<string, z.ZodType>).map(([key, child]) => {
    const childPath = path === "" ? key : `${path}.${key}`;
    const { optional } = unwrap(child);
    // Required keys are there nearly always; optional ones about half the time.
    const present = optional ? fc.boolean() : fc.oneof({ arbitrary: fc.constant(true), weight: 300 }, { arbitrary: fc.constant(false), weight: 1 });
    return fc.tuple(fc.constant(key), present, arbFor(child, childPath));
  });
  const misspelt = fc.oneof({ arbitrary: fc.constant(undefined), weight: 300 }, { arbitrary: fc.constantFrom("colour", "max_num_seq", "adress", "provder"), weight: 1 });
  return fc.tuple(fc.tuple(...entries), misspelt).map(([kv, extra]) => {
    const o: Record<string, unknown> = {};
    for (const [k, present, v] of kv) if (present) o[k] = v;
    if (extra !== undefined) o[extra] = "x";
    return o;
  });
}

/** A whole stack: every top-level key of the schema, the secrets its fields name, and consistency fixes a real file would have. */
export const stackValues: fc.Arbitrary<{ values: Record<string, unknown>; secrets: string[]; plainSecrets: string[] }> = fc.record({
  keys: fc.tuple(...(Object.entries(STACK_KEYS) as [string, { schema: z.ZodType; required: boolean }][]).map(([key, { schema, required }]) =>
    fc.tuple(fc.constant(key), required ? fc.oneof({ arbitrary: fc.constant(true), weight: 300 }, { arbitrary: fc.constant(false), weight: 1 }) : fc.boolean(), arbFor(schema, key)))),
  // Most stacks serve a model a card can hold, name hosts and addresses once, train adapters on the served model.
  smallModel: fc.oneof({ arbitrary: fc.constantFrom(...MODELS.filter((m) => m.paramsB <= 15).map((m) => m.id)), weight: 4 }, { arbitrary: fc.constant(undefined), weight: 1 }),
  consistent: fc.oneof({ arbitrary: fc.constant(true), weight: 9 }, { arbitrary: fc.constant(false), weight: 1 }),
  secretMissing: fc.oneof({ arbitrary: fc.constant(-1), weight: 30 }, { arbitrary: fc.nat(6), weight: 1 }),
  secretPlain: fc.oneof({ arbitrary: fc.constant(-1), weight: 30 }, { arbitrary: fc.nat(6), weight: 1 }),
}).map(({ keys, smallModel, consistent, secretMissing, secretPlain }) => {
  const values: Record<string, unknown> = {};
  for (const [k, present, v] of keys) if (present) values[k] = v;
  const model = values["model"];
  if (smallModel !== undefined && typeof model === "object" && model !== null && !Array.isArray(model)) (model as Record<string, unknown>)["id"] = smallModel;
  if (consistent) {
    const obj = (v: unknown): Record<string, unknown> | undefined => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
    const router = obj(values["router"]);
    const access = obj(values["access"]);
    const k8s = obj(values["kubernetes"]);
    // A provided certificate has both halves, or neither (automatic).
    for (const tls of [obj(router?.["tls"]), obj(obj(k8s?.["ingress"]))]) {
      if (tls && ("certificate_secret" in tls) !== ("private_key_secret" in tls)) {
        delete tls["certificate_secret"];
        delete tls["private_key_secret"];
      }
    }
    if (values["target"] === "kubernetes" && router) delete router["tls"];
    if (k8s) {
      if (k8s["cluster"] === "existing") {
        k8s["kubeconfig_secret"] ??= "kubeconfig";
        delete k8s["version"];
      } else delete k8s["kubeconfig_secret"];
    }
    if (values["environment"] === "prod" && router && !(Array.isArray(router["frontier"]) && router["frontier"].length > 0)) router["allow_no_frontier"] = true;
    // Gated models (Llama, Mistral) need a token; a real stack has one.
    if (access && !("hf_token_secret" in access)) access["hf_token_secret"] = "hfToken";
    const hosts = values["hosts"];
    if (Array.isArray(hosts)) {
      hosts.forEach((h, i) => {
        if (typeof h !== "object" || h === null || Array.isArray(h)) return;
        const host = h as Record<string, unknown>;
        if (typeof host["name"] === "string" && STRING_POOLS["hosts.name"]!.includes(host["name"])) host["name"] = `gpu-${i + 1}`;
        if (typeof host["address"] === "string" && STRING_POOLS["hosts.address"]!.includes(host["address"])) host["address"] = `203.0.113.${10 + i}`;
        delete host["private_address"];
      });
    }
    const adapters = values["adapters"];
    const modelId = typeof model === "object" && model !== null ? (model as Record<string, unknown>)["id"] : undefined;
    if (Array.isArray(adapters)) {
      adapters.forEach((a, i) => {
        if (typeof a !== "object" || a === null || Array.isArray(a)) return;
        const adapter = a as Record<string, unknown>;
        adapter["base_model"] = modelId;
        if (typeof adapter["name"] === "string") adapter["name"] = `adapter-${i + 1}`;
        if (typeof adapter["rank"] === "number") adapter["rank"] = VLLM_LORA_RANKS[i % 4];
        // The fine-tune at a provider is named exactly when the adapter falls back to it.
        if (adapter["fallback"] === "managed" && obj(adapter["fallback_managed"]) === undefined) adapter["fallback"] = "none";
        if (adapter["fallback"] !== "managed") delete adapter["fallback_managed"];
      });
    }
    // Escalation re-asks the frontier tier: a real stack enables it only with one.
    const escalation = obj(router?.["escalation"]);
    if (escalation && !(Array.isArray(router?.["frontier"]) && (router["frontier"] as unknown[]).length > 0)) delete escalation["enabled"];
    // Measured entries name hosts of the stack (npm run calibrate writes them so); the benchmark
    // is only asked for where it runs (docker target, vLLM, workloads on).
    // The generator has no rule for zod records and unions of scalars: keep those keys well formed
    // here (their own hostile values are tested in test/calibrate and test/host-bootstrap).
    if (values["measured"] !== undefined && obj(values["measured"]) === undefined) delete values["measured"];
    const driver = obj(values["driver"]);
    if (driver && !["string", "number"].includes(typeof driver["refresh"])) delete driver["refresh"];
    if (driver && typeof driver["branch"] === "number" && driver["branch"] < 580) delete driver["branch"];
    const measured = obj(values["measured"]);
    if (measured) {
      const names = Array.isArray(hosts) ? hosts.map((h) => obj(h)?.["name"]).filter((n): n is string => typeof n === "string") : [];
      const entries = Object.values(measured);
      for (const k of Object.keys(measured)) delete measured[k];
      entries.forEach((e, i) => {
        if (names[i] !== undefined) measured[names[i]] = e;
      });
    }
    // Grafana comes with its admin password's secret (the validator refuses Grafana's admin/admin).
    const monitoring = obj(values["monitoring"]);
    if (monitoring?.["grafana"] === true && monitoring["grafana_admin_password_secret"] === undefined) monitoring["grafana_admin_password_secret"] = "grafanaAdminPassword";
    const benchmark = obj(values["benchmark"]);
    const engine = obj(values["engine"]);
    if (benchmark && (values["target"] === "kubernetes" || engine?.["kind"] === "lorax" || values["workloads"] === false)) delete benchmark["enabled"];
  }
  // Every config key a *_secret field names, stored as a secret (now and then missing, or in plain text).
  const named = new Set<string>(["sshPrivateKey"]);
  const walk = (v: unknown, key?: string): void => {
    if (typeof v === "string" && key !== undefined && /_secret$/.test(key)) named.add(v);
    else if (Array.isArray(v)) v.forEach((x) => walk(x));
    else if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(values);
  const all = [...named].filter((n) => /^[A-Za-z][A-Za-z0-9_]*$/.test(n) && !(n in STACK_KEYS));
  const secrets = all.filter((_, i) => i !== secretMissing && i !== secretPlain);
  const plainSecrets = all.filter((_, i) => i === secretPlain);
  return { values, secrets, plainSecrets };
});
