/**
 * `npm test` runs the suite in two lanes side by side (scripts/run-tests.sh, the projects of
 * vitest.config.mts). What a user relies on: every test file still runs, exactly once; a
 * failure in either lane fails `npm test` with that lane's status and says which lane; the
 * lanes really overlap (that is the point: the suite is mostly waiting); an interrupted run
 * leaves no test process behind; and arguments still mean what they meant with plain vitest.
 * The script itself runs here, copied beside a stub `vitest` that records what it was asked.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const REPO = path.resolve(__dirname, "..", "..");
const SCRIPT = path.join(REPO, "scripts", "run-tests.sh");

function testFiles(dir: string): string[] {
  return readdirSync(path.join(REPO, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(path.join(dir, e.name)) : e.name.endsWith(".test.ts") ? [path.join(dir, e.name)] : [],
  );
}

describe("the two lanes of vitest.config.mts", () => {
  it("together hold every test file under test/, each in exactly one lane, and the waiting lane holds the timer-bound files", () => {
    const out = execFileSync(path.join(REPO, "node_modules", ".bin", "vitest"), ["list", "--filesOnly", "--json"], {
      cwd: REPO,
      encoding: "utf8",
      env: { ...process.env, VITE_CONFIG_NATIVE_IGNORE_WARNING: "true" },
    });
    const listed = JSON.parse(out) as { file: string; projectName: string }[];
    const byFile = new Map<string, string[]>();
    for (const { file, projectName } of listed) byFile.set(path.relative(REPO, file), [...(byFile.get(path.relative(REPO, file)) ?? []), projectName]);
    expect([...byFile.keys()].sort()).toEqual(testFiles("test").sort());
    expect([...byFile.entries()].filter(([, lanes]) => lanes.length !== 1)).toEqual([]);
    const waiting = [...byFile.entries()].filter(([, [lane]]) => lane === "waiting").map(([f]) => f);
    expect(waiting).toEqual(expect.arrayContaining(["test/router-ext/spill.test.ts", "test/router-ext/hang.test.ts", "test/monitoring/live-prometheus.test.ts"]));
    // The router tests without the extension stay in the main lane: no two router proxies under load at once.
    expect(waiting.filter((f) => f.startsWith("test/router/"))).toEqual([]);
  });
});

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/**
 * A copy of scripts/run-tests.sh with a stub node_modules/.bin/vitest. The stub logs its
 * arguments and start and end times to log/<lane>, prints a line, sleeps `sleep[lane]`
 * seconds and exits `exit[lane]` (lane: the --project value, or "args" without one).
 */
function sandbox(behaviour: { sleep?: Record<string, number>; exit?: Record<string, number> }): string {
  dir = mkdtempSync(path.join(tmpdir(), "hi-run-tests-"));
  mkdirSync(path.join(dir, "scripts"));
  mkdirSync(path.join(dir, "node_modules", ".bin"), { recursive: true });
  mkdirSync(path.join(dir, "log"));
  copyFileSync(SCRIPT, path.join(dir, "scripts", "run-tests.sh"));
  const table = (m: Record<string, number> | undefined, fallback: number): string =>
    `case "$lane" in ${Object.entries(m ?? {}).map(([k, v]) => `${k}) echo ${v};;`).join(" ")} *) echo ${fallback};; esac`;
  const stub = [
    "#!/usr/bin/env bash",
    "set -euo pipefail",
    'lane=args; prev=""',
    'for a in "$@"; do if [[ "$prev" == --project ]]; then lane="$a"; fi; prev="$a"; done',
    'log="$(dirname "$0")/../../log/$lane"',
    'echo "args $*" >> "$log"; echo "pid $$" >> "$log"; echo "start $(date +%s%N)" >> "$log"',
    'echo "hello from $lane"',
    `sleep "$(${table(behaviour.sleep, 0)})"`,
    'echo "end $(date +%s%N)" >> "$log"',
    `exit "$(${table(behaviour.exit, 0)})"`,
  ].join("\n");
  writeFileSync(path.join(dir, "node_modules", ".bin", "vitest"), `${stub}\n`);
  chmodSync(path.join(dir, "node_modules", ".bin", "vitest"), 0o755);
  return dir;
}

const logOf = (d: string, lane: string): Record<string, string> =>
  Object.fromEntries(
    readFileSync(path.join(d, "log", lane), "utf8")
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)]),
  );

function run(d: string, args: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("bash", [path.join(d, "scripts", "run-tests.sh"), ...args], { encoding: "utf8", timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("scripts/run-tests.sh", () => {
  it("runs both lanes at the same time, each line marked with its lane, and passes when both pass", () => {
    const d = sandbox({ sleep: { waiting: 1, main: 1 } });
    const r = run(d);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("[waiting] hello from waiting");
    expect(r.stdout).toContain("[main] hello from main");
    expect(r.stdout).toMatch(/^\[main\] lane finished: exit 0 after \d+ s, load /m);
    expect(r.stdout).toMatch(/^test lanes done in \d+ s \(exit 0\)/m);
    const [w, m] = [logOf(d, "waiting"), logOf(d, "main")];
    expect(w["args"]).toBe("run --project waiting");
    expect(m["args"]).toBe("run --project main");
    // Each started before the other ended: side by side, not one after the other.
    expect(BigInt(w["start"]!)).toBeLessThan(BigInt(m["end"]!));
    expect(BigInt(m["start"]!)).toBeLessThan(BigInt(w["end"]!));
  });

  it("fails with the failing lane's status, names the lane, and still waits for the other lane to finish", () => {
    const d = sandbox({ sleep: { waiting: 2 }, exit: { main: 3 } });
    const r = run(d);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain("lane main failed (exit 3): see its [main] lines above");
    expect(r.stdout).toContain("[waiting] lane finished: exit 0");
    expect(logOf(d, "waiting")["end"]).toBeDefined();
  });

  it("reports the first failing lane's status when both fail", () => {
    const r = run(sandbox({ exit: { waiting: 1, main: 2 } }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("lane waiting failed (exit 1)");
    expect(r.stderr).toContain("lane main failed (exit 2)");
  });

  it("with arguments, runs one plain `vitest run` with them, as `npm test -- <filter>` always did", () => {
    const d = sandbox({ exit: { args: 4 } });
    const r = run(d, ["test/plan", "-t", "fits"]);
    expect(r.status).toBe(4);
    expect(logOf(d, "args")["args"]).toBe("run test/plan -t fits");
    expect(existsSync(path.join(d, "log", "waiting")) || existsSync(path.join(d, "log", "main"))).toBe(false);
  });

  it("stops both lanes' processes when it is interrupted", async () => {
    const d = sandbox({ sleep: { waiting: 60, main: 60 } });
    const child = spawn("bash", [path.join(d, "scripts", "run-tests.sh")], { stdio: "ignore" });
    const started = Date.now();
    while (!(existsSync(path.join(d, "log", "waiting")) && existsSync(path.join(d, "log", "main")) && logOf(d, "main")["start"] && logOf(d, "waiting")["start"])) {
      if (Date.now() - started > 10_000) throw new Error("the lanes did not start within 10 s");
      await new Promise((r) => setTimeout(r, 50));
    }
    const pids = ["waiting", "main"].map((lane) => Number(logOf(d, lane)["pid"]));
    const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(143);
    const alive = (pid: number): boolean => {
      try {
        return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
      } catch {
        return false; // gone
      }
    };
    for (let i = 0; i < 40 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
    expect(pids.filter(alive)).toEqual([]);
  });
});
