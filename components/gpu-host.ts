import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { type GpuInventory, type HostStep, type RebootWait, bootIdFrom, parseGpuInventory, VERIFY_STEP } from "../core/render/host-bootstrap";
import { hostPort } from "../core/net/address";
import { type Connection, remoteStep, sshConnection, withLegacyName } from "./remote-step";

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

  constructor(name: string, args: GpuHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hybrid:host:GpuHost", name, {}, opts);
    const port = args.sshPort ?? 22;
    const user = args.sshUser ?? "ubuntu";
    this.connection = sshConnection(args.address, port, user, args.privateKey);
    const legacy = (suffix: string): string | undefined => (args.legacyName === undefined ? undefined : `${args.legacyName}-${suffix}`);

    let previous: pulumi.Resource | undefined;
    let verify: command.remote.Command | undefined;
    for (const step of args.steps) {
      const cmd = remoteStep(`${name}-${step.name}`, { step, connection: this.connection, triggers: step.triggers },
        withLegacyName({ parent: this, dependsOn: previous ? [previous] : [], deleteBeforeReplace: true }, legacy(step.name)));
      previous = step.rebootAfter ? this.waitForReboot(name, args, cmd, legacy("wait-for-reboot")) : cmd;
      if (step.name === VERIFY_STEP) verify = cmd;
    }
    if (!verify) throw new pulumi.ResourceError("the bootstrap has no verify-gpus step", this);

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
      },
      triggers: [reboot.id],
    }, withLegacyName({ parent: this, dependsOn: [reboot] }, legacyName));
  }
}

/** The Docker provider's `ssh://` URL for a host (an IPv6 literal in brackets). */
function dockerHostUrl(user: string, address: string, port: number): string {
  return `ssh://${user}@${hostPort(address, port)}`;
}
