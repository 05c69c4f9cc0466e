/**
 * The stack the `pulumi up` test deploys: one GPU host, the SSH test host on loopback, with
 * `workloads: false` (bootstrap and verify the host only: no Docker provider, engine or router,
 * which would need a Docker engine this machine does not have). Every address and CIDR is on
 * 127.0.0.0/8.
 */
import { writeFileSync } from "node:fs";
import { stringify as stringifyYaml } from "yaml";
import { MASKED_SECRET } from "../../core/config/source";
import { STACK_KEYS } from "../../core/config/schema";
import { loadPlan } from "../../core/load";
import type { HostBootstrapParams, HostPlan } from "../../core/plan/types";
import { dockerPart } from "../../core/plan/docker";
import { rawConfig } from "../fixtures";
import type { ReadyHostOptions } from "./ssh-host";
import { PROJECT } from "./toolchain";

export const LOOPBACK_STACK = "engine-loopback";
export const LOOPBACK_HOST = "loop-gpu-1";

/** The stack's config values (without the project prefix); secrets as placeholders. */
export function loopbackValues(host: { address: string; port: number; user: string }): Record<string, unknown> {
  return {
    environment: "dev",
    residency: "uk",
    workloads: false,
    hosts: [{
      name: LOOPBACK_HOST,
      address: host.address,
      ssh_port: host.port,
      ssh_user: host.user,
      datacenter: "uk-london",
      gpu: "rtx-4090",
      gpu_count: 1,
    }],
    model: { id: "qwen2.5-7b-instruct", quantization: "auto" },
    router: { allowed_cidrs: ["127.0.0.0/8"], managed: { provider: "together_ai", api_key_secret: "togetherApiKey" } },
    access: { admin_cidrs: ["127.0.0.0/8"], ssh_private_key_secret: "sshPrivateKey" },
  };
}

export const LOOPBACK_SECRETS = ["sshPrivateKey", "togetherApiKey"] as const;

/** True once core/config/schema.ts knows the `workloads` key the up test relies on. */
export function schemaHasWorkloads(): boolean {
  return "workloads" in STACK_KEYS;
}

/** The planned host and its bootstrap parameters, from the same values the stack file holds. */
export function loopbackHostPlan(values: Record<string, unknown>): HostPlan & { readonly bootstrap: HostBootstrapParams } {
  const v: Record<string, unknown> = { ...values };
  for (const k of LOOPBACK_SECRETS) v[k] = MASKED_SECRET;
  // Plan without `workloads` while the schema does not know it yet: it does not change the hosts.
  if (!schemaHasWorkloads()) delete v["workloads"];
  const { plan, issues } = loadPlan(rawConfig(v, [...LOOPBACK_SECRETS], LOOPBACK_STACK));
  const host = plan?.hosts[0];
  if (!plan || !host) throw new Error(`the loopback test stack does not plan: ${JSON.stringify(issues, null, 2)}`);
  return { ...host, bootstrap: dockerPart(plan).hosts[0]!.bootstrap };
}

/** What the fake host must look like for this plan: the declared cards and driver, ready. */
export function readyHostOptions(host: HostPlan & { readonly bootstrap: HostBootstrapParams }): ReadyHostOptions {
  const b = host.bootstrap;
  return {
    user: host.sshUser,
    gpuName: b.gpu.smiName,
    gpuCount: b.gpu.count,
    memoryMiB: b.gpu.memoryMiB ?? 24576,
    driverBranch: b.gpu.minDriverBranch,
    openKernelModules: b.gpu.openKernelModules,
  };
}

/** Writes `Pulumi.<LOOPBACK_STACK>.yaml` with `secure:` placeholders, like the shipped stack files. */
export function writeLoopbackStackFile(file: string, values: Record<string, unknown>): void {
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) config[`${PROJECT}:${k}`] = v;
  for (const k of LOOPBACK_SECRETS) config[`${PROJECT}:${k}`] = { secure: "v1:PLACEHOLDER-run-pulumi-config-set-secret" };
  writeFileSync(file, `# Written by test/engine: the SSH test host on loopback, hosts only (workloads: false).\n${stringifyYaml({ config })}`);
}
