/**
 * `pulumi up` of the kubernetes target with the real Pulumi engine and the real Kubernetes
 * provider plugin (4.25.0, built by scripts/build-pulumi.sh), into the real control plane on
 * loopback (control-plane.ts): the prod-k8s stack as `cluster: existing`, its kubeconfig secret
 * being the test cluster's. workloads.test.ts applies the same manifests with kubectl; this is
 * what it cannot show: the provider's own diff, its await logic and its delete. In order, on one
 * stack:
 * 1. `pulumi up` creates every object the target renders and returns only once they are ready:
 *    every Deployment Available with its engine replicas where the plan places them, and the
 *    router's LoadBalancer Service given an address, which becomes the `routerUrl` output;
 * 2. a second `up` changes nothing (the provider's diff against what the cluster holds, the
 *    autoscaler's replica count left to the cluster), `preview --expect-no-changes` passes and
 *    `refresh` finds no drift; no secret value is in the state in plain text;
 * 3. an engine version change updates the engine Deployments and nothing else, and `up` returns
 *    once every engine pod runs the new image;
 * 4. `destroy` deletes every object and the namespace.
 *
 * The cluster has no load-balancer controller (no cloud, no MetalLB); the provider waits for a
 * LoadBalancer Service's address (pulumi-kubernetes provider/pkg/await/service.go), so a
 * stand-in writes one into the router Service's status (127.0.0.1), a few seconds after the
 * Service appears, as such a controller would. Nothing here is contacted but the API server on
 * 127.0.0.1: the provider's only endpoint is the kubeconfig's server, and the engine may not
 * download plugins or check for updates (toolchain.ts engineEnv).
 *
 * Needs the Kubernetes control plane (scripts/build-kube.sh) and the Pulumi CLI with the
 * command, random and kubernetes plugins (scripts/build-pulumi.sh); skipped with the reason
 * without them, failed under HI_REQUIRE_ENGINE=1 (CI) when a plugin is missing. A phase that
 * fails skips the later ones.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MASKED_SECRET, type RawStackConfig } from "../../core/config/source";
import { resolveSecrets } from "../../core/render/kubernetes/files";
import { renderKubernetesTarget } from "../../core/render/kubernetes/target";
import { engineSelector, kubernetesPart } from "../../core/render/kubernetes/workloads";
import type { Manifest } from "../../core/render/kubernetes/types";
import { PROJECT, findToolchain, missing, skipUnlessBuilt as skipUnlessEngine, versionWarnings } from "../engine/toolchain";
import { type EngineStack, createEngineStack, errorDiagnostics, lastOutput, recorder, resourceSteps } from "../engine/workspace";
import { type ControlPlane, startControlPlane, waitFor } from "./control-plane";
import { NodeHealthRecorder, deploymentAvailable, getDeployment, listPods, podReady, podsPerNode } from "./observe";
import { KUBECONFIG_KEY, type Rendered, TestSecrets, createNodes, existingClusterStack, fakeNodesFor, kubectlName, nodesReady, objectPath, render } from "./stack";
import { findKubeTools, skipUnlessBuilt as skipUnlessKube } from "./tools";

const kubeTools = findKubeTools();
const tc = findToolchain();
const enginesMissing = missing(tc, ["pulumi", "pulumi-resource-command", "pulumi-resource-random", "pulumi-resource-kubernetes"]);
const raw = existingClusterStack();
const STACK = raw.stack;
/** What the stand-in load-balancer controller writes into the router Service's status. */
const LB_ADDRESS = "127.0.0.1";
/** How long it waits before doing so, so that an `up` that did not wait for it would show. */
const LB_DELAY_MS = 3_000;
const UPDATED_ENGINE_VERSION = "v0.33.1";

let cp: ControlPlane | undefined;
let es: EngineStack | undefined;
let dir: string | undefined;
let secrets: TestSecrets;
let shipped: Rendered;
/** Everything the component creates on the cluster: the workloads and the in-cluster monitoring, secrets resolved. */
let everything: Manifest<string>[];
let broken: string | undefined;
let lb: LoadBalancerStandIn | undefined;
const nodeHealth = new NodeHealthRecorder();

/**
 * Gives the stack's LoadBalancer Services an address, as a cloud's or MetalLB's controller
 * would: `LB_DELAY_MS` after it first sees one without, through the status subresource.
 */
class LoadBalancerStandIn {
  private timer: NodeJS.Timeout | undefined;
  private readonly seen = new Map<string, number>();
  /** Service name -> when its address was written (ms since the epoch). */
  readonly assigned = new Map<string, number>();

  constructor(private readonly control: ControlPlane, private readonly namespace: string) {}

  start(): void {
    const tick = async (): Promise<void> => {
      try {
        const list = await this.control.api.request<{ items?: { metadata: { name: string }; spec: { type?: string }; status?: { loadBalancer?: { ingress?: unknown[] } } }[] }>(
          "GET", `/api/v1/namespaces/${this.namespace}/services`);
        for (const s of list.body.items ?? []) {
          if (s.spec.type !== "LoadBalancer" || (s.status?.loadBalancer?.ingress ?? []).length > 0) continue;
          const first = this.seen.get(s.metadata.name) ?? Date.now();
          this.seen.set(s.metadata.name, first);
          if (Date.now() - first < LB_DELAY_MS) continue;
          const r = await this.control.api.request("PATCH", `/api/v1/namespaces/${this.namespace}/services/${s.metadata.name}/status`,
            { status: { loadBalancer: { ingress: [{ ip: LB_ADDRESS }] } } }, "application/merge-patch+json");
          if (r.status === 200) this.assigned.set(s.metadata.name, Date.now());
        }
      } catch {
        // The namespace may not exist yet, or is being deleted: look again on the next tick.
      }
      this.timer = setTimeout(() => void tick(), 250);
    };
    void tick();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

/** The stack file a user of `cluster: existing` writes: the shipped prod-k8s values, secrets as placeholders. */
function writeStackFile(file: string, stack: RawStackConfig): void {
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(stack.values)) {
    config[`${PROJECT}:${k}`] = v === MASKED_SECRET ? { secure: "v1:PLACEHOLDER-run-pulumi-config-set-secret" } : v;
  }
  writeFileSync(file, `# Written by test/kube-cluster/pulumi-up.test.ts: prod-k8s into the loopback test cluster.\n${stringifyYaml({ config })}`);
}

/** Rewrites one top-level key of the stack's file in its work dir, keeping the encrypted secrets the CLI wrote there. */
function changeStackKey(s: EngineStack, key: string, change: (v: unknown) => unknown): void {
  const file = path.join(s.workDir, "stacks", `Pulumi.${STACK}.yaml`);
  const doc = parseYaml(readFileSync(file, "utf8")) as { config: Record<string, unknown> };
  doc.config[`${PROJECT}:${key}`] = change(doc.config[`${PROJECT}:${key}`]);
  writeFileSync(file, stringifyYaml(doc));
}

/** The file backend's stack state files (`.pulumi/stacks/<project>/<stack>.json`), backups included. */
function stateFiles(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".json")).map((f) => path.join(root, f));
}

function ns(): string {
  return shipped.plan.spec.kubernetes.namespace;
}

interface Ctx {
  skip(note?: string): never;
}

function ready(ctx: Ctx): { cp: ControlPlane; es: EngineStack } {
  skipUnlessKube(ctx, kubeTools);
  skipUnlessEngine(ctx, enginesMissing);
  if (broken) ctx.skip(`an earlier phase failed: ${broken}`);
  if (!cp || !es) throw new Error("the control plane or the stack was not set up");
  return { cp, es };
}

async function phase<T>(name: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    broken = name;
    throw e;
  }
}

/** Counts of the operation's changes other than "same". */
function changes(summary: { resourceChanges?: Partial<Record<string, number>> }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [op, n] of Object.entries(summary.resourceChanges ?? {})) if (op !== "same" && n !== undefined && n > 0) out[op] = n;
  return out;
}

/** Every rendered object as the cluster holds it, or 404. */
async function objectStatus(c: ControlPlane, manifests: readonly Manifest<string>[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of manifests) out[kubectlName(m)] = (await c.api.request("GET", objectPath(m))).status;
  return out;
}

async function engineImages(c: ControlPlane): Promise<string[]> {
  const pods = (await listPods(c.api, ns(), engineSelector(shipped.plan))).items.filter((p) => !p.metadata.deletionTimestamp);
  return pods.map((p) => `${p.spec.containers[0]!.image}${podReady(p) ? "" : " (not ready)"}`).sort();
}

beforeAll(async () => {
  if (kubeTools.missing.length > 0 || enginesMissing.length > 0) return;
  dir = mkdtempSync(path.join(tmpdir(), "hi-kube-up-"));
  cp = await startControlPlane({ tools: kubeTools });
  secrets = new TestSecrets(raw, cp.kubeconfig);
  shipped = render(raw, secrets, cp.dir);
  everything = renderKubernetesTarget(shipped.plan).manifests.map((m) => resolveSecrets(m, secrets.resolve));
  const nodes = fakeNodesFor(raw);
  await createNodes(cp.api, nodes, shipped.plan.spec.kubernetes.runtime_class);
  await waitFor("the fake nodes Ready", () => nodesReady(cp!.api, nodes), 120_000, () => cp!.logTail("kwok", 20));
  await nodeHealth.start(cp.api);
  lb = new LoadBalancerStandIn(cp, ns());
  lb.start();
  const stackFile = path.join(dir, `Pulumi.${STACK}.yaml`);
  writeStackFile(stackFile, raw);
  const values: Record<string, string> = {};
  for (const key of raw.secretKeys) values[key] = secrets.config(key);
  es = await createEngineStack(tc, { stackFile, secrets: values, resetModules: () => vi.resetModules() });
}, 300_000);

afterAll(async () => {
  lb?.stop();
  nodeHealth.stop();
  es?.cleanup();
  await cp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("pulumi up of prod-k8s into a real control plane with the real Kubernetes provider (cluster: existing)", () => {
  it("uses a kubeconfig that points at loopback only", (ctx) => {
    const { cp: c } = ready(ctx);
    const servers = [...secrets.config(KUBECONFIG_KEY).matchAll(/server:\s*(\S+)/g)].map((m) => m[1]);
    expect(servers).toEqual([c.server]);
    expect(new URL(c.server).hostname).toBe("127.0.0.1");
  });

  it("pulumi up creates every rendered object and returns once they serve, with the router's address as routerUrl", async (ctx) => {
    const { cp: c, es: s } = ready(ctx);
    await phase("first pulumi up", async () => {
      const t0 = Date.now();
      const res = await s.stack.up(recorder(s));
      const took = Date.now() - t0;
      expect(errorDiagnostics(s), lastOutput(s)).toEqual([]);
      expect(res.summary.result, lastOutput(s)).toBe("succeeded");
      // The plugin is the version the SDK asks for: no version warning.
      expect(versionWarnings(lastOutput(s, 1_000_000)), lastOutput(s)).toEqual([]);
      console.log(`[kube-up] first pulumi up: ${(took / 1000).toFixed(1)} s, ${Object.entries(changes(res.summary)).map(([k, v]) => `${v} ${k}`).join(", ")}`);

      // Every rendered object, through the provider (no default provider: nothing used an ambient kubeconfig).
      const steps = resourceSteps(s);
      expect(steps.filter((t) => t.type === "pulumi:providers:kubernetes" && t.urn.includes("::default")), lastOutput(s)).toEqual([]);
      const k8sCreates = steps.filter((t) => t.op === "create" && t.type.startsWith("kubernetes:") && t.type !== "pulumi:providers:kubernetes");
      expect(k8sCreates.length, lastOutput(s)).toBe(everything.length);
      expect(everything.length).toBeGreaterThan(shipped.manifests.length);
      const status = await objectStatus(c, everything);
      expect(Object.entries(status).filter(([, st]) => st !== 200), JSON.stringify(status)).toEqual([]);

      // Ready when up returned, not later: every Deployment Available, each engine replica where the plan puts it.
      for (const m of everything.filter((x) => x.kind === "Deployment")) {
        const d = await getDeployment(c.api, ns(), m.metadata.name);
        expect(deploymentAvailable(d), `${m.metadata.name} when pulumi up returned: ${JSON.stringify(d.status)}`).toBe(true);
      }
      const engines = (await listPods(c.api, ns(), engineSelector(shipped.plan))).items;
      expect(podsPerNode(engines)).toEqual({ "k8s-gpu-4090": 2, "k8s-gpu-5090": 1 });
      expect(engines.every(podReady)).toBe(true);

      // The provider waited for the router's address, and the program read it from the Service's status.
      const assigned = lb?.assigned.get("router");
      expect(assigned, "the stand-in never gave the router Service an address").toBeDefined();
      expect(assigned!).toBeLessThanOrEqual(Date.now());
      const outputs = await s.stack.outputs();
      expect(outputs["routerUrl"]?.value).toBe(`http://${LB_ADDRESS}:${shipped.plan.router.port}`);
      expect(outputs["modelNames"]?.value).toEqual([...shipped.plan.router.modelNames]);
      expect(outputs["kubeconfig"]?.secret).toBe(true);
      expect(outputs["masterKey"]?.secret).toBe(true);
    });
  }, 300_000);

  it("a second pulumi up changes nothing; preview --expect-no-changes passes; refresh finds no drift", async (ctx) => {
    const { cp: c, es: s } = ready(ctx);
    await phase("second pulumi up", async () => {
      const generations = async (): Promise<Record<string, number | undefined>> => {
        const out: Record<string, number | undefined> = {};
        for (const m of everything) out[kubectlName(m)] = (await c.api.get<{ metadata: { generation?: number } }>(objectPath(m))).metadata.generation;
        return out;
      };
      const before = await generations();
      const res = await s.stack.up(recorder(s));
      expect(res.summary.result, lastOutput(s)).toBe("succeeded");
      expect(changes(res.summary), lastOutput(s)).toEqual({});
      expect(await generations()).toEqual(before);

      const pre = await s.stack.preview({ expectNoChanges: true, ...recorder(s) });
      expect(changes(pre.changeSummary as { resourceChanges?: Partial<Record<string, number>> }), lastOutput(s)).toEqual({});

      const refreshed = await s.stack.refresh(recorder(s));
      expect(refreshed.summary.result, lastOutput(s)).toBe("succeeded");
      expect(changes(refreshed.summary), lastOutput(s)).toEqual({});
    });
  }, 300_000);

  it("keeps every secret out of the state in plain text", async (ctx) => {
    const { cp: c, es: s } = ready(ctx);
    // The state as the backend stores it (the Automation API's exportStack shows secrets).
    const state = stateFiles(path.join(s.dir, "state")).map((f) => readFileSync(f, "utf8")).join("\n");
    expect(state.includes(`"stack":"organization/${PROJECT}/${STACK}"`), "the file backend's state of the stack was not found").toBe(true);
    // The stack's own secrets, and the keys the program generated (read back from the cluster's Secrets).
    const generated: string[] = [];
    for (const m of everything.filter((x) => x.kind === "Secret")) {
      const live = await c.api.get<{ data?: Record<string, string> }>(objectPath(m));
      for (const v of Object.values(live.data ?? {})) generated.push(Buffer.from(v, "base64").toString("utf8"));
    }
    expect(generated.length).toBeGreaterThan(0);
    const token = /token:\s*(\S+)/.exec(secrets.config(KUBECONFIG_KEY))?.[1];
    expect(token).toBeDefined();
    for (const v of [...raw.secretKeys].filter((k) => k !== KUBECONFIG_KEY).map((k) => secrets.config(k)).concat(generated, token!)) {
      const at = state.indexOf(v);
      expect(at, `a secret value (${v.slice(0, 6)}…) is in the state in plain text: …${state.slice(Math.max(0, at - 400), at).replaceAll(v, "<secret>")}`).toBe(-1);
    }
  });

  it("an engine version change updates the engine Deployments and nothing else, and up returns once the new pods serve", async (ctx) => {
    const { cp: c, es: s } = ready(ctx);
    await phase("engine version change", async () => {
      changeStackKey(s, "engine", (v) => ({ ...(v as Record<string, unknown>), version: UPDATED_ENGINE_VERSION }));
      const res = await s.stack.up(recorder(s));
      expect(res.summary.result, lastOutput(s)).toBe("succeeded");
      const groups = kubernetesPart(shipped.plan).placement.groups.map((g) => g.name).sort();
      const updated = resourceSteps(s).filter((t) => t.op !== "same" && t.type.startsWith("kubernetes:") && t.type !== "pulumi:providers:kubernetes");
      expect(updated.map((t) => `${t.op} ${t.type} ${t.urn.split("::").pop() ?? ""}`).sort(), lastOutput(s))
        .toEqual(groups.map((g) => `update kubernetes:apps/v1:Deployment ${STACK}-deployment-${g}`).sort());
      // Awaited: when up returns, every engine pod runs the new image and is ready.
      const images = await engineImages(c);
      expect(images).toEqual(Array<string>(3).fill(`vllm/vllm-openai:${UPDATED_ENGINE_VERSION}`));
      for (const g of groups) expect(deploymentAvailable(await getDeployment(c.api, ns(), g)), g).toBe(true);
    });
  }, 300_000);

  it("pulumi destroy deletes every object and the namespace", async (ctx) => {
    const { cp: c, es: s } = ready(ctx);
    await phase("destroy", async () => {
      const res = await s.stack.destroy(recorder(s));
      expect(res.summary.result, lastOutput(s)).toBe("succeeded");
      const status = await objectStatus(c, everything);
      expect(Object.entries(status).filter(([, st]) => st !== 404), JSON.stringify(status)).toEqual([]);
      const leftovers = await c.api.get<{ items: unknown[] }>(`/api/v1/pods?labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${shipped.plan.spec.stack}`)}`);
      expect(leftovers.items).toEqual([]);
    });
  }, 300_000);

  it("kept every simulated node Ready throughout (else a failure above may be the simulation's)", (ctx) => {
    ready(ctx);
    expect(nodeHealth.lapses).toEqual([]);
  });
});
