/**
 * How the deployment's OpenSSH clients reach the hosts: the Docker provider (which runs `ssh` for
 * `docker system dial-stdio`) and the local reboot wait. Through `access.bastion`, both use one
 * ProxyCommand: an `ssh -W` to the bastion with the deployment's key file and the bastion's
 * pinned host key. (`ssh -J` is not enough here: options given on the command line, `-i` among
 * them, apply to the destination only, and the jump host would be tried with the user's default
 * keys and known_hosts: ssh(1), -J.) The command provider's steps use the same bastion through
 * its own `connection.proxy` (components/remote-step.ts).
 *
 * Pure: strings only.
 */
import type { BastionPlan } from "../plan/access";
import { shellQuote } from "./host-bootstrap";

/** The `known_hosts` line that pins the bastion's key (`[host]:port` unless the port is 22, as ssh looks it up). */
export function bastionKnownHostsLine(b: BastionPlan): string {
  const host = b.port === 22 ? b.address : `[${b.address}]:${b.port}`;
  return `${host} ${b.hostKey}\n`;
}

/**
 * The ProxyCommand to the hosts through the bastion. ssh runs it with `/bin/sh -c` after
 * expanding `%h` and `%p` (ssh_config(5), ProxyCommand), so every path is shell-quoted;
 * `[%h]` keeps an IPv6 host apart from its port.
 */
export function bastionProxyCommand(b: BastionPlan, keyFile: string, knownHostsFile: string): string {
  return [
    "ssh", "-i", shellQuote(keyFile), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${shellQuote(knownHostsFile)}`, "-o", "GlobalKnownHostsFile=/dev/null",
    "-p", String(b.port), "-W", "'[%h]:%p'", "--", shellQuote(`${b.user}@${b.address}`),
  ].join(" ");
}

/** `sshOpts` of the Docker provider: the key file, and the bastion when there is one. */
export function dockerSshOptions(keyFile: string, bastion: { readonly proxyCommand: string } | null): string[] {
  return [
    "-i", keyFile, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=accept-new",
    ...(bastion ? ["-o", `ProxyCommand=${bastion.proxyCommand}`] : []),
  ];
}
