/**
 * Runs the real Pulumi program (index.ts) under Pulumi's mocks and records every
 * resource it registers: the offline `plan` command and the component tests both use it,
 * so what they show is what `pulumi up` would ask for.
 */
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { PROJECT } from "../core/config/issues";
import { type RawStackConfig, engineConfigString } from "../core/config/source";
import type { DeploymentPlan } from "../core/plan/types";

/** Marks a value that was a Pulumi secret in a resource's inputs. */
export const SECRET_MASK = "[secret]";

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  /** Inputs as the provider would receive them; secret values replaced by SECRET_MASK. */
  readonly inputs: Record<string, unknown>;
  /** Inputs with secret values still in place, wrapped as `{ secret: value }` (tests only). */
  readonly rawInputs: Record<string, unknown>;
  readonly provider?: string;
  /** `type::name` of the parent resource; undefined for children of the stack itself. */
  readonly parent?: string;
  /** `type::name` of each explicit `dependsOn` resource. */
  readonly dependsOn: readonly string[];
}

/** Pulumi's wire markers for a secret value (sdk/nodejs/runtime/rpc.ts). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

function isSecretWrapper(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Replaces secret values by the mask (`masked`) or by `{ secret: value }` (raw). */
function transform(v: unknown, masked: boolean): unknown {
  if (isSecretWrapper(v)) return masked ? SECRET_MASK : { secret: transform(v.value, false) };
  if (Array.isArray(v)) return v.map((x) => transform(x, masked));
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, transform(x, masked)]));
  }
  return v;
}

/** What the mocked providers answer: the outputs a real `pulumi up` would compute. */
function mockOutputs(type: string, name: string, inputs: Record<string, unknown>, plan: DeploymentPlan): Record<string, unknown> {
  switch (type) {
    case "command:remote:Command": {
      if (plan.hosts[0] && name.endsWith(`-${plan.hosts[0].name}-k3s-kubeconfig`)) {
        // What the k3s server's kubeconfig step prints: k3s.yaml, base64 (credentials are stand-ins).
        const kubeconfig = [
          "apiVersion: v1", "kind: Config",
          "clusters:", "- name: default", "  cluster:", "    certificate-authority-data: bW9jay1jYQ==", "    server: https://127.0.0.1:6443",
          "contexts:", "- name: default", "  context:", "    cluster: default", "    user: default", "current-context: default",
          "users:", "- name: default", "  user:", "    client-certificate-data: bW9jay1jZXJ0", "    client-key-data: bW9jay1rZXk=", "",
        ].join("\n");
        return { ...inputs, stdout: `HI_KUBECONFIG_B64=${Buffer.from(kubeconfig).toString("base64")}\n`, stderr: "" };
      }
      const host = plan.hosts.find((h) => name.endsWith(`-${h.name}-verify-gpus`));
      if (!host) return { ...inputs, stdout: "", stderr: "" };
      // The verify step's report as it would read on a host that matches the stack.
      const inventory = {
        gpus: Array.from({ length: host.gpuCount }, () => ({ name: host.gpu.smiName, memoryMiB: host.gpu.vramGiB * 1024 })),
        driverVersion: `${host.gpu.minDriverBranch}.0 (expected)`,
        cudaVersion: "(expected)",
      };
      return { ...inputs, stdout: `HI_GPU_INVENTORY=${JSON.stringify(inventory)}\n`, stderr: "" };
    }
    case "command:local:Command":
      return { ...inputs, stdout: "", stderr: "" };
    case "random:index/randomPassword:RandomPassword":
      return { ...inputs, result: "generated-at-deploy-time" };
    case "docker:index/remoteImage:RemoteImage":
      return { ...inputs, imageId: `${String(inputs["name"])}` , repoDigest: `${String(inputs["name"])}` };
    default:
      return { ...inputs };
  }
}

export interface MockRunResult {
  readonly resources: readonly RecordedResource[];
  readonly outputs: Record<string, unknown>;
  /** What the program logged (Pulumi's log prints through console.* when no engine is attached). */
  readonly logs: readonly string[];
}

/**
 * Runs index.ts for `raw` under mocks. Secret config values are replaced by `secretValue`
 * (the mask by default; tests pass known canaries to prove they never leak).
 */
export async function runProgramUnderMocks(
  raw: RawStackConfig,
  plan: DeploymentPlan,
  secretValue: (key: string) => string = () => SECRET_MASK,
): Promise<MockRunResult> {
  const resources: RecordedResource[] = [];
  // Parents are not part of what a mock sees, so a stack transformation notes them as
  // each resource is constructed (before it is registered).
  const names = new WeakMap<pulumi.Resource, string>();
  const parents = new Map<string, string | undefined>();
  const dependencies = new Map<string, string[]>();
  await pulumi.runtime.setMocks({
    newResource(args) {
      const inputs = args.inputs as Record<string, unknown>;
      resources.push({
        type: args.type,
        name: args.name,
        inputs: transform(inputs, true) as Record<string, unknown>,
        rawInputs: transform(inputs, false) as Record<string, unknown>,
        ...(args.provider ? { provider: args.provider } : {}),
        ...(parents.get(`${args.type}::${args.name}`) ? { parent: parents.get(`${args.type}::${args.name}`)! } : {}),
        dependsOn: dependencies.get(`${args.type}::${args.name}`) ?? [],
      });
      return { id: `${args.name}-id`, state: mockOutputs(args.type, args.name, inputs, plan) };
    },
    call(args) {
      return args.inputs as Record<string, unknown>;
    },
  }, PROJECT, raw.stack, false);

  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(raw.values)) {
    const full = `${PROJECT}:${key}`;
    if (raw.secretKeys.has(key)) {
      config[full] = secretValue(key);
      secretKeys.push(full);
    } else {
      config[full] = engineConfigString(value);
    }
  }
  pulumi.runtime.setAllConfig(config, secretKeys);
  const logs: string[] = [];
  const consoleMethods = ["log", "info", "warn", "error"] as const;
  const saved = consoleMethods.map((m) => console[m]);
  for (const m of consoleMethods) console[m] = (...args: unknown[]) => void logs.push(args.map(String).join(" "));
  try {
    // As Pulumi's language host does: the program runs inside the root Stack resource.
    let program: Record<string, unknown> = {};
    await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((t) => {
        const key = `${t.type}::${t.name}`;
        names.set(t.resource, key);
        parents.set(key, t.opts.parent ? names.get(t.opts.parent) : undefined);
        // Only plain lists of resources are recorded; this program never passes an Output here.
        const deps = t.opts.dependsOn;
        const list = Array.isArray(deps) ? deps : pulumi.Resource.isInstance(deps) ? [deps] : [];
        dependencies.set(key, list.flatMap((d) => (pulumi.Resource.isInstance(d) && names.get(d) ? [names.get(d)!] : [])));
        return undefined;
      });
      program = (await import("../index")) as Record<string, unknown>;
      return undefined;
    });
    const outputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(program)) {
      if (pulumi.Output.isInstance(v)) outputs[k] = await new Promise((resolve) => v.apply(resolve));
    }
    // Resources registered after the last output resolved still land in the recording.
    const waitForRPCs = (settings as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
    if (waitForRPCs) await waitForRPCs();
    return { resources, outputs, logs };
  } finally {
    consoleMethods.forEach((m, i) => (console[m] = saved[i]!));
  }
}
