import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { BootstrapStep } from "../core/render/host-bootstrap";
import { renderStepCommand } from "../core/render/host-bootstrap";

/** How a step reaches its host: the command provider's SSH connection. */
export type Connection = command.types.input.remote.ConnectionArgs;

/** The SSH connection to a host: dial retries cover a host mid-reboot or still booting. */
export function sshConnection(address: pulumi.Input<string>, port: number, user: string, privateKey: pulumi.Input<string>): Connection {
  return { host: address, port, user, privateKey, dialErrorLimit: 30, perDialTimeout: 20 };
}

export interface RemoteStepArgs {
  readonly step: BootstrapStep;
  readonly connection: Connection;
  /** Hashes whose change re-runs the step; default: the step's own hash. */
  readonly triggers?: readonly string[];
  /** The command line; default `renderStepCommand(step)`. A secret one (the token inside) is passed as a secret Output. */
  readonly create?: pulumi.Input<string>;
  /** What the step reads on stdin; default the script. */
  readonly stdin?: pulumi.Input<string>;
  /** `none` for a step whose output is a credential. */
  readonly logging?: "stdoutAndStderr" | "none";
}

/**
 * One step of `templates/` run over SSH as `sudo -n env HI_…='…' bash -s` with the script on
 * stdin, re-run only when its triggers change. Every remote step of every component goes
 * through here.
 */
export function remoteStep(name: string, args: RemoteStepArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
  return new command.remote.Command(name, {
    connection: args.connection,
    create: args.create ?? renderStepCommand(args.step),
    stdin: args.stdin ?? args.step.script,
    // Re-run when the script or its inputs change; otherwise a re-deploy leaves the host alone.
    triggers: [...(args.triggers ?? [args.step.sha256])],
    logging: args.logging ?? "stdoutAndStderr",
  }, opts);
}

/**
 * Options for a child whose name gained its component's prefix after v0.1.0: an alias to the old
 * name, so a stack deployed with v0.1.0 keeps its resources instead of replacing them.
 */
export function withLegacyName<T extends pulumi.ResourceOptions>(opts: T, legacyName: string | undefined): T {
  return legacyName === undefined ? opts : { ...opts, aliases: [...(opts.aliases ?? []), { name: legacyName }] };
}
