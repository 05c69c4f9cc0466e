/**
 * The Pulumi CLI and plugins built by scripts/build-pulumi.sh, and the environment the engine
 * tests run them in.
 *
 * The binaries live in `<cache>/<cli version>/bin` (the version in `<cache>/current`, or
 * HI_PULUMI_VERSION), where `<cache>` is HI_PULUMI_CACHE or ~/.cache/hybrid-inference/pulumi,
 * as in the build script. A binary the script could not build has its
 * reason in `status/<name>.missing` (e.g. the module proxy's 403), which the tests quote when
 * they skip. With HI_REQUIRE_ENGINE=1 (CI: .ci/run) a missing binary of {@link REQUIRED_BINARIES}
 * fails the test instead; the known-unbuildable ones ({@link KNOWN_UNBUILDABLE}) still skip
 * with their reason.
 *
 * Everything the CLI writes goes under a per-test temp directory: PULUMI_HOME, the file
 * backend's state, the SSH key file. Nothing may download a plugin
 * (PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION) or check for updates.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

export const REPO = path.resolve(__dirname, "..", "..");
export const PROJECT = "hybrid-inference";
export const PASSPHRASE = "engine-test-passphrase";

export type PluginName = "command" | "docker" | "random" | "kubernetes";
export type BinaryName = "pulumi" | "pulumi-language-nodejs" | `pulumi-resource-${PluginName}`;

export interface Toolchain {
  /** CLI version, e.g. v3.274.1, or undefined when the build script never ran. */
  readonly version: string | undefined;
  /** `<cache>/<version>`: the Automation API's `PulumiCommand.get({ root })` looks in `root/bin`. */
  readonly root: string;
  readonly bin: string;
  /** Path of a built binary, or undefined. */
  path(name: BinaryName): string | undefined;
  /** Why a binary is absent: the build script's recorded error, or a hint to run it. */
  whyMissing(name: BinaryName): string;
  /** The version a binary was built at, from its stamp (status/<name>.ok: `module@v1.2.1`), e.g. "1.2.1". */
  builtVersion(name: BinaryName): string | undefined;
}

/** Where scripts/build-pulumi.sh puts its builds (keep the two in step). */
export function pulumiCacheRoot(): string {
  const xdg = process.env["XDG_CACHE_HOME"] ?? path.join(homedir(), ".cache");
  return process.env["HI_PULUMI_CACHE"] ?? path.join(xdg, "hybrid-inference", "pulumi");
}

export function findToolchain(): Toolchain {
  const cacheRoot = pulumiCacheRoot();
  const currentFile = path.join(cacheRoot, "current");
  const version = process.env["HI_PULUMI_VERSION"] ?? (existsSync(currentFile) ? readFileSync(currentFile, "utf8").trim() : undefined);
  const root = path.join(cacheRoot, version ?? "unbuilt");
  const bin = path.join(root, "bin");
  return {
    version,
    root,
    bin,
    path(name) {
      const file = path.join(bin, name);
      return existsSync(file) ? file : undefined;
    },
    builtVersion(name) {
      const stamp = path.join(root, "status", `${name}.ok`);
      if (!existsSync(stamp)) return undefined;
      return /@v?(\d+\.\d+\.\d+\S*)$/.exec(readFileSync(stamp, "utf8").split("\n")[0] ?? "")?.[1];
    },
    whyMissing(name) {
      const status = path.join(root, "status", `${name}.missing`);
      if (existsSync(status)) return `${name} could not be built: ${readFileSync(status, "utf8").trim()}`;
      return `${name} is not built: run 'bash scripts/build-pulumi.sh' (builds the Pulumi CLI and plugins into ${pulumiCacheRoot()})`;
    },
  };
}

/** The plugin version the installed npm SDK asks for (its package.json `pulumi.version`), e.g. "1.2.1". */
export function npmPluginVersion(plugin: PluginName): string {
  const pkg = JSON.parse(readFileSync(path.join(REPO, "node_modules", "@pulumi", plugin, "package.json"), "utf8")) as { version: string; pulumi?: { version?: string } };
  return pkg.pulumi?.version ?? pkg.version;
}

/** Plugins the built toolchain has at another version than the npm SDK asks for (built with HI_<NAME>_PLUGIN_VERSION). */
export function mismatchedPlugins(tc: Toolchain, plugins: readonly PluginName[]): PluginName[] {
  return plugins.filter((p) => {
    const built = tc.builtVersion(`pulumi-resource-${p}`);
    return built !== undefined && built !== npmPluginVersion(p);
  });
}

/**
 * Plugins named in the engine's version warnings in `output` ("resource plugin kubernetes is
 * expected to have version >=A, but has B", for a plugin built at B): the engine runs a plugin found on PATH
 * whatever its version, and says so when it is older than the SDK's.
 */
export function versionWarnings(output: string): string[] {
  return [...new Set([...output.matchAll(/resource plugin (\S+) is expected to have version/g)].map((m) => m[1] ?? ""))].sort();
}

/** Plugins a stack's program loads: its target's providers. */
export function pluginsFor(target: string): PluginName[] {
  return target === "kubernetes" ? ["command", "kubernetes", "random"] : ["command", "docker", "random"];
}

/** Something a test needs that is not here, why, and whether HI_REQUIRE_ENGINE=1 makes that a failure. */
export interface Unavailable {
  readonly what: string;
  readonly reason: string;
  /** True when CI must have it: a missing required thing fails under HI_REQUIRE_ENGINE=1. */
  readonly required: boolean;
}

/**
 * What HI_REQUIRE_ENGINE=1 requires: the binaries scripts/build-pulumi.sh can build on this
 * project's machines (the CLI from the module proxy; command and random from the source
 * snapshots in ../shared/third_party; kubernetes from the one provider/v4 version the proxy
 * serves, the 4.25.0 release, which is why package.json pins @pulumi/kubernetes at 4.25.0).
 * With them the `pulumi up` test and the prod-k8s full preview must run.
 */
export const REQUIRED_BINARIES: readonly BinaryName[] = ["pulumi", "pulumi-resource-command", "pulumi-resource-random", "pulumi-resource-kubernetes"];

/**
 * The binaries that cannot be built here, and why in short (status/<name>.missing has the
 * build script's detail). Their tests skip with the reason even under HI_REQUIRE_ENGINE=1; a
 * machine that has them (e.g. `pulumi plugin install`ed into this cache's bin) runs them.
 */
export const KNOWN_UNBUILDABLE: Readonly<Record<Exclude<BinaryName, "pulumi" | "pulumi-resource-command" | "pulumi-resource-random" | "pulumi-resource-kubernetes">, string>> = {
  "pulumi-language-nodejs": "the module proxy refuses its module (the program runs through the Automation API's inline runtime instead)",
  "pulumi-resource-docker":
    "the module proxy refuses it, and it is a Terraform-bridged provider whose go.mod replaces directories no published module contains; a preview would also dial each stack's Docker host over SSH, which must never be contacted from here",
};

/** True under HI_REQUIRE_ENGINE=1 (CI). */
export function engineRequired(): boolean {
  return process.env["HI_REQUIRE_ENGINE"] === "1";
}

/** The binaries missing from `needs`, each with its reason; empty when all are built. */
export function missing(tc: Toolchain, needs: readonly BinaryName[]): Unavailable[] {
  return needs
    .filter((n) => tc.path(n) === undefined)
    .map((n) => ({ what: n, reason: tc.whyMissing(n), required: REQUIRED_BINARIES.includes(n) }));
}

/**
 * How the program runs. With `pulumi-language-nodejs` the CLI runs the project as users do
 * (`node @pulumi/pulumi/cmd/run` with ts-node, Pulumi.yaml's runtime options). Without it, the
 * Automation API's inline program: the CLI connects to a language runtime inside the test
 * process (`--client`), which runs the same index.ts; everything else (engine, config, secrets,
 * providers, state) is the same.
 */
export function programMode(tc: Toolchain): "project" | "inline" {
  return tc.path("pulumi-language-nodejs") ? "project" : "inline";
}

interface SkipContext {
  skip(note?: string): never;
}

/**
 * Skips the test, quoting why each missing thing is missing; under HI_REQUIRE_ENGINE=1 (CI must
 * not skip silently) fails instead when any of them is required, and says in the skip note
 * when none is (known unbuildable here).
 */
export function skipUnlessBuilt(ctx: SkipContext, unavailable: readonly Unavailable[]): void {
  if (unavailable.length === 0) return;
  const message = `real-engine test needs what is not here: ${unavailable.map((u) => u.reason).join("; ")}`;
  if (engineRequired()) {
    const required = unavailable.filter((u) => u.required).map((u) => u.what);
    if (required.length > 0) throw new Error(`${message} (HI_REQUIRE_ENGINE=1 requires ${required.join(", ")})`);
    ctx.skip(`${message} (known unbuildable here: not required by HI_REQUIRE_ENGINE=1)`);
  }
  ctx.skip(message);
}

/**
 * Environment of every CLI run: isolated PULUMI_HOME and backend, passphrase secrets, no
 * update checks, no plugin downloads, the built binaries and Node 22 (node_modules/.bin)
 * first on PATH. Variables a CI might set globally that would send the CLI elsewhere
 * (PULUMI_ACCESS_TOKEN, a cloud PULUMI_BACKEND_URL) are overridden.
 */
export function engineEnv(tc: Toolchain, dirs: { home: string; state: string; keyDir: string }): Record<string, string> {
  return {
    PATH: [tc.bin, path.join(REPO, "node_modules", ".bin"), process.env["PATH"] ?? "/usr/bin:/bin"].join(path.delimiter),
    PULUMI_HOME: dirs.home,
    PULUMI_BACKEND_URL: `file://${dirs.state}`,
    PULUMI_ACCESS_TOKEN: "",
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    PULUMI_CONFIG_PASSPHRASE_FILE: "",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    HYBRID_INFERENCE_KEY_DIR: dirs.keyDir,
    NO_COLOR: "1",
  };
}

const execFileAsync = promisify(execFile);

/** Runs the built CLI directly (for what the Automation API does not wrap, e.g. `login`). */
export async function runCli(tc: Toolchain, args: readonly string[], env: Record<string, string>, cwd: string): Promise<string> {
  const cli = tc.path("pulumi");
  if (!cli) throw new Error(tc.whyMissing("pulumi"));
  const { stdout } = await execFileAsync(cli, [...args, "--non-interactive"], { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}
