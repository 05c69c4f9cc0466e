import * as pulumi from "@pulumi/pulumi";
import { bastionPlan } from "../core/plan/access";
import type { StackSpec } from "../core/config/schema";
import { bastionKnownHostsLine, bastionProxyCommand } from "../core/render/ssh-access";
import type { GpuHostBastion } from "./gpu-host";
import { sshKnownHostsFile } from "./ssh-key-file";

/**
 * The stack's bastion (`access.bastion`) as every SSH client of a deployment uses it: its plan
 * for the command provider's `connection.proxy`, and the ProxyCommand (with the key file and
 * the bastion's pinned host key) for the Docker provider and the reboot wait. Undefined without
 * a bastion.
 */
export function deploymentBastion(spec: StackSpec, keyFile: pulumi.Output<string>): GpuHostBastion | undefined {
  const b = bastionPlan(spec.access);
  if (!b) return undefined;
  const knownHosts = sshKnownHostsFile(spec.stack, bastionKnownHostsLine(b));
  return { plan: b, proxyCommand: keyFile.apply((file) => bastionProxyCommand(b, file, knownHosts)) };
}
