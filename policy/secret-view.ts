/**
 * Turns the properties @pulumi/policy hands a policy into the rules' plain view
 * (policy/view.ts), keeping track of which values were Pulumi secrets.
 *
 * Why this exists: the engine sends secrets to analyzers marked as secrets (pulumi/pulumi
 * sdk/go/common/resource/plugin/analyzer_plugin.go marshals with `KeepSecrets: true`), but
 * @pulumi/policy 1.21 unwraps them before `validateResource`/`validateStack` run
 * (`deserializeProperties(props, false)` in its server.js), so a policy cannot tell a secret
 * from plain text (pulumi/pulumi-policy#241, open). Its remediation path already keeps
 * them, as `Secret` instances behind a proxy (`deserializeProperties(props, true)`).
 * `preserveSecretsInAnalysis` makes the analysis path do the same; the proxy still returns
 * plain values to any code that reads the props directly, so other policies see no change.
 * A self-test proves it worked: if a future @pulumi/policy changes these internals,
 * `secretsObservable()` is false and the credentials policy fails closed.
 */
import { Secret } from "@pulumi/policy";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { UNKNOWN, isSecret } from "./view";

/** @pulumi/policy's internal proxy markers (proxy.js `isSpecialProxy`, `getSpecialProxyTarget`). */
const IS_PROXY = "__isSpecialProxy";
const PROXY_TARGET = "__getSpecialProxyTarget";

/** Sentinels for values unknown during preview (@pulumi/policy proxy.js; pulumi sdk plugin/rpc.go). */
const UNKNOWN_SENTINELS: ReadonlySet<string> = new Set([
  "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
  "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
  "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string
  "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
  "030794c1-ac77-496b-92df-f27374a8bd58", // asset
  "e48ece36-62e2-4504-bad9-02848725956a", // archive
  "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
]);

type Deserialize = (struct: { toJavaScript(): unknown }, proxySecrets: boolean) => unknown;

function unproxy(v: unknown): unknown {
  let cur = v;
  for (let i = 0; i < 8 && typeof cur === "object" && cur !== null && (cur as Record<string, unknown>)[IS_PROXY] === true; i++) {
    cur = (cur as Record<string, unknown>)[PROXY_TARGET];
  }
  return cur;
}

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** The rules' view of a property value: secrets as `{ secret: v }`, unknowns as UNKNOWN. */
export function toView(v: unknown): unknown {
  const raw = unproxy(v);
  if (raw instanceof Secret) return { secret: toView((raw as { value: unknown }).value) };
  if (typeof raw === "string") return UNKNOWN_SENTINELS.has(raw) ? UNKNOWN : raw;
  if (Array.isArray(raw)) return raw.map(toView);
  // Assets and archives are left as they are: no rule reads them.
  if (typeof raw === "object" && raw !== null && isPlainObject(raw)) {
    return Object.fromEntries(Object.entries(raw).map(([k, x]) => [k, toView(x)]));
  }
  return raw;
}

export function toViewProps(props: unknown): Record<string, unknown> {
  const view = toView(props);
  return typeof view === "object" && view !== null && !Array.isArray(view) ? (view as Record<string, unknown>) : {};
}

let attempted = false;
let observable = false;

/** Whether policies can tell secrets apart: true once `preserveSecretsInAnalysis` worked. */
export function secretsObservable(): boolean {
  return observable;
}

function selfTest(deserialize: Deserialize): boolean {
  const props = deserialize({ toJavaScript: () => ({ probe: { [specialSigKey]: specialSecretSig, value: "probe" } }) }, false);
  return isSecret(toViewProps(props)["probe"]);
}

/** Makes @pulumi/policy keep secrets marked in validateResource/validateStack. Idempotent. */
export function preserveSecretsInAnalysis(): boolean {
  if (attempted) return observable;
  attempted = true;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an internal module with no typings
    const mod = require("@pulumi/policy/deserialize") as { deserializeProperties?: Deserialize };
    const original = mod.deserializeProperties;
    if (typeof original !== "function") return (observable = false);
    const keepingSecrets: Deserialize = (struct) => original(struct, true);
    mod.deserializeProperties = keepingSecrets;
    observable = selfTest(keepingSecrets);
  } catch {
    observable = false;
  }
  return observable;
}
