/**
 * @pulumi/policy unwraps secrets before validateResource runs (pulumi/pulumi-policy#241);
 * policy/secret-view.ts keeps them marked. These tests go through the SDK's own
 * deserialization and proxies, as the analyzer server does for each request.
 */
import { type ReportViolation, type ResourceValidationArgs, type ResourceValidationPolicy, unknownCheckingProxy } from "@pulumi/policy";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { beforeAll, describe, expect, it } from "vitest";
import { policies } from "../../policy/policies";
import { preserveSecretsInAnalysis, secretsObservable, toViewProps } from "../../policy/secret-view";
import { CONTAINER_TYPE, REMOTE_COMMAND_TYPE, UNKNOWN } from "../../policy/view";

const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const secret = (value: unknown) => ({ [specialSigKey]: specialSecretSig, value });

/** What the analyzer server builds from a request's properties (server.js, makeAnalyzeRpcFun). */
function analyzedProps(wire: Record<string, unknown>): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the SDK's internal module, as the server calls it
  const { deserializeProperties } = require("@pulumi/policy/deserialize") as { deserializeProperties: (s: { toJavaScript(): unknown }, proxySecrets: boolean) => Record<string, unknown> };
  return unknownCheckingProxy(deserializeProperties({ toJavaScript: () => wire }, false)) as Record<string, unknown>;
}

function validate(policyName: string, type: string, wire: Record<string, unknown>): string[] {
  const policy = policies.find((p) => p.name === policyName) as ResourceValidationPolicy;
  const found: string[] = [];
  const report: ReportViolation = (message) => void found.push(message);
  const props = analyzedProps(wire);
  const args = {
    type, props, urn: `urn:pulumi:prod::hybrid-inference::${type}::r`, name: "r",
    notApplicable: (reason?: string): never => {
      throw new Error(`not applicable: ${reason}`);
    },
  } as unknown as ResourceValidationArgs;
  const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
  for (const v of validations) void v(args, report);
  return found;
}

describe("secret view", () => {
  beforeAll(() => {
    preserveSecretsInAnalysis();
  });

  it("makes the installed @pulumi/policy keep secrets, and proves it", () => {
    expect(secretsObservable()).toBe(true);
    expect(preserveSecretsInAnalysis()).toBe(true);
  });

  it("marks secrets and unknowns in the view while the props still read as plain values", () => {
    const props = analyzedProps({ envs: secret(["OPENAI_API_KEY=sk-1"]), name: "prod-router", image: UNKNOWN_STRING, nested: { key: secret("k") } });
    expect(toViewProps(props)).toEqual({ envs: { secret: ["OPENAI_API_KEY=sk-1"] }, name: "prod-router", image: UNKNOWN, nested: { key: { secret: "k" } } });
    // Code reading the props directly sees plain values, as before.
    expect((props["envs"] as string[])[0]).toBe("OPENAI_API_KEY=sk-1");
    expect(() => props["image"]).toThrow(/can't be known during preview/);
  });

  it("lets the credentials policy fail plain text and pass secrets through the SDK's path", () => {
    expect(validate("credentials-as-secrets", CONTAINER_TYPE, { name: "prod-router", envs: ["OPENAI_API_KEY=sk-1"] })).toEqual([
      'container "prod-router": env OPENAI_API_KEY holds a credential in plain text: pass it as a Pulumi secret (config.requireSecret or pulumi.secret)',
    ]);
    expect(validate("credentials-as-secrets", CONTAINER_TYPE, { name: "prod-router", envs: secret(["OPENAI_API_KEY=sk-1"]) })).toEqual([]);
    expect(validate("credentials-as-secrets", REMOTE_COMMAND_TYPE, { connection: { host: "h", privateKey: "k" } })).toHaveLength(1);
    expect(validate("credentials-as-secrets", REMOTE_COMMAND_TYPE, { connection: secret({ host: "h", privateKey: "k" }) })).toEqual([]);
  });

  it("declares every policy mandatory", () => {
    expect(policies.map((p) => [p.name, p.enforcementLevel])).toEqual([
      ["uk-residency", "mandatory"],
      ["no-public-engine-port", "mandatory"],
      ["pinned-images", "mandatory"],
      ["credentials-as-secrets", "mandatory"],
      ["prod-resilience", "mandatory"],
    ]);
  });
});
