/**
 * The assertions every shipped stack must pass under mocks; each `<stack>.test.ts` runs
 * them in its own process (Pulumi's mock state is per process) with the exact engine argv
 * it expects.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { renderTarget } from "../../core/render/target";
import { dockerPart } from "../../core/plan/docker";
import { BOOTSTRAP_STEPS, renderStepCommand } from "../../core/render/host-bootstrap";
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
      // An engine per host and the router, plus the monitoring's images where the stack has monitoring.
      expect(images.length).toBeGreaterThanOrEqual(run.plan.hosts.length + 1);
      expect(images.filter((i) => i.startsWith(`${run.plan.engine.image.repository}:`))).toHaveLength(run.plan.hosts.length);
      for (const image of images) expect(image).toMatch(/:v?\d+\.\d+\.\d+[0-9A-Za-z.\-_]*(@sha256:[a-f0-9]{64})?$/);
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
      for (const cmd of run.ofType(REMOTE_COMMAND).filter((c) => !c.name.endsWith("-readiness"))) {
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

    it("gates the update on every engine and the router serving, re-checked after a new container or any bootstrap change", () => {
      const rendering = renderTarget(run.plan);
      if (rendering.kind !== "docker") throw new Error("docker target expected");
      for (const h of rendering.hosts) {
        const prefix = `${stack}-${h.host.name}`;
        const gate = run.byName(`${prefix}-engine-readiness`);
        expect(gate.parent).toBe(`hybrid:engine:VllmServer::${prefix}-engine`);
        expect(gate.dependsOn).toContain(`docker:index/container:Container::${prefix}-engine-container`);
        // The step's hash, the container's id (a new container is checked again), the card check's id (a reboot or Docker restart).
        expect(gate.inputs["triggers"]).toEqual([h.readiness.sha256, `${prefix}-engine-container-id`, `${prefix}-verify-gpus-id`]);
        expect(gate.inputs["create"]).toBe(renderStepCommand(h.readiness));
        expect(String(gate.inputs["create"])).toContain(`HI_TIMEOUT_S='${run.plan.engine.startupSeconds}'`);
        expect(gate.inputs["stdin"]).toBe(h.readiness.script);
      }
      const routerGate = run.byName(`${stack}-router-readiness`);
      expect(routerGate.dependsOn).toEqual(expect.arrayContaining([
        `docker:index/container:Container::${stack}-router-container`,
        ...run.plan.hosts.map((h) => `command:remote:Command::${stack}-${h.name}-engine-readiness`),
      ]));
      expect(routerGate.inputs["create"]).toBe(renderStepCommand(rendering.routerReadiness));
    });

    it("uploads the rendered LiteLLM config and the router extension into the router container and exposes the model names", () => {
      const uploads = run.byName(`${stack}-router-container`).inputs["uploads"] as { file: string; content: string }[];
      const files = renderTarget(run.plan).files;
      expect(uploads[0]!.file).toBe("/app/config.yaml");
      expect(uploads[0]!.content).toBe(files["router/litellm-config.yaml"]);
      // The extension's package and settings beside the config, as plan writes them under out/<stack>/router/.
      const extension = uploads.slice(1);
      expect(extension.map((u) => u.file)).toContain("/app/hybrid_router/callback.py");
      for (const u of extension) expect(u.content).toBe(files[`router/${u.file.replace(/^\/app\//, "")}`]);
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
