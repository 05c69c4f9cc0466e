import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { dockerPart } from "../../core/plan/docker";
import { loadPlan } from "../../core/load";
import { renderHostBootstrap, renderStepCommand } from "../../core/render/host-bootstrap";
import { rawConfig, validValues } from "../fixtures";

const dir = mkdtempSync(path.join(tmpdir(), "hi-hostile-"));
const canary = path.join(dir, "pwned");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Shell metacharacters aimed at creating the canary file if anything is spliced unquoted. */
const hostile = fc.oneof(
  fc.constantFrom(`$(touch ${canary})`, `\`touch ${canary}\``, `'; touch ${canary}; '`, `"; touch ${canary}; "`, `a\nb; touch ${canary}`, `x && touch ${canary}`, `$HOME|touch ${canary}`),
  fc.string({ unit: fc.constantFrom("a", "/", ".", "-", "'", '"', "$", "(", ")", "`", ";", "&", "|", "\\", "\n", " ", "*", "~", "!") }),
);

/** Prints every HI_* variable the command gives the script, NUL-separated. */
const DUMP = 'for v in "${!HI_@}"; do printf "%s=%s\\0" "$v" "${!v}"; done\n';

describe("hostile values in the stack file", () => {
  it("are refused by validation or reach the bootstrap scripts as exact data, never as code", () => {
    fc.assert(fc.property(fc.constantFrom("ssh_user", "cache_dir", "name", "adapter_source", "admin_cidr", "address"), hostile, (field, value) => {
      const v = validValues();
      const host = { ...(v["hosts"] as Record<string, unknown>[])[0]! };
      const access = { ...(v["access"] as Record<string, unknown>) };
      if (field === "ssh_user") host["ssh_user"] = value;
      if (field === "name") host["name"] = value;
      if (field === "address") host["address"] = value;
      if (field === "cache_dir") access["cache_dir"] = value;
      if (field === "admin_cidr") access["admin_cidrs"] = [value];
      const adapters = field === "adapter_source" ? [{ name: "a1", source: value, rank: 8, base_model: "qwen2.5-7b-instruct" }] : [];
      const { plan } = loadPlan(rawConfig({ ...v, hosts: [host], access, adapters }));
      if (!plan) return; // refused, with an error list (see the fuzz tests)
      for (const step of renderHostBootstrap(dockerPart(plan).hosts[0]!.bootstrap)) {
        const command = renderStepCommand(step).replace(/^sudo -n /, "");
        // A session variable (the deploy's own SSH_CONNECTION) is copied from the session that runs the step.
        const session = Object.fromEntries(Object.entries(step.sessionEnv ?? {}).map(([name, from]) => [name, `session value of ${from}`]));
        const sessionVars = Object.fromEntries(Object.values(step.sessionEnv ?? {}).map((from) => [from, `session value of ${from}`]));
        // As sudo runs it (env_reset): nothing of the caller's environment but PATH reaches the
        // script, so HI_* variables of whoever runs the tests (HI_REQUIRE_ENGINE in CI) are not
        // taken for the step's own.
        const r = spawnSync("bash", ["-c", command], { input: DUMP, encoding: "utf8", env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", ...sessionVars } });
        expect(r.status).toBe(0);
        const seen = Object.fromEntries(r.stdout.split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
        expect(seen).toEqual({ ...step.env, ...session });
      }
      expect(existsSync(canary)).toBe(false);
    }), { numRuns: 60 });
  });

  it.each([
    ["hosts[0].ssh_user", `ubuntu$(touch ${canary})`],
    ["hosts[0].name", `gpu;touch ${canary}`],
    ["access.cache_dir", `/srv/models'; touch ${canary}; '`],
    ["adapters[0].source", `hf://acme/lora\`touch ${canary}\``],
  ])("refuses a shell metacharacter in %s with the key's path", (at, value) => {
    const v = validValues();
    const host = { ...(v["hosts"] as Record<string, unknown>[])[0]! };
    const access = { ...(v["access"] as Record<string, unknown>) };
    let adapters: unknown[] = [];
    if (at === "hosts[0].ssh_user") host["ssh_user"] = value;
    if (at === "hosts[0].name") host["name"] = value;
    if (at === "access.cache_dir") access["cache_dir"] = value;
    if (at === "adapters[0].source") adapters = [{ name: "a1", source: value, rank: 8, base_model: "qwen2.5-7b-instruct" }];
    const { plan, issues } = loadPlan(rawConfig({ ...v, hosts: [host], access, adapters }));
    expect(plan).toBeUndefined();
    expect(issues.map((i) => i.path)).toContain(`hybrid-inference:${at}`);
  });
});
