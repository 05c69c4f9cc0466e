/**
 * The rollout of the shipped prod stack (two hosts) as Pulumi would order it: the real program
 * under mocks, its recorded parents and `dependsOn` read as a dependency graph. What a user
 * cares about: a change that replaces engines or reboots hosts never takes both hosts down at
 * once, and `pulumi up` ends only when every engine and the router serve.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { rolloutOrder } from "../../core/plan/rollout";
import { renderTarget } from "../../core/render/target";
import type { DockerRendering } from "../../core/render/docker";
import { DependencyGraph } from "./dependency-graph";
import { REMOTE_COMMAND, type StackRun, runStack } from "./stack-harness";

let run: StackRun;
let graph: DependencyGraph;
let rendering: DockerRendering;

beforeAll(async () => {
  run = await runStack("prod");
  graph = new DependencyGraph(run.resources);
  const r = renderTarget(run.plan);
  if (r.kind !== "docker") throw new Error("prod is a docker stack");
  rendering = r;
});

const [first, second] = ["prod-prod-gpu-1", "prod-prod-gpu-2"];
const gate = (host: string): string => `${host}-engine-readiness`;

describe("rollout order (pure)", () => {
  it("puts the hosts in stack order, each waiting for the one before it", () => {
    fc.assert(fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), { minLength: 1, maxLength: 12 }), (names) => {
      const order = rolloutOrder(names);
      expect(order.map((o) => o.host)).toEqual(names);
      expect(order[0]!.waitsFor).toBeNull();
      // A chain: every host but the first waits for exactly the previous one, so at most one host changes at a time.
      order.slice(1).forEach((o, i) => expect(o.waitsFor).toBe(names[i]));
      expect(order.map((o) => o.position)).toEqual(names.map((_, i) => i + 1));
    }));
  });

  it("lets the router take each host back (its cooldown_time) before the next one goes; the last host has nothing to wait for", () => {
    fc.assert(fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 3600 }), (names, cooldown) => {
      const order = rolloutOrder(names, cooldown);
      expect(order.map((o) => o.settleS)).toEqual(names.map((_, i) => (i < names.length - 1 ? cooldown : 0)));
    }));
  });

  it("refuses duplicate host names", () => {
    expect(() => rolloutOrder(["a", "b", "a"])).toThrow("duplicate host names");
  });
});

describe("prod under mocks: the dependency graph Pulumi would follow", () => {
  it("has no cycle", () => {
    expect(graph.cycle()).toBeUndefined();
  });

  it("follows the plan's order: prod-gpu-2 waits for prod-gpu-1", () => {
    expect(rendering.hosts.map((h) => [h.host.name, h.rollout.waitsFor])).toEqual([["prod-gpu-1", null], ["prod-gpu-2", "prod-gpu-1"]]);
  });

  it("replaces the second host's engine only after the first host's engine serves again", () => {
    expect(graph.waitsOn(`${second}-engine-container`, gate(first))).toBe(true);
    // ... and the first host's gate checks the first host's new container, not the old one.
    expect(graph.waitsOn(gate(first), `${first}-engine-container`)).toBe(true);
    expect(graph.waitsOn(gate(second), `${second}-engine-container`)).toBe(true);
  });

  it("holds every step of the second host that can interrupt serving (driver, reboot, Docker) until the first host serves again", () => {
    const disruptive = rendering.hosts[1]!.steps.filter((s) => s.disruptsServing).map((s) => `${REMOTE_COMMAND}::${second}-${s.name}`);
    expect(disruptive).toEqual(["nvidia-driver", "reboot-if-required", "docker"].map((s) => `${REMOTE_COMMAND}::${second}-${s}`));
    for (const name of [...disruptive, `${second}-wait-for-reboot`]) expect(graph.waitsOn(name, gate(first)), name).toBe(true);
  });

  it("never makes the first host wait for the second: it goes first", () => {
    for (const r of run.resources.filter((x) => x.name.startsWith(first))) {
      const waits = [...graph.waitsFor(`${r.type}::${r.name}`)].filter((k) => k.split("::")[1]!.startsWith(second));
      expect(waits, r.name).toEqual([]);
    }
  });

  it("runs the second host's steps before the driver at once, and its weight download after the first host serves", () => {
    expect(graph.waitsOn(`${second}-preflight`, gate(first))).toBe(false);
    expect(graph.waitsOn(`${second}-ssh-hardening`, gate(first))).toBe(false);
    // The download needs the host's bootstrap (Docker, the cache), which is ordered behind the
    // first host: a model change takes about hosts x (download + load), one host at a time.
    expect(graph.waitsOn(`${second}-engine-prefetch-weights`, gate(first))).toBe(true);
  });

  it("ends the update only once the router serves and reaches both engines", () => {
    for (const host of [first, second]) expect(graph.waitsOn("prod-router-readiness", gate(host))).toBe(true);
    expect(graph.waitsOn("prod-router-readiness", "prod-router-container")).toBe(true);
  });

  it("holds the first host's gate for the router's cooldown_time (30 s in prod), so its engine is back in rotation before the second goes", () => {
    expect(run.plan.router.cooldownTimeS).toBe(30);
    expect(String(run.byName(gate(first)).inputs["create"])).toContain("HI_SETTLE_S='30'");
    expect(String(run.byName(gate(second)).inputs["create"])).toContain("HI_SETTLE_S='0'");
  });

  it("re-checks a host's engine after any change to its bootstrap (a reboot restarts the engine)", () => {
    const triggers = run.byName(gate(second)).inputs["triggers"] as string[];
    expect(triggers).toContain(`${second}-verify-gpus-id`);
    expect(triggers).toContain(`${second}-engine-container-id`);
  });
});
