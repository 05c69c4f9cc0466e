/**
 * The components compose like library components: two deployments share one program without a
 * name clash, and a host created by another resource of the program (its address an Output) is
 * bootstrapped by GpuHost.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { loadPlan } from "../../core/load";
import { dockerPart } from "../../core/plan/docker";
import { hostSteps, rebootWait } from "../../core/render/host-bootstrap";
import { rawConfig, validValues } from "../fixtures";

interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

const registered: Registered[] = [];
const SERVER_IP = "198.51.100.20";

beforeAll(async () => {
  await pulumi.runtime.setMocks({
    newResource(args) {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
      const state: Record<string, unknown> = { ...args.inputs, stdout: "", stderr: "" };
      // What a provider that creates a server would report: its address.
      if (args.name === "rented-server") state["stdout"] = `${SERVER_IP}\n`;
      if (args.name.endsWith("-verify-gpus")) {
        state["stdout"] = `HI_GPU_INVENTORY=${JSON.stringify({ gpus: [{ name: "NVIDIA GeForce RTX 4090", memoryMiB: 24564 }], driverVersion: "580.95.05", cudaVersion: "13.0" })}\n`;
      }
      if (args.type === "random:index/randomPassword:RandomPassword") state["result"] = "generated";
      return { id: `${args.name}-id`, state };
    },
    call: (args) => args.inputs as Record<string, unknown>,
  }, "hybrid-inference", "compose", false);
});

const plan = (() => {
  const { plan, issues } = loadPlan(rawConfig(validValues()));
  if (!plan) throw new Error(JSON.stringify(issues));
  return plan;
})();
const secret = (key: string): pulumi.Output<string> => pulumi.secret(`value-of-${key}`);
const settle = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((resolve) => o.apply(resolve));

describe("components that compose", () => {
  it("lets two HybridInference deployments share one program: every resource name is distinct and carries its component's name", async () => {
    const { HybridInference } = await import("../../components/hybrid-inference");
    const blue = new HybridInference("blue", { plan, secret });
    const green = new HybridInference("green", { plan, secret });
    await Promise.all([settle(blue.routerUrl), settle(green.routerUrl), settle(blue.inventory), settle(green.inventory)]);
    const mine = registered.filter((r) => r.name.startsWith("blue") || r.name.startsWith("green"));
    const keys = mine.map((r) => `${r.type}::${r.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    const blueNames = mine.filter((r) => r.name.startsWith("blue")).map((r) => r.name.replace(/^blue/, ""));
    const greenNames = mine.filter((r) => r.name.startsWith("green")).map((r) => r.name.replace(/^green/, ""));
    expect(blueNames.sort()).toEqual(greenNames.sort());
    // Not vacuous: each deployment has its host, engine, router and their children.
    expect(blueNames).toEqual(expect.arrayContaining([`-${plan.hosts[0]!.name}`, `-${plan.hosts[0]!.name}-verify-gpus`, "-router", "-router-container"]));
  });

  it("bootstraps a host whose address is another resource's output", async () => {
    const command = await import("@pulumi/command");
    const { GpuHost } = await import("../../components/gpu-host");
    const server = new command.local.Command("rented-server", { create: "provision-a-server --print-ip" });
    const address = server.stdout.apply((s) => s.trim());
    const bootstrap = dockerPart(plan).hosts[0]!.bootstrap;
    const host = new GpuHost("from-output", {
      address, privateKey: secret("sshPrivateKey"), privateKeyFile: "/tmp/key", steps: hostSteps(bootstrap), rebootWait: rebootWait(bootstrap),
    });
    expect(await settle(host.dockerHost)).toBe(`ssh://ubuntu@${SERVER_IP}:22`);
    const steps = registered.filter((r) => r.type === "command:remote:Command" && r.name.startsWith("from-output-"));
    expect(steps.map((s) => s.name)).toEqual(hostSteps(bootstrap).map((s) => `from-output-${s.name}`));
    for (const s of steps) expect(JSON.stringify(s.inputs["connection"])).toContain(`"host":"${SERVER_IP}"`);
    const wait = registered.find((r) => r.name === "from-output-wait-for-reboot")!;
    expect(JSON.stringify(wait.inputs["environment"])).toContain(`"HI_HOST":"${SERVER_IP}"`);
  });
});
