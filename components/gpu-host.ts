import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { BastionPlan } from "../core/plan/access";
import { type GpuInventory, type HostStep, type RebootWait, TUNNEL_STEP, VERIFY_STEP, bootIdFrom, firstDisruptiveStep, parseGpuInventory } from "../core/render/host-bootstrap";
import { tunnelStepRun } from "../core/render/wireguard";
import { hostPort } from "../core/net/address";
import { type Connection, remoteStep, sshConnection, withLegacyName } from "./remote-step";

/** The jump host every SSH connection to this host goes through (`access.bastion`). */
export interface GpuHostBastion {
  readonly plan: BastionPlan;
  /** The ProxyCommand the local reboot wait uses (core/render/ssh-access.ts `bastionProxyCommand`). */
  readonly proxyCommand: pulumi.Input<string>;
}

/** This host's keys in the engine tunnel, made by the deployment (components/hybrid-inference.ts). */
export interface GpuHostTunnelKeys {
  /** Its WireGuard private key (base64), a Pulumi secret. */
  readonly privateKey: pulumi.Output<string>;
  /** Every tunnel member's public key, by host name. */
  readonly publicKeys: pulumi.Output<Record<string, string>>;
}

export interface GpuHostArgs {
  /**
   * Address the host is reached at over SSH: an IP or DNS name, or another resource's output
   * (a server created by another provider in the same program).
   */
  readonly address: pulumi.Input<string>;
  /** SSH port. Default 22. */
  readonly sshPort?: number;
  /** Login with passwordless sudo. Default `ubuntu`. */
  readonly sshUser?: string;
  /** SSH private key of `sshUser`, from a Pulumi secret (or another resource's output). */
  readonly privateKey: pulumi.Input<string>;
  /**
   * Local file holding the same key, for the reboot wait (run by the local `ssh` client, which,
   * like the Docker provider, cannot take key material).
   */
  readonly privateKeyFile: pulumi.Input<string>;
  /** The bootstrap steps with their triggers, from `hostSteps(params)` (core/render/host-bootstrap.ts). */
  readonly steps: readonly HostStep[];
  /** The local wait after a reboot, from `rebootWait(params)`. */
  readonly rebootWait: RebootWait;
  /** Reach the host through this bastion (steps, reboot wait); default: directly. */
  readonly bastion?: GpuHostBastion;
  /**
   * Resources that must be done before the first step that may interrupt serving runs (and, by
   * the chain of steps, every step after it): another host's readiness gate, in a rollout
   * (core/plan/rollout.ts). Default: none.
   */
  readonly disruptiveAfter?: readonly pulumi.Resource[];
  /** The host's tunnel keys; required when its steps include the tunnel step. */
  readonly tunnelKeys?: GpuHostTunnelKeys;
  /** Name of the host in the stack before child names were prefixed (v0.1.0), for aliases. */
  readonly legacyName?: string;
}

/**
 * A bare Ubuntu server brought to a verified GPU container host over SSH: preflight,
 * NVIDIA driver (and reboot), container toolkit, Docker, firewall, model cache, and a
 * check that the cards found are the cards declared. Each step is a real script in
 * `templates/host/`; which change re-runs which step is decided in core/render/host-bootstrap.ts.
 */
export class GpuHost extends pulumi.ComponentResource {
  /** What `nvidia-smi` reported after bootstrap. */
  public readonly inventory: pulumi.Output<GpuInventory>;
  /** `ssh://user@address:port`, known only once the host is verified, so the Docker provider dials a ready daemon. */
  public readonly dockerHost: pulumi.Output<string>;
  /** How later steps on this host (the weight prefetch) reach it over SSH. */
  public readonly connection: Connection;
  /** The card check, the last step: replaced whenever any step changes, so it marks "the host changed". */
  public readonly verify: command.remote.Command;

  constructor(name: string, args: GpuHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hybrid:host:GpuHost", name, {}, opts);
    const port = args.sshPort ?? 22;
    const user = args.sshUser ?? "ubuntu";
    this.connection = sshConnection(args.address, port, user, args.privateKey, args.bastion?.plan);
    const legacy = (suffix: string): string | undefined => (args.legacyName === undefined ? undefined : `${args.legacyName}-${suffix}`);
    const firstDisruptive = firstDisruptiveStep(args.steps);

    let previous: pulumi.Resource | undefined;
    let verify: command.remote.Command | undefined;
    for (const step of args.steps) {
      const after = [...(previous ? [previous] : []), ...(step === firstDisruptive ? args.disruptiveAfter ?? [] : [])];
      const run = step.name === TUNNEL_STEP ? this.tunnelRun(step, args.tunnelKeys) : { triggers: step.triggers };
      const cmd = remoteStep(`${name}-${step.name}`, { step, connection: this.connection, ...run },
        withLegacyName({ parent: this, dependsOn: after, deleteBeforeReplace: true }, legacy(step.name)));
      previous = step.rebootAfter ? this.waitForReboot(name, args, cmd, legacy("wait-for-reboot")) : cmd;
      if (step.name === VERIFY_STEP) verify = cmd;
    }
    if (!verify) throw new pulumi.ResourceError("the bootstrap has no verify-gpus step", this);
    this.verify = verify;

    this.inventory = verify.stdout.apply((out) => {
      try {
        return parseGpuInventory(out);
      } catch (e) {
        throw new pulumi.ResourceError(`host "${name}": ${(e as Error).message}; its output was:\n${out.slice(-2000)}`, this);
      }
    });
    this.dockerHost = pulumi.all([verify.stdout, args.address]).apply(([, address]) => dockerHostUrl(user, address, port));
    this.registerOutputs({ inventory: this.inventory, dockerHost: this.dockerHost });
  }

  /** The tunnel step: its key on stdin (secret), the peers' public keys on its command line, both in its trigger. */
  private tunnelRun(step: HostStep, keys: GpuHostTunnelKeys | undefined): { create: pulumi.Output<string>; stdin: pulumi.Output<string>; triggers: pulumi.Input<string>[] } {
    if (!keys) throw new pulumi.ResourceError(`the ${TUNNEL_STEP} step needs the host's tunnel keys`, this);
    const run = pulumi.all([keys.privateKey, keys.publicKeys]).apply(([privateKey, publicKeys]) => tunnelStepRun(step, privateKey, publicKeys));
    return {
      // Public values only (the peers' public keys); the private key is on stdin.
      create: pulumi.unsecret(run.apply((r) => r.create)),
      stdin: pulumi.secret(run.apply((r) => r.stdin)),
      triggers: [...step.triggers, pulumi.unsecret(run.apply((r) => r.keysHash))],
    };
  }

  private waitForReboot(name: string, args: GpuHostArgs, reboot: command.remote.Command, legacyName: string | undefined): command.local.Command {
    return new command.local.Command(`${name}-wait-for-reboot`, {
      // The script goes on stdin so the command does not depend on where the repo is checked out.
      create: "bash -s",
      stdin: args.rebootWait.script,
      environment: {
        ...args.rebootWait.env,
        HI_HOST: args.address,
        HI_KEY_FILE: args.privateKeyFile,
        HI_OLD_BOOT_ID: reboot.stdout.apply(bootIdFrom),
        ...(args.bastion ? { HI_SSH_PROXY_COMMAND: args.bastion.proxyCommand } : {}),
      },
      triggers: [reboot.id],
    }, withLegacyName({ parent: this, dependsOn: [reboot] }, legacyName));
  }
}

/** The Docker provider's `ssh://` URL for a host (an IPv6 literal in brackets). */
function dockerHostUrl(user: string, address: string, port: number): string {
  return `ssh://${user}@${hostPort(address, port)}`;
}
