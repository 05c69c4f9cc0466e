/**
 * What HI_REQUIRE_ENGINE=1 (CI, .ci/run) does with a missing binary: a failure, quoting the
 * build script's recorded reason, for the ones this machine can build (the CLI, command,
 * random, kubernetes); a skip with the reason for the known-unbuildable ones (docker, the
 * Node.js language host). Without it, every missing binary is a skip with its reason.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type BinaryName, KNOWN_UNBUILDABLE, REPO, REQUIRED_BINARIES, findToolchain, missing, npmPluginVersion, skipUnlessBuilt } from "./toolchain";

const ALL: readonly BinaryName[] = [
  "pulumi",
  "pulumi-language-nodejs",
  "pulumi-resource-command",
  "pulumi-resource-docker",
  "pulumi-resource-random",
  "pulumi-resource-kubernetes",
];

class Skipped extends Error {}
const ctx = {
  skip(note?: string): never {
    throw new Skipped(note);
  },
};

/** What skipUnlessBuilt did: "fail: …", "skip: …" or "run". */
function outcome(f: () => void): string {
  try {
    f();
    return "run";
  } catch (e) {
    return `${e instanceof Skipped ? "skip" : "fail"}: ${(e as Error).message}`;
  }
}

let cache: string;
const saved = { cache: process.env["HI_PULUMI_CACHE"], version: process.env["HI_PULUMI_VERSION"], require: process.env["HI_REQUIRE_ENGINE"] };

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

beforeEach(() => {
  // A cache as scripts/build-pulumi.sh leaves it: the CLI and random built, command and docker recorded as missing.
  cache = mkdtempSync(path.join(tmpdir(), "hi-toolchain-"));
  const root = path.join(cache, "v3.274.1");
  mkdirSync(path.join(root, "bin"), { recursive: true });
  mkdirSync(path.join(root, "status"), { recursive: true });
  writeFileSync(path.join(cache, "current"), "v3.274.1\n");
  for (const b of ["pulumi", "pulumi-resource-random"]) writeFileSync(path.join(root, "bin", b), "#!/bin/sh\n", { mode: 0o755 });
  writeFileSync(path.join(root, "status", "pulumi-resource-command.missing"), "github.com/pulumi/pulumi-command/provider@v1.2.1: no source snapshot ../shared/third_party/pulumi-command-1.2.1\n");
  writeFileSync(path.join(root, "status", "pulumi-resource-docker.missing"), "github.com/pulumi/pulumi-docker/provider/v5@v5.2.0: module proxy: 403 Forbidden\n");
  process.env["HI_PULUMI_CACHE"] = cache;
  delete process.env["HI_PULUMI_VERSION"];
});

afterEach(() => {
  rmSync(cache, { recursive: true, force: true });
  restore("HI_PULUMI_CACHE", saved.cache);
  restore("HI_PULUMI_VERSION", saved.version);
  restore("HI_REQUIRE_ENGINE", saved.require);
});

describe("HI_REQUIRE_ENGINE's required set", () => {
  it("partitions every binary: required (buildable here) or known unbuildable, with a reason", () => {
    const unbuildable = Object.keys(KNOWN_UNBUILDABLE);
    expect([...REQUIRED_BINARIES, ...unbuildable].sort()).toEqual([...ALL].sort());
    expect(REQUIRED_BINARIES.filter((b) => unbuildable.includes(b))).toEqual([]);
    expect([...REQUIRED_BINARIES]).toEqual(["pulumi", "pulumi-resource-command", "pulumi-resource-random", "pulumi-resource-kubernetes"]);
  });

  it("fails on a missing command plugin under HI_REQUIRE_ENGINE=1, quoting the recorded reason; skips without it", () => {
    const tc = findToolchain();
    const needs = missing(tc, ["pulumi", "pulumi-resource-command", "pulumi-resource-random"]);
    expect(needs.map((n) => n.what)).toEqual(["pulumi-resource-command"]);
    process.env["HI_REQUIRE_ENGINE"] = "1";
    expect(outcome(() => skipUnlessBuilt(ctx, needs))).toBe(
      "fail: real-engine test needs what is not here: pulumi-resource-command could not be built: github.com/pulumi/pulumi-command/provider@v1.2.1: no source snapshot ../shared/third_party/pulumi-command-1.2.1 (HI_REQUIRE_ENGINE=1 requires pulumi-resource-command)",
    );
    delete process.env["HI_REQUIRE_ENGINE"];
    expect(outcome(() => skipUnlessBuilt(ctx, needs))).toMatch(/^skip: real-engine test needs what is not here: pulumi-resource-command could not be built: .*no source snapshot/);
  });

  it("skips on a missing docker plugin even under HI_REQUIRE_ENGINE=1, saying it is known unbuildable", () => {
    const tc = findToolchain();
    process.env["HI_REQUIRE_ENGINE"] = "1";
    expect(outcome(() => skipUnlessBuilt(ctx, missing(tc, ["pulumi", "pulumi-resource-docker", "pulumi-resource-random"])))).toBe(
      "skip: real-engine test needs what is not here: pulumi-resource-docker could not be built: github.com/pulumi/pulumi-docker/provider/v5@v5.2.0: module proxy: 403 Forbidden (known unbuildable here: not required by HI_REQUIRE_ENGINE=1)",
    );
    // Docker and command both missing: the required one decides.
    expect(outcome(() => skipUnlessBuilt(ctx, missing(tc, ["pulumi-resource-docker", "pulumi-resource-command"])))).toMatch(/^fail: .*\(HI_REQUIRE_ENGINE=1 requires pulumi-resource-command\)$/);
  });

  it("runs when everything needed is built", () => {
    const tc = findToolchain();
    process.env["HI_REQUIRE_ENGINE"] = "1";
    expect(outcome(() => skipUnlessBuilt(ctx, missing(tc, ["pulumi", "pulumi-resource-random"])))).toBe("run");
  });

  it("fails on a missing kubernetes plugin under HI_REQUIRE_ENGINE=1: it is buildable here", () => {
    const tc = findToolchain();
    process.env["HI_REQUIRE_ENGINE"] = "1";
    expect(outcome(() => skipUnlessBuilt(ctx, missing(tc, ["pulumi", "pulumi-resource-kubernetes"])))).toMatch(
      /^fail: real-engine test needs what is not here: pulumi-resource-kubernetes is not built: run 'bash scripts\/build-pulumi.sh'.*\(HI_REQUIRE_ENGINE=1 requires pulumi-resource-kubernetes\)$/,
    );
  });
});

describe("the Kubernetes SDK pin", () => {
  it("is the release the build script can build: package.json, the installed SDK and build-pulumi.sh agree", () => {
    // The module proxy serves provider/v4 only at the v4.25.0 release commit; an SDK asking for
    // another version would leave CI without the plugin (and HI_REQUIRE_ENGINE=1 failing).
    const release = /^K8S_PSEUDO_RELEASE="v(\d+\.\d+\.\d+)"$/m.exec(readFileSync(path.join(REPO, "scripts", "build-pulumi.sh"), "utf8"))?.[1];
    const pkg = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(release).toBe("4.25.0");
    expect(pkg.dependencies["@pulumi/kubernetes"], "package.json must pin @pulumi/kubernetes exactly (no ^ or ~)").toBe(release);
    expect(npmPluginVersion("kubernetes")).toBe(release);
  });
});
