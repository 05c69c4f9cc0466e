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
  const dir = path.join(process.env["HYBRID_INFERENCE_KEY_DIR"] ?? tmpdir(), `hybrid-inference-${stack}`);
  const file = path.join(dir, "ssh_key");
  return privateKey.apply((key) => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    writeFileSync(file, key.endsWith("\n") ? key : `${key}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    return file;
  });
}
