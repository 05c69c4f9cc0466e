/**
 * Who reaches the hosts over SSH: people (`access.admin_cidrs`), the deployment pipeline
 * (`access.deploy_cidrs`, a CI runner's egress) and the jump host (`access.bastion`). One list,
 * read by every firewall that admits SSH (the host bootstrap's, k3s nodes') and by the lock-out
 * guard, so a pipeline that can deploy is always one the firewall lets back in.
 */
import type { AccessConfig } from "../config/schema";
import { addressCidr, ipVersion } from "../net/address";

/** The bastion, as every SSH client of the deployment dials it. */
export interface BastionPlan {
  readonly address: string;
  readonly port: number;
  readonly user: string;
  /** `<type> <base64>`: connections are refused when the bastion presents another key. */
  readonly hostKey: string;
}

export function bastionPlan(access: Pick<AccessConfig, "bastion">): BastionPlan | null {
  const b = access.bastion;
  return b ? { address: b.address, port: b.port, user: b.user, hostKey: b.host_key } : null;
}

/**
 * The SSH allow-list of every host: admin CIDRs, then the deploy CIDRs, then the bastion's
 * address when it is an IP literal, without duplicates. A bastion named by DNS is not added:
 * the address hosts see it connect from may not be the one the pipeline dials (a private
 * interface, a NAT), so it belongs in `admin_cidrs` or `deploy_cidrs`; the firewall's lock-out
 * guard refuses a deployment whose own connection the list would not admit.
 */
export function sshSources(access: Pick<AccessConfig, "admin_cidrs" | "deploy_cidrs" | "bastion">): string[] {
  const bastion = access.bastion && ipVersion(access.bastion.address) !== 0 ? [addressCidr(access.bastion.address)] : [];
  return [...new Set([...operatorSources(access), ...bastion])];
}

/**
 * Where whoever runs Pulumi connects from, for services the deployment dials directly rather
 * than over SSH (the k3s API on 6443, which the Kubernetes provider reaches without the bastion):
 * admin CIDRs, then deploy CIDRs.
 */
export function operatorSources(access: Pick<AccessConfig, "admin_cidrs" | "deploy_cidrs">): string[] {
  return [...new Set([...access.admin_cidrs, ...access.deploy_cidrs])];
}
