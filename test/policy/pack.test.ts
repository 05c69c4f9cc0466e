/**
 * The policy pack as the Pulumi engine runs it: policy/index.ts serving the analyzer gRPC
 * protocol on 127.0.0.1, asked about every resource of the prod stack (recorded under mocks,
 * secrets sent marked as secrets, as the engine does) and about violating resources.
 */
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import { AnalyzeRequest, AnalyzeResponse, AnalyzeStackRequest, AnalyzerInfo, AnalyzerResource, AnalyzerResourceOptions, EnforcementLevel } from "@pulumi/pulumi/proto/analyzer_pb";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isSecret } from "../../policy/view";
import { runStack } from "../components/stack-harness";
import { ROOT, toViews } from "./harness";

/** A view value on the wire: `{ secret: v }` becomes Pulumi's secret marker. */
function wire(v: unknown): unknown {
  if (isSecret(v)) return { [specialSigKey]: specialSecretSig, value: wire(v.secret) };
  if (Array.isArray(v)) return v.map(wire);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wire(x)]));
  return v;
}

interface Sent { readonly type: string; readonly name: string; readonly urn: string; readonly props: Record<string, unknown> }

function analyzeRequest(r: Sent): AnalyzeRequest {
  return new AnalyzeRequest()
    .setType(r.type).setName(r.name).setUrn(r.urn)
    .setProperties(Struct.fromJavaScript(wire(r.props) as Record<string, never>))
    .setOptions(new AnalyzerResourceOptions());
}

function stackResource(r: Sent): AnalyzerResource {
  return new AnalyzerResource()
    .setType(r.type).setName(r.name).setUrn(r.urn)
    .setProperties(Struct.fromJavaScript(wire(r.props) as Record<string, never>))
    .setOptions(new AnalyzerResourceOptions());
}

interface Diagnostic { readonly policy: string; readonly message: string; readonly mandatory: boolean }

/** The SDK reports `<policy description>\n<violation message>`: keep the violation's. */
function diagnostics(res: AnalyzeResponse): Diagnostic[] {
  return res.getDiagnosticsList().map((d) => ({
    policy: d.getPolicyname(),
    message: d.getMessage().slice(d.getMessage().indexOf("\n") + 1),
    mandatory: d.getEnforcementlevel() === EnforcementLevel.MANDATORY,
  }));
}

describe("policy pack over the analyzer protocol", () => {
  let pack: ChildProcess;
  let client: AnalyzerClient;
  let prod: Sent[];
  let stderr = "";

  const call = <Req, Res>(fn: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> =>
    new Promise((resolve, reject) => void fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res))));
  const analyze = (r: Sent) => call<AnalyzeRequest, AnalyzeResponse>(client.analyze, analyzeRequest(r));

  beforeAll(async () => {
    const run = await runStack("prod");
    prod = toViews(run.resources, "prod", (r) => r.rawInputs ?? {});
    // As the engine starts it: in the pack's directory, which holds its package.json.
    pack = spawn(path.join(ROOT, "node_modules", ".bin", "tsx"), ["index.ts"], { cwd: path.join(ROOT, "policy"), stdio: ["ignore", "pipe", "pipe"] });
    pack.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const port = await new Promise<string>((resolve, reject) => {
      let out = "";
      pack.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /^(\d+)\s*$/m.exec(out);
        if (m) resolve(m[1]!);
      });
      pack.on("exit", (code) => reject(new Error(`policy pack exited (${code}): ${stderr}`)));
    });
    client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  }, 120_000);

  afterAll(() => {
    client?.close();
    if (pack?.pid !== undefined && pack.exitCode === null) pack.kill("SIGTERM");
  });

  it("describes itself: five mandatory policies", async () => {
    const info = await call<Empty, AnalyzerInfo>(client.getAnalyzerInfo, new Empty());
    expect(info.getName()).toBe("hybrid-inference");
    expect(info.getPoliciesList().map((p) => [p.getName(), p.getEnforcementlevel()])).toEqual(
      ["uk-residency", "no-public-engine-port", "pinned-images", "credentials-as-secrets", "prod-resilience"].map((n) => [n, EnforcementLevel.MANDATORY]),
    );
  });

  it("passes every resource of the prod stack, and the stack as a whole", async () => {
    const found: Diagnostic[] = [];
    let residency: string[] = [];
    for (const r of prod) {
      const res = await analyze(r);
      found.push(...diagnostics(res));
      if (r.type === "hybrid:index:HybridInference") residency = res.getNotApplicableList().filter((n) => n.getPolicyName() === "uk-residency").map((n) => n.getReason());
    }
    expect(found).toEqual([]);
    // Until the component exposes its hosts, residency says why it cannot check.
    if (residency.length > 0) expect(residency[0]).toContain("does not expose its hosts' datacenters");
    const stack = await call<AnalyzeStackRequest, AnalyzeResponse>(client.analyzeStack, new AnalyzeStackRequest().setResourcesList(prod.map(stackResource)));
    expect(diagnostics(stack)).toEqual([]);
  }, 60_000);

  it("stops a container with a plain-text key, a public engine port and an unpinned image", async () => {
    const bad: Sent = {
      type: "docker:index/container:Container",
      name: "gpu-9-engine-container",
      urn: "urn:pulumi:prod::hybrid-inference::docker:index/container:Container::gpu-9-engine-container",
      props: { name: "gpu-9-engine", image: "vllm/vllm-openai:latest", envs: ["OPENAI_API_KEY=sk-live"], ports: [{ internal: 8000, external: 8000 }] },
    };
    const found = diagnostics(await analyze(bad));
    expect(found.map((d) => d.policy).sort()).toEqual(["credentials-as-secrets", "no-public-engine-port", "pinned-images"]);
    expect(found.every((d) => d.mandatory)).toBe(true);
    expect(found.find((d) => d.policy === "credentials-as-secrets")!.message).toContain("env OPENAI_API_KEY holds a credential in plain text");
  });

  it("sees the SSH key's secrecy as the engine sends it", async () => {
    const preflight = prod.find((r) => r.name === "prod-prod-gpu-1-preflight")!;
    expect(diagnostics(await analyze(preflight))).toEqual([]);
    const connection = (preflight.props["connection"] as { secret: Record<string, unknown> }).secret;
    const found = diagnostics(await analyze({ ...preflight, props: { ...preflight.props, connection } }));
    expect(found.map((d) => [d.policy, d.message])).toEqual([
      ["credentials-as-secrets", 'remote command "prod-prod-gpu-1-preflight": connection.privateKey is not a secret: read it with config.requireSecret (or wrap it in pulumi.secret)'],
    ]);
  });

  it("stops a host outside the UK once the component exposes its hosts", async () => {
    const component = prod.find((r) => r.type === "hybrid:index:HybridInference")!;
    const props = { environment: "prod", residency: "uk", hosts: [{ name: "prod-gpu-1", address: "203.0.113.31", datacenter: "de-frankfurt" }] };
    expect(diagnostics(await analyze({ ...component, props }))).toEqual([{
      policy: "uk-residency",
      mandatory: true,
      message: expect.stringContaining('host "prod-gpu-1" is in datacenter "de-frankfurt", outside the UK'),
    }]);
  });

  it("stops a prod stack with a single host", async () => {
    const oneHost = prod.filter((r) => r.name !== "prod-prod-gpu-2-engine-container");
    const found = diagnostics(await call<AnalyzeStackRequest, AnalyzeResponse>(client.analyzeStack, new AnalyzeStackRequest().setResourcesList(oneHost.map(stackResource))));
    expect(found).toEqual([{ policy: "prod-resilience", mandatory: true, message: expect.stringContaining("prod runs 1 engine and 1 router replica") }]);
  });
});
