/**
 * `pulumi preview` of every stack in stacks/ with the real Pulumi engine (the CLI and plugins
 * built by scripts/build-pulumi.sh): the engine reads the stack file, decrypts its secrets
 * (passphrase provider; each placeholder replaced with `pulumi config set --secret` of a test
 * value), runs the program and plans every resource with the real providers. Mocks prove what
 * the program asks for; this proves the engine accepts it.
 *
 * Each stack has two tests:
 * - the full preview, which needs the CLI and the stack's provider plugins;
 * - while those plugins cannot be built (see scripts/build-pulumi.sh), a shorter check with the
 *   CLI alone: the real engine hands the stack's config and secrets to the program, which
 *   validates them, plans and registers its first resources; the engine then stops at the
 *   first provider it cannot load, and that must be the only error.
 *
 * Skipped with the build script's reason when a binary is missing; HI_REQUIRE_ENGINE=1 fails instead.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type BinaryName, REPO, findToolchain, missing, pluginsFor, skipUnlessBuilt } from "./toolchain";
import { type EngineStack, createEngineStack, errorDiagnostics, lastOutput, readStackFile, recorder, resourceSteps } from "./workspace";

const tc = findToolchain();
const STACKS_DIR = path.join(REPO, "stacks");
const stackFiles = readdirSync(STACKS_DIR)
  .filter((f) => /^Pulumi\..+\.ya?ml$/.test(f))
  .sort()
  .map((f) => readStackFile(path.join(STACKS_DIR, f)));

/** A real OpenSSH key for the SSH-key secret (the command provider parses it); a dummy string without ssh-keygen. */
function throwawayKey(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "hi-key-"));
  try {
    const file = path.join(dir, "id_ed25519");
    const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "hybrid-inference-preview", "-f", file]);
    return r.status === 0 ? readFileSync(file, "utf8") : "-----BEGIN OPENSSH PRIVATE KEY-----\ntest\n-----END OPENSSH PRIVATE KEY-----\n";
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const SSH_KEY = throwawayKey();

const open: EngineStack[] = [];
afterAll(() => {
  for (const es of open) es.cleanup();
});

async function stackFor(file: string, sshKeySecret: string): Promise<EngineStack> {
  const es = await createEngineStack(tc, { stackFile: file, secrets: { [sshKeySecret]: SSH_KEY } });
  open.push(es);
  return es;
}

function sshKeySecretOf(config: Record<string, unknown>): string {
  const access = config["hybrid-inference:access"];
  const key = typeof access === "object" && access !== null ? (access as Record<string, unknown>)["ssh_private_key_secret"] : undefined;
  return typeof key === "string" ? key : "sshPrivateKey";
}

/** The component types each stack's program must register, by target. */
function expectedComponents(target: string): string[] {
  return target === "kubernetes" ? [] : ["hybrid:index:HybridInference", "hybrid:host:GpuHost"];
}

describe.each(stackFiles)("stack $name (real engine)", (sf) => {
  const plugins: BinaryName[] = pluginsFor(sf.target).map((p) => `pulumi-resource-${p}` as const);
  const fullMissing = missing(tc, ["pulumi", ...plugins]);
  const sshKeySecret = sshKeySecretOf(sf.config);

  it("pulumi preview succeeds with the real providers", async (ctx) => {
    skipUnlessBuilt(ctx, fullMissing);
    const es = await stackFor(sf.file, sshKeySecret);
    let error: unknown;
    try {
      await es.stack.preview({ ...recorder(es), diff: false });
    } catch (e) {
      error = e;
    }
    expect(errorDiagnostics(es), lastOutput(es)).toEqual([]);
    expect(error, lastOutput(es)).toBeUndefined();
    const steps = resourceSteps(es);
    expect(steps.every((s) => s.op === "create" || s.op === "same"), lastOutput(es)).toBe(true);
    const types = new Set(steps.map((s) => s.type));
    for (const t of expectedComponents(sf.target)) expect(types, lastOutput(es)).toContain(t);
    if (sf.target !== "kubernetes") {
      // Every host is bootstrapped over SSH: nine steps each.
      const hosts = (sf.config["hybrid-inference:hosts"] as unknown[]).length;
      expect(steps.filter((s) => s.type === "command:remote:Command" && s.urn.includes("GpuHost")).length).toBeGreaterThanOrEqual(9 * hosts);
    }
  }, 300_000);

  it("the real engine passes the stack's config and secrets to the program, which plans and registers resources", async (ctx) => {
    if (fullMissing.length === 0) ctx.skip("covered by the full preview above");
    skipUnlessBuilt(ctx, missing(tc, ["pulumi"]));
    const es = await stackFor(sf.file, sshKeySecret);
    let error: unknown;
    try {
      await es.stack.preview({ ...recorder(es), diff: false });
    } catch (e) {
      error = e;
    }
    // The only errors allowed: a provider plugin that is not built here (it is never downloaded).
    const errors = errorDiagnostics(es);
    const other = errors.filter((d) => !/no resource plugin 'pulumi-resource-(command|docker|random|kubernetes)' found/.test(d));
    expect(other, lastOutput(es)).toEqual([]);
    if (error === undefined) expect(errors).toEqual([]);
    // The program got past config validation and planning (a RunError would have stopped it
    // before any resource) and registered the stack's component(s).
    const types = resourceSteps(es).map((s) => s.type);
    expect(types, lastOutput(es)).toContain("pulumi:pulumi:Stack");
    expect(types.some((t) => t.startsWith("hybrid:")), lastOutput(es)).toBe(true);
    expect(lastOutput(es)).not.toMatch(/PLACEHOLDER|failed to decrypt|incorrect passphrase/i);
  }, 120_000);
});
