/**
 * The plain data every rule reads: a resource's type, name, URN and properties, with each
 * value that was a Pulumi secret wrapped as `{ secret: value }` (the shape cli/mock-run.ts
 * records as `rawInputs`) and each value unknown during a preview replaced by `UNKNOWN`.
 * Rules are pure functions of these views, so tests feed them literals or mock runs.
 */

export interface ResourceView {
  readonly type: string;
  readonly name: string;
  /** `urn:pulumi:<stack>::<project>::<parent types $-joined>$<type>::<name>`. */
  readonly urn: string;
  /** Inputs for resource checks; outputs (a superset, for custom resources) for stack checks. */
  readonly props: Readonly<Record<string, unknown>>;
}

export interface Violation {
  readonly message: string;
  /** The resource to blame, for stack-level checks. */
  readonly urn?: string;
}

/** A rule had nothing to check; the reason is shown as "not applicable" by the policy engine. */
export interface NotApplicable {
  readonly notApplicable: string;
}

export type RuleResult = readonly Violation[] | NotApplicable;

export function isNotApplicable(r: RuleResult): r is NotApplicable {
  return !Array.isArray(r);
}

/** A value the engine does not know yet (preview); rules skip it rather than guess. */
export class Unknown {
  toString(): string {
    return "<unknown during preview>";
  }
}
export const UNKNOWN = new Unknown();

export function isUnknown(v: unknown): v is Unknown {
  return v instanceof Unknown;
}

export interface SecretValue {
  readonly secret: unknown;
}

export function isSecret(v: unknown): v is SecretValue {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && "secret" in v;
}

/** A value with its secret wrappers removed, and whether there were any. */
export function unwrap(v: unknown): { readonly value: unknown; readonly secret: boolean } {
  let value = v;
  let secret = false;
  while (isSecret(value)) {
    secret = true;
    value = value.secret;
  }
  return { value, secret };
}

/** The value with every secret wrapper, at any depth, removed. */
export function reveal(v: unknown): unknown {
  const { value } = unwrap(v);
  if (Array.isArray(value)) return value.map(reveal);
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, reveal(x)]));
  return value;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Unknown);
}

/** A known string (secret wrappers removed), else undefined. */
export function asString(v: unknown): string | undefined {
  const { value } = unwrap(v);
  return typeof value === "string" ? value : undefined;
}

/** A known array (its own secret wrapper removed; elements as they are), else undefined. */
export function asArray(v: unknown): readonly unknown[] | undefined {
  const { value } = unwrap(v);
  return Array.isArray(value) ? value : undefined;
}

/** A known map (its own secret wrapper removed; values as they are), else undefined. */
export function asRecord(v: unknown): Readonly<Record<string, unknown>> | undefined {
  const { value } = unwrap(v);
  return isRecord(value) ? value : undefined;
}

/** The stack a URN belongs to. */
export function stackOf(urn: string): string | undefined {
  return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1];
}

/** The resource's type and its ancestors' types, outermost first, read from the URN. */
export function typeChain(urn: string): string[] {
  const qualified = urn.split("::")[2];
  return qualified ? qualified.split("$") : [];
}

// Resource types the rules look at.
/** The top-level component of the docker target (`hybrid:k8s:HybridInference` for kubernetes). */
export const COMPONENT_TYPE = "hybrid:index:HybridInference";

/** The top-level component of either target: `hybrid:<module>:HybridInference`. */
export function isHybridComponent(type: string): boolean {
  return /^hybrid:[^:]+:HybridInference$/.test(type);
}
export const CONTAINER_TYPE = "docker:index/container:Container";
export const REMOTE_IMAGE_TYPE = "docker:index/remoteImage:RemoteImage";
export const REMOTE_COMMAND_TYPE = "command:remote:Command";
export const LOCAL_COMMAND_TYPE = "command:local:Command";
export const DOCKER_PROVIDER_TYPE = "pulumi:providers:docker";

/** Where the router container gets its LiteLLM config (core/render/containers.ts ROUTER_CONFIG_PATH). */
export const ROUTER_CONFIG_PATH = "/app/config.yaml";

/**
 * An inference engine container: a child of a `hybrid:engine:*` component, or a container
 * named `<host>-engine` (core/plan: `engineContainerName`).
 */
export function isEngineContainer(r: ResourceView): boolean {
  if (r.type !== CONTAINER_TYPE) return false;
  if (typeChain(r.urn).some((t) => t.startsWith("hybrid:engine:"))) return true;
  return asString(r.props["name"])?.endsWith("-engine") ?? false;
}

/** The container's display name: its Docker name, else the resource name. */
export function containerName(r: ResourceView): string {
  return asString(r.props["name"]) ?? r.name;
}

/** The LiteLLM config files uploaded into a container (known contents only). */
export function routerConfigs(r: ResourceView): string[] {
  if (r.type !== CONTAINER_TYPE) return [];
  const uploads = asArray(r.props["uploads"]) ?? [];
  return uploads.flatMap((u) => {
    const upload = asRecord(u);
    if (!upload || asString(upload["file"]) !== ROUTER_CONFIG_PATH) return [];
    const content = asString(upload["content"]);
    return content === undefined ? [] : [content];
  });
}

export function isRouterContainer(r: ResourceView): boolean {
  if (r.type !== CONTAINER_TYPE) return false;
  const uploads = asArray(r.props["uploads"]) ?? [];
  return uploads.some((u) => asString(asRecord(u)?.["file"]) === ROUTER_CONFIG_PATH);
}
