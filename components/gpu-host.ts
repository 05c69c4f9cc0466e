import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { HostPlan } from "../core/plan/types";
import { type BootstrapStep, type GpuInventory, parseGpuInventory, renderHostBootstrap, renderStepCommand } from "../core/render/host-bootstrap";

export interface GpuHostArgs {
  /** The host's part of the deployment plan (`plan().plan.hosts[i]`). */
  readonly host: HostPlan;
  /** SSH private key of `host.sshUser`, from a Pulumi secret. */
  readonly privateKey: pulumi.Input<string>;
  /**
   * Local file holding the same key, for the reboot wait (run by the local `ssh` client,
   * which, like the Docker provider, cannot take key material).
   */
  readonly privateKeyFile: pulumi.Input<string>;
}

/** Step whose stdout announces a reboot; the next step waits for the host to come back. */
const REBOOT_STEP = "reboot-if-required";
const VERIFY_STEP = "verify-gpus";
const WAIT_SCRIPT = path.join(__dirname, "..", "templates", "local", "wait-for-reboot.sh");

/**
 * A bare Ubuntu server brought to a verified GPU container host over SSH: preflight,
 * NVIDIA driver (and reboot), container toolkit, Docker, firewall, model cache, and a
 * check that the cards found are the cards declared. Each step is a real script in
 * `templates/host/`, re-run only when its text or inputs change (its hash is a trigger).
 */
export class GpuHost extends pulumi.ComponentResource {
  /** What `nvidia-smi` reported after bootstrap. */
  public readonly inventory: pulumi.Output<GpuInventory>;
  /** `ssh://user@address:port`, known only once the host is verified, so the Docker provider dials a ready daemon. */
  public readonly dockerHost: pulumi.Output<string>;
  /** How later steps on this host (the weight prefetch) reach it over SSH. */
  public readonly connection: command.types.input.remote.ConnectionArgs;

  constructor(name: string, args: GpuHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hybrid:host:GpuHost", name, {}, opts);
    const { host } = args;
    const connection: command.types.input.remote.ConnectionArgs = {
      host: host.address,
      port: host.sshPort,
      user: host.sshUser,
      privateKey: args.privateKey,
      // The host may be mid-reboot or still booting when a step starts.
      dialErrorLimit: 30,
      perDialTimeout: 20,
    };
    this.connection = connection;

    let previous: pulumi.Resource | undefined;
    let verify: command.remote.Command | undefined;
    const steps = renderHostBootstrap(host.bootstrap);
    for (const step of steps) {
      // The card check re-runs after any change to the bootstrap, not only its own.
      const triggers = step.name === VERIFY_STEP ? steps.map((s) => s.sha256) : [step.sha256];
      const cmd = this.step(name, step, triggers, connection, previous);
      previous = cmd;
      if (step.name === REBOOT_STEP) previous = this.waitForReboot(name, host, cmd, args.privateKeyFile);
      if (step.name === VERIFY_STEP) verify = cmd;
    }
    if (!verify) throw new pulumi.ResourceError("the bootstrap has no verify-gpus step", this);

    this.inventory = verify.stdout.apply((out) => {
      try {
        return parseGpuInventory(out);
      } catch (e) {
        throw new pulumi.ResourceError(`host "${host.name}": ${(e as Error).message}; its output was:\n${out.slice(-2000)}`, this);
      }
    });
    this.dockerHost = pulumi.all([verify.stdout]).apply(() => `ssh://${host.sshUser}@${host.address}:${host.sshPort}`);
    this.registerOutputs({ inventory: this.inventory, dockerHost: this.dockerHost });
  }

  private step(name: string, step: BootstrapStep, triggers: string[], connection: command.types.input.remote.ConnectionArgs, after?: pulumi.Resource): command.remote.Command {
    return new command.remote.Command(`${name}-${step.name}`, {
      connection,
      create: renderStepCommand(step),
      stdin: step.script,
      // Re-run when the script or its inputs change; otherwise a re-deploy leaves the host alone.
      triggers,
      logging: "stdoutAndStderr",
    }, { parent: this, dependsOn: after ? [after] : [], deleteBeforeReplace: true });
  }

  private waitForReboot(name: string, host: HostPlan, reboot: command.remote.Command, keyFile: pulumi.Input<string>): command.local.Command {
    const bootId = reboot.stdout.apply((out) => /^HI_BOOT_ID=(\S+)$/m.exec(out)?.[1] ?? "");
    return new command.local.Command(`${name}-wait-for-reboot`, {
      // The script goes on stdin so the command does not depend on where the repo is checked out.
      create: "bash -s",
      stdin: readFileSync(WAIT_SCRIPT, "utf8"),
      environment: {
        HI_HOST: host.address,
        HI_PORT: String(host.sshPort),
        HI_USER: host.sshUser,
        HI_KEY_FILE: keyFile,
        HI_OLD_BOOT_ID: bootId,
        HI_TIMEOUT_S: "900",
      },
      triggers: [reboot.id],
    }, { parent: this, dependsOn: [reboot] });
  }
}
