/**
 * Every shell script we run (scripts/, .ci/) or ship to hosts (templates/, the workflows core/gitops
 * renders) uses `set -o pipefail`. Under it, a pipeline whose reader stops early (`| head`,
 * `| grep -q`, `| grep -m N`) fails with 141 whenever the writer is still writing when the reader
 * exits: the writer dies of SIGPIPE. That is a race: it passed here for weeks and then ended a CI
 * run after 130 s (`etcd --version | head -n 1` in build-kube.sh), and in the firewall step it would
 * make `if ! rules | grep -q rule` take a wanted rule for a stale one. Readers that consume all
 * their input (`sed -n 1p`, `grep ... >/dev/null`) have no such race.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..", "..");
const DIRS = ["scripts", "templates", ".ci", "core/gitops"];
const SHELLISH = /(\.sh|\.ya?ml|\.ts|\/run)$/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) return f === "node_modules" || f === "__pycache__" ? [] : files(p);
    return SHELLISH.test(p) ? [p] : [];
  });
}

/** A pipe into a reader that may exit before its writer has finished. */
const EARLY_READER = /\|\s*(head\b|grep\s+(-[a-zA-Z]*[qm]|--quiet|--max-count))/;

describe("pipelines under pipefail", () => {
  it("no script pipes into a reader that stops early (head, grep -q, grep -m)", () => {
    const offenders = DIRS.flatMap((d) => files(path.join(ROOT, d))).flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .flatMap((line, i) =>
          EARLY_READER.test(line) && !line.trimStart().startsWith("#")
            ? [`${path.relative(ROOT, file)}:${i + 1}: ${line.trim()} (use sed -n 1p, or grep ... >/dev/null)`]
            : [],
        ),
    );
    expect(offenders).toEqual([]);
  });

  it("the rule it enforces is real: under pipefail, `| head -n 1` can fail a pipeline that `| sed -n 1p` does not", async () => {
    const { spawnSync } = await import("node:child_process");
    // seq writes far more than a pipe buffer holds, so head's early exit always hits it.
    const run = (reader: string): number | null =>
      spawnSync("bash", ["-c", `set -o pipefail; seq 1 1000000 | ${reader} >/dev/null`]).status;
    expect(run("head -n 1")).toBe(141);
    expect(run("sed -n 1p")).toBe(0);
  });
});
