/**
 * The real program (index.ts) for stacks/Pulumi.prod-k8s.yaml under Pulumi's mocks, in its own
 * process (vitest forks per file; Pulumi's mock state is per process).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { SECRET_MASK } from "../../cli/mock-run";
import { renderDevicePlugin } from "../../core/render/kubernetes/device-plugin";
import { resolveSecrets } from "../../core/render/kubernetes/files";
import { renderKubernetesTarget } from "../../core/render/kubernetes/target";
import { k3sClusterPlan } from "../../core/render/kubernetes/k3s-bootstrap";
import { renderKubernetesWorkloads, workloadManifests } from "../../core/render/kubernetes/workloads";
import { REMOTE_COMMAND, type StackRun, plaintextOccurrences, runStack } from "../components/stack-harness";
import { validateManifest } from "./k8s-schema";

const STACK = "prod-k8s";
const ROOT = "hybrid:k8s:HybridInference";
const PROVIDER = "pulumi:providers:kubernetes";
/** What the mocked RandomPassword returns: here, the join token. */
const GENERATED = "generated-at-deploy-time";

let run: StackRun;
beforeAll(async () => {
  run = await runStack(STACK);
});

const k8sResources = () => run.resources.filter((r) => r.type.startsWith("kubernetes:"));

describe(`stack ${STACK} under mocks`, () => {
  it("is one hybrid:k8s:HybridInference whose every resource descends from it", () => {
    expect(run.resources.filter((r) => r.type === ROOT).map((r) => [r.name, r.parent])).toEqual([[STACK, undefined]]);
    expect(run.resources.some((r) => r.type === "hybrid:index:HybridInference")).toBe(false);
    const byKey = new Map(run.resources.map((r) => [`${r.type}::${r.name}`, r]));
    for (const r of run.resources) {
      if (r.type === "pulumi:pulumi:Stack" || r.type === ROOT) continue;
      let cursor = r;
      while (cursor.type !== ROOT) {
        expect(cursor.parent, `${cursor.type} ${cursor.name} has no parent`).toBeDefined();
        cursor = byKey.get(cursor.parent!)!;
        expect(cursor, `parent of ${r.name} was not registered`).toBeDefined();
      }
    }
  });

  it("bootstraps k3s under a hybrid:k8s:K3sCluster: each host verified by GpuHost first, then the k3s steps", () => {
    const cluster = run.byName(`${STACK}-k3s`);
    expect(cluster.type).toBe("hybrid:k8s:K3sCluster");
    expect(cluster.parent).toBe(`${ROOT}::${STACK}`);
    /** Children of the cluster are named `<cluster>-<host>-…`. */
    const n = (host: string): string => `${STACK}-k3s-${host}`;
    for (const host of run.plan.hosts) {
      expect(run.byName(n(host.name))).toMatchObject({ type: "hybrid:host:GpuHost", parent: `hybrid:k8s:K3sCluster::${STACK}-k3s` });
      expect(run.byName(`${n(host.name)}-verify-gpus`).parent).toBe(`hybrid:host:GpuHost::${n(host.name)}`);
      expect(run.byName(`${n(host.name)}-k3s-firewall`).dependsOn).toEqual([`hybrid:host:GpuHost::${n(host.name)}`]);
      // The host firewall admits SSH only: no router or engine port on a Kubernetes node.
      const firewall = String(run.byName(`${n(host.name)}-firewall`).inputs["create"]);
      expect(firewall).toContain("HI_ROUTER_PORT=''");
      expect(firewall).toContain("HI_ENGINE_PORT=''");
    }
    const [server, agent] = run.plan.hosts;
    expect(run.byName(`${n(agent!.name)}-k3s-install`).dependsOn).toEqual([
      `${REMOTE_COMMAND}::${n(agent!.name)}-k3s-firewall`, `${REMOTE_COMMAND}::${n(server!.name)}-k3s-install`,
    ]);
    expect(run.byName(`${n(server!.name)}-k3s-kubeconfig`).dependsOn).toEqual([`${REMOTE_COMMAND}::${n(server!.name)}-k3s-install`]);
    expect(() => run.byName(`${n(agent!.name)}-k3s-kubeconfig`)).toThrow();
  });

  it("sends the join token only as secret stdin, never on a command line", () => {
    const installs = run.ofType(REMOTE_COMMAND).filter((c) => c.name.endsWith("-k3s-install"));
    expect(installs).toHaveLength(2);
    for (const c of installs) {
      expect(String(c.inputs["create"])).not.toContain(GENERATED);
      expect(c.inputs["stdin"]).toBe(SECRET_MASK);
      const stdin = (c.rawInputs["stdin"] as { secret: string }).secret;
      expect(stdin.startsWith(`${GENERATED}\n#!/usr/bin/env bash\n`)).toBe(true);
    }
    expect(run.byName(`${STACK}-k3s-join-token`).type).toBe("random:index/randomPassword:RandomPassword");
  });

  it("takes the kubeconfig from the server step, unlogged, into an explicit provider: nothing ambient", () => {
    const step = run.byName(`${STACK}-k3s-${run.plan.hosts[0]!.name}-k3s-kubeconfig`);
    expect(step.inputs["logging"]).toBe("none");
    const providers = run.ofType(PROVIDER);
    expect(providers.map((p) => p.name)).toEqual([`${STACK}-k3s-provider`]);
    expect(providers[0]!.inputs["kubeconfig"]).toBe(SECRET_MASK);
    const kubeconfig = parseYaml((providers[0]!.rawInputs["kubeconfig"] as { secret: string }).secret) as { clusters: { cluster: { server: string } }[] };
    expect(kubeconfig.clusters[0]!.cluster.server).toBe(k3sClusterPlan(run.plan).apiUrl);
    for (const r of k8sResources()) expect(r.provider, `${r.type} ${r.name}`).toContain(`${PROVIDER}::${STACK}-k3s-provider::`);
    expect(String(run.outputs["kubeconfig"])).toContain("server: https://203.0.113.41:6443");
  });

  it("asks Pulumi for exactly the rendered manifests, and each validates against the Kubernetes API", () => {
    const expected = [
      ...workloadManifests(renderKubernetesWorkloads(run.plan)).map((m) => resolveSecrets(m, () => SECRET_MASK)),
      renderDevicePlugin(run.plan),
    ];
    const recorded = k8sResources();
    expect(recorded).toHaveLength(expected.length);
    for (const m of expected) {
      const r = recorded.find((x) => x.inputs["kind"] === m.kind && (x.inputs["metadata"] as { name: string }).name === m.metadata.name);
      expect(r, `${m.kind} ${m.metadata.name} was not created`).toBeDefined();
      if (m.kind === "Secret") {
        // The provider keeps a Secret's data secret as a whole.
        expect(r!.inputs["stringData"]).toBe(SECRET_MASK);
        const { stringData: _s, ...rest } = r!.inputs;
        const { stringData: _e, ...restExpected } = m;
        expect(rest).toEqual(restExpected);
        expect(() => validateManifest({ ...rest, stringData: {} })).not.toThrow();
      } else {
        expect(r!.inputs).toEqual(m);
        expect(() => validateManifest(r!.inputs)).not.toThrow();
      }
    }
  });

  it("deploys the placement: one Deployment per engine group with its GPUs, and no engine Service outside the cluster", () => {
    if (run.plan.target.kind !== "kubernetes") throw new Error("prod-k8s is not planned for kubernetes");
    for (const g of run.plan.target.placement.groups) {
      const d = run.byName(`${STACK}-deployment-${g.name}`).inputs as { spec: { replicas: number; template: { spec: { containers: { resources: { limits: Record<string, string> } }[] } } } };
      expect(d.spec.replicas).toBe(g.replicas);
      expect(d.spec.template.spec.containers[0]!.resources.limits["nvidia.com/gpu"]).toBe(String(g.tensorParallel));
      const svc = run.byName(`${STACK}-service-${g.name}`).inputs as { spec: { type: string; ports: Record<string, unknown>[] } };
      expect(svc.spec.type).toBe("ClusterIP");
      for (const p of svc.spec.ports) expect(p).not.toHaveProperty("nodePort");
    }
    expect(run.outputs["routerUrl"]).toBe("http://203.0.113.41:4000");
    expect(run.outputs["modelNames"]).toEqual(run.plan.router.modelNames);
  });

  it("never puts a credential in plain text in any resource input, rendered file or public output", () => {
    const { files } = renderKubernetesTarget(run.plan);
    const publicOutputs = Object.fromEntries(Object.entries(run.outputs).filter(([k]) => k !== "masterKey" && k !== "kubeconfig"));
    expect(Object.keys(run.canaries).length).toBeGreaterThanOrEqual(4);
    for (const [key, canary] of Object.entries(run.canaries)) {
      const leaks = [
        ...run.resources.flatMap((r) => plaintextOccurrences(r.rawInputs, canary, `${r.type} ${r.name}`)),
        ...plaintextOccurrences(files, canary, "rendered files"),
        ...plaintextOccurrences(publicOutputs, canary, "stack outputs"),
        ...plaintextOccurrences(run.logs, canary, "program log"),
      ];
      expect(leaks, `secret ${key} leaked`).toEqual([]);
    }
    // The provider keys did reach the router's Secret, as secrets.
    const routerSecret = run.byName(`${STACK}-secret-router-credentials`).rawInputs["stringData"] as { secret: Record<string, string> };
    for (const s of run.plan.router.secretEnv) expect(routerSecret.secret[s.env]).toBe(run.canaries[s.configKey]);
    expect(plaintextOccurrences(run.resources.map((r) => r.rawInputs), GENERATED)).toEqual([]);
  });

  it("reports each host's GPU inventory from its verify step", () => {
    const inventory = run.outputs["gpuInventory"] as Record<string, { gpus: { name: string }[] }>;
    for (const host of run.plan.hosts) expect(inventory[host.name]!.gpus).toHaveLength(host.gpuCount);
  });
});
