/**
 * Credentials only as Pulumi secrets (DESIGN.md: "Secrets are Pulumi secrets end to end"):
 *
 * - a container env entry named like a credential (`*_API_KEY`, `*_TOKEN`, `*MASTER_KEY`,
 *   `*_SECRET`, `*_PASSWORD`, `*_ACCESS_KEY`, `*_PRIVATE_KEY`) is a secret, or inside a secret;
 * - a container's argv carries no credential flag with a plain-text value (`--api-key x`);
 * - an uploaded YAML/JSON config (the LiteLLM config) names credentials only by reference
 *   (`os.environ/NAME`, LiteLLM's syntax), never by value, unless the upload itself is secret;
 * - a remote command's `connection.privateKey` / `connection.password` are secrets, and so is
 *   every credential-named `environment` entry of a remote or local command;
 * - a Docker provider's registry passwords are secrets;
 * - Kubernetes: a workload's credential-named env entries come from a Secret
 *   (`valueFrom.secretKeyRef`) or are Pulumi secrets, its args carry no credential flag with a
 *   plain-text value, a Secret's `data`/`stringData` are Pulumi secrets (the
 *   @pulumi/kubernetes SDK wraps them itself), and a ConfigMap's YAML/JSON files hold no
 *   literal credential.
 *
 * The rule needs to see which values were secrets: policy/secret-view.ts provides that.
 */
import { parse } from "yaml";
import { K8S_CONFIGMAP_TYPE, K8S_SECRET_TYPE, configMapFiles, containersOf, isWorkload, k8sName } from "../kubernetes";
import {
  CONTAINER_TYPE, DOCKER_PROVIDER_TYPE, LOCAL_COMMAND_TYPE, REMOTE_COMMAND_TYPE, type ResourceView, type RuleResult, type Violation,
  asArray, asRecord, containerName, isRecord, isUnknown, reveal, unwrap,
} from "../view";

/** Env var names that hold credentials. */
export const CREDENTIAL_ENV = /(?:^|_)(?:API_KEY|APIKEY|TOKEN|SECRET|PASSWORD|MASTER_KEY|ACCESS_KEY|PRIVATE_KEY)$/i;
/** Command-line flags that take a credential. */
const CREDENTIAL_FLAG = /^--?(?:api[-_]?key|token|hf[-_]token|master[-_]key|password|secret)(?:=(.*))?$/i;
/** Keys in an uploaded config that hold credentials. */
const CREDENTIAL_KEY = /(?:^|_)(?:api_key|master_key|token|password|secret|secret_access_key)$/i;
/** How LiteLLM's config refers to an environment variable instead of a value. */
const ENV_REFERENCE = "os.environ/";

/** Credential-named `NAME=value` entries of an env list that are not secrets. */
function plaintextEnvEntries(envs: unknown): string[] {
  const outer = unwrap(envs);
  if (!Array.isArray(outer.value)) return [];
  const names: string[] = [];
  for (const entry of outer.value) {
    const e = unwrap(entry);
    if (outer.secret || e.secret || typeof e.value !== "string") continue;
    const eq = e.value.indexOf("=");
    const name = eq >= 0 ? e.value.slice(0, eq) : e.value;
    const value = eq >= 0 ? e.value.slice(eq + 1) : "";
    if (CREDENTIAL_ENV.test(name) && value.length > 0) names.push(name);
  }
  return names;
}

/** Credential-named keys of an `environment` map whose values are not secrets. */
function plaintextEnvironment(environment: unknown): string[] {
  const outer = unwrap(environment);
  if (outer.secret || !isRecord(outer.value)) return [];
  return Object.entries(outer.value)
    .filter(([k, v]) => CREDENTIAL_ENV.test(k) && !unwrap(v).secret && !isUnknown(v) && String(unwrap(v).value ?? "").length > 0)
    .map(([k]) => k);
}

function plaintextArgvFlags(command: unknown): string[] {
  const outer = unwrap(command);
  if (outer.secret || !Array.isArray(outer.value)) return [];
  const argv = outer.value;
  const flags: string[] = [];
  argv.forEach((arg, i) => {
    const a = unwrap(arg);
    if (a.secret || typeof a.value !== "string") return;
    const m = CREDENTIAL_FLAG.exec(a.value);
    if (!m) return;
    if (m[1] !== undefined) {
      if (m[1].length > 0) flags.push(a.value.slice(0, a.value.indexOf("=")));
      return;
    }
    const next = argv[i + 1] === undefined ? undefined : unwrap(argv[i + 1]);
    if (next && !next.secret && typeof next.value === "string" && next.value.length > 0 && !next.value.startsWith("-")) flags.push(a.value);
  });
  return flags;
}

/** Paths of credential keys holding literal values in a parsed config. */
function literalCredentialPaths(doc: unknown, at: string): string[] {
  if (Array.isArray(doc)) return doc.flatMap((x, i) => literalCredentialPaths(x, `${at}[${i}]`));
  if (!isRecord(doc)) return [];
  return Object.entries(doc).flatMap(([k, v]) => {
    const path = at ? `${at}.${k}` : k;
    if (CREDENTIAL_KEY.test(k) && typeof v === "string" && v.length > 0 && !v.startsWith(ENV_REFERENCE)) return [path];
    return literalCredentialPaths(v, path);
  });
}

/** Credential keys with literal values in a YAML or JSON file; [] for other files and secret content. */
function configFileLiterals(file: string, content: unknown): string[] {
  const c = unwrap(content);
  if (!/\.(ya?ml|json)$/i.test(file) || c.secret || typeof c.value !== "string") return [];
  try {
    return literalCredentialPaths(parse(c.value), "");
  } catch {
    return [];
  }
}

function uploadedLiteralCredentials(uploads: unknown): { file: string; paths: string[] }[] {
  const found: { file: string; paths: string[] }[] = [];
  for (const u of asArray(uploads) ?? []) {
    const upload = asRecord(u);
    const file = unwrap(upload?.["file"]).value;
    if (!upload || typeof file !== "string") continue;
    const paths = configFileLiterals(file, upload["content"]);
    if (paths.length > 0) found.push({ file, paths });
  }
  return found;
}

function checkContainer(r: ResourceView): Violation[] {
  const name = containerName(r);
  return [
    ...plaintextEnvEntries(r.props["envs"]).map((env) => ({
      message: `container "${name}": env ${env} holds a credential in plain text: pass it as a Pulumi secret (config.requireSecret or pulumi.secret)`,
    })),
    ...plaintextArgvFlags(r.props["command"]).map((flag) => ({
      message: `container "${name}": argument ${flag} puts a credential on the command line in plain text: pass it as a secret env var instead`,
    })),
    ...uploadedLiteralCredentials(r.props["uploads"]).map(({ file, paths }) => ({
      message: `container "${name}": uploaded ${file} sets ${paths.join(", ")} to a literal value: reference an env var (${ENV_REFERENCE}NAME) and pass that as a secret`,
    })),
  ];
}

function checkRemoteCommand(r: ResourceView): Violation[] {
  const violations: Violation[] = [];
  const connection = unwrap(r.props["connection"]);
  if (!connection.secret && isRecord(connection.value)) {
    for (const key of ["privateKey", "password", "privateKeyPassword"]) {
      const v = connection.value[key];
      if (v === undefined || isUnknown(v) || unwrap(v).secret) continue;
      violations.push({ message: `remote command "${r.name}": connection.${key} is not a secret: read it with config.requireSecret (or wrap it in pulumi.secret)` });
    }
  }
  return [...violations, ...checkCommandEnvironment(r, "remote")];
}

function checkCommandEnvironment(r: ResourceView, kind: "remote" | "local"): Violation[] {
  return plaintextEnvironment(r.props["environment"]).map((k) => ({
    message: `${kind} command "${r.name}": environment ${k} holds a credential in plain text: pass it as a Pulumi secret`,
  }));
}

function checkDockerProvider(r: ResourceView): Violation[] {
  const auths = asArray(r.props["registryAuth"]) ?? [];
  return auths.flatMap((a, i) => {
    const auth = asRecord(a);
    const password = auth?.["password"];
    if (password === undefined || isUnknown(password) || unwrap(password).secret || unwrap(a).secret) return [];
    const address = String(reveal(auth?.["address"]) ?? `registryAuth[${i}]`);
    return [{ message: `docker provider "${r.name}": the password for registry ${address} is not a secret` }];
  });
}

function checkWorkload(r: ResourceView): Violation[] {
  const kind = r.type.split(":").pop() ?? "workload";
  const name = k8sName(r);
  return containersOf(r).flatMap((c) => {
    const plainEnv = (asArray(c.fields["env"]) ?? []).flatMap((e) => {
      const entry = unwrap(e);
      const env = asRecord(entry.value);
      const envName = unwrap(env?.["name"]).value;
      const value = unwrap(env?.["value"]);
      if (entry.secret || typeof envName !== "string" || !CREDENTIAL_ENV.test(envName)) return [];
      return !value.secret && typeof value.value === "string" && value.value.length > 0 ? [envName] : [];
    });
    return [
      ...plainEnv.map((env) => ({
        message: `${kind} "${name}": container "${c.name}": env ${env} holds a credential in plain text: take it from a Secret (valueFrom.secretKeyRef)`,
      })),
      ...[...plaintextArgvFlags(c.fields["command"]), ...plaintextArgvFlags(c.fields["args"])].map((flag) => ({
        message: `${kind} "${name}": container "${c.name}": argument ${flag} puts a credential on the command line in plain text: pass it as an env var from a Secret instead`,
      })),
    ];
  });
}

function checkK8sSecret(r: ResourceView): Violation[] {
  return ["data", "stringData"].flatMap((field) => {
    const values = unwrap(r.props[field]);
    if (values.secret || !isRecord(values.value)) return [];
    return Object.entries(values.value)
      .filter(([, v]) => !isUnknown(v) && !unwrap(v).secret && String(unwrap(v).value ?? "").length > 0)
      .map(([key]) => ({ message: `Secret "${k8sName(r)}": ${field}.${key} is not a Pulumi secret, so its value is stored in plain text in the state: wrap it in pulumi.secret` }));
  });
}

function checkConfigMap(r: ResourceView): Violation[] {
  return configMapFiles(r).flatMap(({ key, content }) => {
    const paths = configFileLiterals(key, content);
    return paths.length === 0 ? [] : [{
      message: `ConfigMap "${k8sName(r)}": ${key} sets ${paths.join(", ")} to a literal value: reference an env var (${ENV_REFERENCE}NAME) fed from a Secret`,
    }];
  });
}

/** Whether this rule reads resources of a type. */
export function isCredentialBearing(type: string): boolean {
  return [CONTAINER_TYPE, REMOTE_COMMAND_TYPE, LOCAL_COMMAND_TYPE, DOCKER_PROVIDER_TYPE, K8S_SECRET_TYPE, K8S_CONFIGMAP_TYPE].includes(type) ||
    isWorkload({ type, name: "", urn: "", props: {} });
}

export function checkCredentials(r: ResourceView): RuleResult {
  if (isWorkload(r)) return checkWorkload(r);
  switch (r.type) {
    case K8S_SECRET_TYPE:
      return checkK8sSecret(r);
    case K8S_CONFIGMAP_TYPE:
      return checkConfigMap(r);
    case CONTAINER_TYPE:
      return checkContainer(r);
    case REMOTE_COMMAND_TYPE:
      return checkRemoteCommand(r);
    case LOCAL_COMMAND_TYPE:
      return checkCommandEnvironment(r, "local");
    case DOCKER_PROVIDER_TYPE:
      return checkDockerProvider(r);
    default:
      return [];
  }
}
