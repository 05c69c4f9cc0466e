/**
 * Whether the generated pipelines can reach each stack's hosts, and what to do when they cannot.
 *
 * `pulumi up` and the drift check's `pulumi refresh` SSH to every host (the bootstrap steps, the
 * Docker provider, the reboot wait), and each host's firewall admits SSH only from the stack's
 * allow-list: `access.admin_cidrs`, `access.deploy_cidrs` and the bastion's address
 * (core/plan/access.ts). A hosted runner (GitHub's `ubuntu-24.04`, GitLab's shared runners)
 * connects from a pool of cloud addresses that is neither fixed nor in the UK, so it is refused
 * unless the stack says otherwise. Three ways out, per stack:
 * - `access.bastion`: every connection goes through a jump host the runner can reach;
 * - `access.deploy_cidrs`: the runner's fixed egress addresses (self-hosted runners in the UK, or
 *   hosted "larger runners" with static IPs) join the allow-list;
 * - self-hosted runners (`--runs-on <labels>`) inside `admin_cidrs` already.
 * The firewall's lock-out guard refuses a deployment whose own connection the list would cut off
 * (templates/host/firewall.sh), so a wrong choice fails loudly, before any rule changes.
 *
 * Pure: plain data in, sentences out; the CLI reads the stack files.
 */
import type { GitopsOptions } from "./options";

/** What a stack file says about how the deployment reaches its hosts. */
export interface StackAccess {
  readonly stack: string;
  readonly adminCidrs: readonly string[];
  readonly deployCidrs: readonly string[];
  readonly bastion: { readonly address: string; readonly port: number; readonly user: string } | null;
  /** `existing`: a Kubernetes cluster reached through its kubeconfig, no SSH at all. */
  readonly reach: "ssh" | "ssh-and-k3s-api" | "kubeconfig";
}

/** One sentence per stack: how its pipeline jobs reach it, or what to change so they can. */
export function reachabilitySteps(options: Pick<GitopsOptions, "provider" | "runsOn">, stacks: readonly StackAccess[]): string[] {
  const selfHosted = (options.runsOn ?? []).length > 0;
  const runner = selfHosted
    ? `the self-hosted runners (${["self-hosted", ...(options.runsOn ?? [])].join(", ")})`
    : options.provider === "github" ? "GitHub-hosted runners" : "GitLab's shared runners";
  return stacks.map((s) => {
    const list = [...s.adminCidrs, ...s.deployCidrs].join(", ");
    if (s.reach === "kubeconfig") {
      return `Stack ${s.stack}: no SSH (an existing cluster, reached with its kubeconfig): ${runner} must reach the cluster's API server.`;
    }
    const api = s.reach === "ssh-and-k3s-api" ? " The Kubernetes API (6443 on the first host) is dialled directly, not through the bastion: it admits admin_cidrs and deploy_cidrs." : "";
    if (s.bastion) {
      return `Stack ${s.stack}: deploys through the bastion ${s.bastion.user}@${s.bastion.address}:${s.bastion.port}: let ${runner} reach it (its own firewall), and make sure the hosts admit the address it connects from (the bastion's address when it is an IP, or one of ${list}).${api}`;
    }
    if (s.deployCidrs.length > 0) {
      return `Stack ${s.stack}: admits the pipeline from access.deploy_cidrs (${s.deployCidrs.join(", ")}): ${runner} must connect from there.${selfHosted ? "" : " Hosted runners have no fixed address: run the up and drift jobs on self-hosted runners in the UK (--runs-on) or on runners with static egress IPs."}${api}`;
    }
    if (selfHosted) {
      return `Stack ${s.stack}: SSH is admitted from access.admin_cidrs only (${s.adminCidrs.join(", ")}): ${runner} must connect from there, or add their egress address to access.deploy_cidrs.${api}`;
    }
    return `Stack ${s.stack} cannot be deployed by ${runner} as it stands: its hosts admit SSH from access.admin_cidrs only (${s.adminCidrs.join(", ")}), and the firewall step refuses a deployment from any other address. ` +
      `Set access.bastion (a jump host the runners can reach), or access.deploy_cidrs to your runners' egress addresses and re-run with --runs-on <labels> for self-hosted runners in the UK.${api}`;
  });
}

/** True when no stack needs a change for the chosen runners to reach it. */
export function allReachable(options: Pick<GitopsOptions, "runsOn">, stacks: readonly StackAccess[]): boolean {
  const selfHosted = (options.runsOn ?? []).length > 0;
  return stacks.every((s) => s.reach === "kubeconfig" || s.bastion !== null || s.deployCidrs.length > 0 || selfHosted);
}
