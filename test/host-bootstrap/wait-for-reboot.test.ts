import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const SCRIPT = path.join(__dirname, "..", "..", "templates", "local", "wait-for-reboot.sh");
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "hi-wait-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A stub ssh client that answers each call with the next line of `answers` ("" = unreachable). */
function stubSsh(answers: string[]): string {
  const file = path.join(dir, "ssh");
  writeFileSync(path.join(dir, "answers"), answers.join("\n") + "\n");
  writeFileSync(file, [
    "#!/usr/bin/env bash",
    `printf '%s\\n' "$*" >>"${dir}/calls"`,
    `n=$(wc -l <"${dir}/calls")`,
    `line=$(sed -n "\${n}p" "${dir}/answers")`,
    '[[ -n "$line" ]] || exit 255',
    'printf "%s\\n" "$line"',
  ].join("\n"));
  chmodSync(file, 0o755);
  return file;
}

function run(env: Record<string, string>) {
  return spawnSync("bash", [SCRIPT], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] ?? "", HI_HOST: "203.0.113.10", HI_USER: "ubuntu", HI_KEY_FILE: "/k", HI_POLL_S: "0", ...env },
    timeout: 20_000,
  });
}

describe("wait-for-reboot (runs on the Pulumi machine)", () => {
  it("returns at once when no reboot was scheduled", () => {
    const r = run({ HI_SSH: stubSsh([]), HI_OLD_BOOT_ID: "" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("no reboot was scheduled");
  });

  it("waits through the old boot and an unreachable host until a new boot id answers", () => {
    const ssh = stubSsh(["old-boot", "", "", "new-boot"]);
    const r = run({ HI_SSH: ssh, HI_OLD_BOOT_ID: "old-boot", HI_PORT: "2222" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("203.0.113.10 is back after its reboot (boot id new-boot)");
    const calls = readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
    expect(calls).toHaveLength(4);
    expect(calls[0]).toContain("-i /k -p 2222");
    expect(calls[0]).toContain("ubuntu@203.0.113.10 cat /proc/sys/kernel/random/boot_id");
  });

  it("fails with what to do when the host never comes back", () => {
    const r = run({ HI_SSH: stubSsh(["old-boot"]), HI_OLD_BOOT_ID: "old-boot", HI_TIMEOUT_S: "1" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("[hybrid-inference:wait-for-reboot] 203.0.113.10 did not come back within 1s");
    expect(r.stderr).toContain("run pulumi up again");
  });
});
