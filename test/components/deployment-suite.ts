/**
 * The assertions every shipped stack must pass under mocks; each `<stack>.test.ts` runs
 * them in its own process (Pulumi's mock state is per process) with the exact engine argv
 * it expects.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { renderTarget } from "../../core/render/target";
import { dockerPart } from "../../core/plan/docker";
import { BOOTSTRAP_STEPS } from "../../core/render/host-bootstrap";
import { CONTAINER, REMOTE_COMMAND, REMOTE_IMAGE, type StackRun, argv, plaintextOccurrences, runStack } from "./stack-harness";

export function describeDeployment(stack: string, expectedArgv: Readonly<Record<string, readonly string[]>>): void {
  describe(`stack ${stack} under mocks`, () => {
    let run: StackRun;
    beforeAll(async () => {
      run = await runStack(stack);
    });

    it("is one HybridInference component whose every resource descends from it", () => {
      const roots = run.resources.filter((r) => r.type === "hybrid:index:HybridInference");
      // A component created without a parent is a child of the stack itself.
      expect(roots.map((r) => [r.name, r.parent])).toEqual([[stack, undefined]]);
      const byKey = new Map(run.resources.map((r) => [`${r.type}::${r.name}`, r]));
      for (const r of run.resources) {
        if (r.type === "pulumi:pulumi:Stack") continue;
        let cursor = r;
        while (cursor.type !== "hybrid:index:HybridInference") {
          expect(cursor.parent, `${cursor.type} ${cursor.name} has no parent`).toBeDefined();
          cursor = byKey.get(cursor.parent!)!;
          expect(cursor, `parent of ${r.name} was not registered`).toBeDefined();
        }
      }
    });

    it("gives each host a GpuHost, a VllmServer and their children with names derived from the component and the host", () => {
      for (const host of run.plan.hosts) {
        const h = `${stack}-${host.name}`;
        expect(run.byName(h).type).toBe("hybrid:host:GpuHost");
        expect(run.byName(`${h}-engine`).type).toBe("hybrid:engine:VllmServer");
        expect(run.byName(`${h}-verify-gpus`).parent).toBe(`hybrid:host:GpuHost::${h}`);
        expect(run.byName(`${h}-engine-container`).parent).toBe(`hybrid:engine:VllmServer::${h}-engine`);
      }
    });

    it("runs exactly the planned engine argv on every host", () => {
      const actual = Object.fromEntries(run.plan.hosts.map((h) => [h.name, argv(run.byName(`${stack}-${h.name}-engine-container`))]));
      expect(actual).toEqual(expectedArgv);
    });

    it("asks for the planned GPUs and shared memory for the engine", () => {
      for (const host of run.plan.hosts) {
        const c = run.byName(`${stack}-${host.name}-engine-container`).inputs;
        expect(c["gpus"]).toBe("all");
        expect(c["shmSize"]).toBe(host.gpuCount > 1 ? 16384 : 4096);
        expect(c["restart"]).toBe("unless-stopped");
        // The watchdog on the host restarts a hung engine: it finds it, and its policy, by these labels.
        const labels = Object.fromEntries((c["labels"] as { label: string; value: string }[]).map((l) => [l.label, l.value]));
        expect(Object.keys(labels).some((k) => k.includes("watchdog"))).toBe(true);
        expect(c["logOpts"]).toEqual({ "max-size": "100m", "max-file": "5" });
        expect((c["healthcheck"] as { tests: string[] }).tests.join(" ")).toContain(`http://127.0.0.1:8000/health`);
      }
    });

    it("pins every image to a version tag", () => {
      const images = run.ofType(REMOTE_IMAGE).map((r) => r.inputs["name"] as string);
      expect(images.length).toBe(run.plan.hosts.length + 1);
      for (const image of images) expect(image).toMatch(/:v?\d+\.\d+\.\d+(@sha256:[a-f0-9]{64})?$/);
    });

    it("publishes the router's port and no engine port except, for a router on another host, on the private address", () => {
      const published = run.ofType(CONTAINER).flatMap((c) => (c.inputs["ports"] as { external: number; ip?: string }[] | undefined ?? []).map((p) => ({ name: c.name, ...p })));
      const router = published.filter((p) => p.name === `${stack}-router-container`);
      expect(router).toEqual([{ name: `${stack}-router-container`, external: 4000, internal: 4000 }]);
      for (const host of dockerPart(run.plan).hosts) {
        const name = `${stack}-${host.name}-engine-container`;
        const ports = published.filter((p) => p.name === name);
        if (host.runsRouter) expect(ports).toEqual([]);
        else expect(ports).toEqual([{ name, external: 8000, internal: 8000, ip: host.endpoint.publishOn!.address }]);
      }
    });

    it("re-runs a bootstrap step only when its script or inputs change", () => {
      for (const cmd of run.ofType(REMOTE_COMMAND)) {
        const triggers = cmd.inputs["triggers"] as string[];
        for (const t of triggers) expect(t).toMatch(/^[a-f0-9]{64}$/);
        // verify-gpus and the reboot check re-run after any step changes (the reboot check reboots only when the driver needs it); every other step only after its own.
        expect(triggers).toHaveLength(cmd.name.endsWith("-verify-gpus") || cmd.name.endsWith("-reboot-if-required") ? BOOTSTRAP_STEPS.length : 1);
        // The benchmark's stdin starts with the engine key (secret as a whole); every other step's is its script.
        if (cmd.name.endsWith("-benchmark-run")) expect(cmd.inputs["stdin"]).toBe("[secret]");
        else expect(cmd.inputs["stdin"]).toMatch(/^#!\/usr\/bin\/env bash/);
      }
    });

    it("never puts a credential in plain text in any resource input, rendered file or stack output", () => {
      const files = renderTarget(run.plan).files;
      const templates = run.ofType(REMOTE_COMMAND).map((c) => c.rawInputs["stdin"]);
      const publicOutputs = Object.fromEntries(Object.entries(run.outputs).filter(([k]) => k !== "masterKey"));
      expect(Object.keys(run.canaries).length).toBeGreaterThanOrEqual(2);
      for (const [key, canary] of Object.entries(run.canaries)) {
        const leaks = [
          ...run.resources.flatMap((r) => plaintextOccurrences(r.rawInputs, canary, `${r.type} ${r.name}`)),
          ...plaintextOccurrences(files, canary, "rendered files"),
          ...plaintextOccurrences(templates, canary, "bootstrap scripts"),
          ...plaintextOccurrences(publicOutputs, canary, "stack outputs"),
          ...plaintextOccurrences(run.logs, canary, "program log"),
        ];
        expect(leaks, `secret ${key} leaked`).toEqual([]);
      }
      // And the canaries did reach the resources, as secrets: the test can see them.
      const routerEnvs = run.byName(`${stack}-router-container`).rawInputs["envs"];
      for (const s of run.plan.router.secretEnv) {
        expect(JSON.stringify(routerEnvs)).toContain(`${s.env}=${run.canaries[s.configKey]}`);
      }
      expect(JSON.stringify(run.byName(`${stack}-${run.plan.hosts[0]!.name}-preflight`).rawInputs["connection"])).toContain(run.canaries[run.plan.spec.access.ssh_private_key_secret]!);
    });

    it("uploads the rendered LiteLLM config into the router container and exposes the model names", () => {
      const uploads = run.byName(`${stack}-router-container`).inputs["uploads"] as { file: string; content: string }[];
      expect(uploads.map((u) => u.file)).toEqual(["/app/config.yaml"]);
      expect(uploads[0]!.content).toBe(renderTarget(run.plan).files["router/litellm-config.yaml"]);
      expect(run.outputs["modelNames"]).toEqual(run.plan.router.modelNames);
      expect(run.outputs["routerUrl"]).toBe(`http://${run.plan.hosts[0]!.address}:4000`);
    });

    it("reports each host's GPU inventory from its verify step", () => {
      const inventory = run.outputs["gpuInventory"] as Record<string, { gpus: { name: string }[] }>;
      for (const host of run.plan.hosts) {
        expect(inventory[host.name]!.gpus.map((g) => g.name)).toEqual(Array(host.gpuCount).fill(host.gpu.smiName));
      }
    });

    it("downloads the weights into the host cache before the engine container is (re)created", () => {
      for (const host of run.plan.hosts) {
        const h = `${stack}-${host.name}`;
        const prefetch = run.byName(`${h}-engine-prefetch-weights`);
        expect(prefetch.parent).toBe(`hybrid:engine:VllmServer::${h}-engine`);
        expect(run.byName(`${h}-engine-container`).dependsOn).toContain(`command:remote:Command::${h}-engine-prefetch-weights`);
        const create = String(prefetch.inputs["create"]);
        // The create line carries the HF token when the stack has one, so it is secret as a whole.
        if (run.plan.spec.access.hf_token_secret) expect(create).toBe("[secret]");
        else expect(create).toContain(`HI_MODEL_REPO='${run.plan.engine.hfRepo}'`);
        expect(prefetch.inputs["triggers"]).toHaveLength(1);
      }
    });

    it("waits for the host after the driver step's reboot with the script in templates/local", () => {
      for (const host of run.plan.hosts) {
        const wait = run.byName(`${stack}-${host.name}-wait-for-reboot`);
        expect(wait.inputs["stdin"]).toBe(readFileSync(`${__dirname}/../../templates/local/wait-for-reboot.sh`, "utf8"));
      }
    });
  });
}
