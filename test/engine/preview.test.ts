/**
 * `pulumi preview` of every stack in stacks/ with the real Pulumi engine (the CLI and plugins
 * built by scripts/build-pulumi.sh): the engine reads the stack file, decrypts its secrets
 * (passphrase provider; each placeholder replaced with `pulumi config set --secret` of a test
 * value), runs the program and plans every resource with the real providers. Mocks prove what
 * the program asks for; this proves the engine accepts it.
 *
 * Each stack has two tests:
 * - the full preview, which needs the CLI and the stack's provider plugins. It runs in a child
 *   process inside a network namespace whose only interface is `lo` (netns.ts), so it can
 *   contact nothing but loopback whatever a provider tries. None should try: on a fresh stack
 *   every provider whose config comes from another resource's output is unconfigured during
 *   preview (pulumi/pkg resource/plugin/provider_plugin.go: the engine does not call Configure
 *   while an input is unknown, and then answers Check/Diff/Create itself), and that is the case
 *   for everything that reaches a host: the Kubernetes provider's kubeconfig is K3sCluster's
 *   remote command output, the Docker provider's host is known only once the GPU host is
 *   verified, and the command provider runs nothing in a preview. The namespace makes that a
 *   fact rather than an argument.
 *   The Docker plugin is known unbuildable here (toolchain.ts KNOWN_UNBUILDABLE), so the
 *   docker-target previews skip with its reason, even under HI_REQUIRE_ENGINE=1; prod-k8s's
 *   runs, with the Kubernetes plugin built at the version @pulumi/kubernetes is pinned at.
 * - while those plugins are missing, a shorter check with the CLI and the plugins that are
 *   built: the real engine hands the stack's config and secrets to the program, which
 *   validates them, plans and registers its first resources; the engine then stops at the
 *   first provider it cannot load, and that must be the only error.
 *
 * Skipped with the build script's reason when a binary is missing; HI_REQUIRE_ENGINE=1 fails
 * instead when the missing binary is one this machine can build (toolchain.ts REQUIRED_BINARIES).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { BOOTSTRAP_STEPS } from "../../core/render/host-bootstrap";
import { netnsMissing, networkView, runIsolated } from "./netns";
import type { PreviewRequest, PreviewResult } from "./preview-child";
import { type BinaryName, REPO, findToolchain, mismatchedPlugins, missing, pluginsFor, skipUnlessBuilt, versionWarnings } from "./toolchain";
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
  const es = await createEngineStack(tc, { stackFile: file, secrets: { [sshKeySecret]: SSH_KEY }, resetModules: () => vi.resetModules() });
  open.push(es);
  return es;
}

const isolation = netnsMissing();

/** The full preview of `file`, run by preview-child.ts in a network namespace with only `lo`. */
async function isolatedPreview(file: string, secrets: Record<string, string>): Promise<PreviewResult> {
  const dir = mkdtempSync(path.join(tmpdir(), "hi-preview-"));
  try {
    const request: PreviewRequest = { stackFile: file, secrets, result: path.join(dir, "result.json") };
    const requestFile = path.join(dir, "request.json");
    writeFileSync(requestFile, JSON.stringify(request), { mode: 0o600 });
    const tsx = path.join(REPO, "node_modules", ".bin", "tsx");
    const run = await runIsolated([process.execPath, tsx, path.join(__dirname, "preview-child.ts"), requestFile], {}, REPO, 280_000);
    if (run.status !== 0) throw new Error(`preview-child exited with ${String(run.status)}:\n${run.stderr.slice(-4000)}\n${run.stdout.slice(-2000)}`);
    return JSON.parse(readFileSync(request.result, "utf8")) as PreviewResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function sshKeySecretOf(config: Record<string, unknown>): string {
  const access = config["hybrid-inference:access"];
  const key = typeof access === "object" && access !== null ? (access as Record<string, unknown>)["ssh_private_key_secret"] : undefined;
  return typeof key === "string" ? key : "sshPrivateKey";
}

/** The component types each stack's program must register, by target. */
function expectedComponents(target: string): string[] {
  return target === "kubernetes" ? ["hybrid:k8s:HybridInference", "hybrid:k8s:K3sCluster"] : ["hybrid:index:HybridInference", "hybrid:host:GpuHost"];
}

describe.each(stackFiles)("stack $name (real engine)", (sf) => {
  const plugins: BinaryName[] = pluginsFor(sf.target).map((p) => `pulumi-resource-${p}` as const);
  const fullMissing = missing(tc, ["pulumi", ...plugins]);
  const sshKeySecret = sshKeySecretOf(sf.config);

  it("pulumi preview succeeds with the real providers, in a network namespace with only lo", async (ctx) => {
    skipUnlessBuilt(ctx, [...fullMissing, ...isolation]);
    const r = await isolatedPreview(sf.file, { [sshKeySecret]: SSH_KEY });
    // Where it ran: a namespace of its own, nothing but lo, no route anywhere.
    expect(r.network.namespace).not.toBe(networkView().namespace);
    expect(r.network.interfaces).toEqual(["lo"]);
    expect(r.network.ipv4Routes).toEqual([]);

    expect(r.errors, r.output).toEqual([]);
    expect(r.error, r.output).toBeUndefined();
    // Each plugin reports the version the SDK asks for; the engine warns about one that does
    // not, which only a plugin deliberately built at another version may (HI_<NAME>_PLUGIN_VERSION).
    expect(versionWarnings(r.output), r.output).toEqual(mismatchedPlugins(tc, pluginsFor(sf.target)).sort());
    expect(r.steps.every((s) => s.op === "create" || s.op === "same"), r.output).toBe(true);
    const types = new Set(r.steps.map((s) => s.type));
    for (const t of expectedComponents(sf.target)) expect(types, r.output).toContain(t);
    if (sf.target === "kubernetes") {
      // The cluster and its workloads: an explicit provider, the engines' and the router's
      // Deployments, and no default provider (nothing may use an ambient kubeconfig). On a fresh
      // stack the provider's kubeconfig is unknown, so the engine loads the real plugin and has
      // it check its config, but plans these resources without calling it (see above).
      expect(types, r.output).toContain("pulumi:providers:kubernetes");
      expect(r.steps.filter((s) => s.type === "kubernetes:apps/v1:Deployment").length, r.output).toBeGreaterThanOrEqual(2);
      expect(r.steps.filter((s) => s.type === "pulumi:providers:kubernetes" && s.urn.includes("::default")), r.output).toEqual([]);
    } else {
      // Every host is bootstrapped over SSH: every bootstrap step on each.
      const hosts = (sf.config["hybrid-inference:hosts"] as unknown[]).length;
      expect(r.steps.filter((s) => s.type === "command:remote:Command" && s.urn.includes("GpuHost")).length).toBeGreaterThanOrEqual(BOOTSTRAP_STEPS.length * hosts);
    }
  }, 300_000);

  it("the real engine passes the stack's config and secrets to the program, which plans and registers resources", async (ctx) => {
    if (fullMissing.length === 0 && isolation.length === 0) ctx.skip("covered by the full preview above");
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
