import * as pulumi from "@pulumi/pulumi";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

/**
 * The Docker provider and the local reboot wait both shell out to OpenSSH, which takes a
 * key only from a file or an agent (the Docker provider takes no key material). So the
 * key from the Pulumi secret is written to a 0600 file in a 0700 directory owned by the
 * user running Pulumi. It is kept after the run on purpose: deletes of replaced
 * containers run after the program itself has finished, and they need it too.
 * Set HYBRID_INFERENCE_KEY_DIR to choose the directory (e.g. a tmpfs in CI).
 */
export function sshKeyFile(stack: string, privateKey: pulumi.Output<string>): pulumi.Output<string> {
  return privateKey.apply((key) => writeOwnFile(stack, "ssh_key", key.endsWith("\n") ? key : `${key}\n`));
}

/**
 * The `known_hosts` file that pins the bastion's host key for the same OpenSSH clients
 * (core/render/ssh-access.ts bastionKnownHostsLine), next to the key file.
 */
export function sshKnownHostsFile(stack: string, content: string): string {
  return writeOwnFile(stack, "bastion_known_hosts", content);
}

/** Writes `name` (0600) in the stack's 0700 directory; returns its path. */
function writeOwnFile(stack: string, name: string, content: string): string {
  const dir = path.join(process.env["HYBRID_INFERENCE_KEY_DIR"] ?? tmpdir(), `hybrid-inference-${stack}`);
  const file = path.join(dir, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  writeFileSync(file, content, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}
