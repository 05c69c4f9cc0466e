import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { renderScript } from "../../core/render/script";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseGpuInventory, renderCloudInit, type HostBootstrapParams } from "../../core/render/host-bootstrap";
import { Sandbox, TEMPLATES } from "./harness";
import { parse as parseYaml } from "yaml";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => {
  sb.cleanup();
});

const RTX4090 = "NVIDIA GeForce RTX 4090";
const TABLE = `+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 570.133.07             Driver Version: 570.133.07     CUDA Version: 12.8     |
|-----------------------------------------+------------------------+----------------------+
`;

function gpus(...rows: [string, number][]): void {
  sb.set("nvidia-smi-query", rows.map(([name, mib]) => `${name}, ${mib}, 570.133.07\n`).join(""));
  sb.set("nvidia-smi-table", TABLE);
}

describe("verify-gpus", () => {
  const two4090 = { HI_GPU_COUNT: "2", HI_GPU_NAME: RTX4090, HI_DRIVER_BRANCH: "570" };

  it("prints exactly one inventory line when the host matches the stack", () => {
    gpus([RTX4090, 24564], [RTX4090, 24564]);
    const r = sb.runStep("verify-gpus", two4090);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("HI_GPU_INVENTORY="));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      'HI_GPU_INVENTORY={"gpus":[{"name":"NVIDIA GeForce RTX 4090","memoryMiB":24564},{"name":"NVIDIA GeForce RTX 4090","memoryMiB":24564}],"driverVersion":"570.133.07","cudaVersion":"12.8"}',
    );
    expect(parseGpuInventory(r.stdout)).toEqual({
      gpus: [
        { name: RTX4090, memoryMiB: 24564 },
        { name: RTX4090, memoryMiB: 24564 },
      ],
      driverVersion: "570.133.07",
      cudaVersion: "12.8",
    });
    expect(JSON.parse(sb.read("var/lib/hybrid-inference/gpu-inventory.json"))).toEqual(parseGpuInventory(r.stdout));
    // every other stdout line is a prefixed message
    for (const l of r.stdout.trim().split("\n")) expect(l).toMatch(/^(HI_GPU_INVENTORY=|\[hybrid-inference:verify-gpus\] )/);
  });

  it("fails naming expected and found when one card of two is visible", () => {
    gpus([RTX4090, 24564]);
    const r = sb.runStep("verify-gpus", two4090);
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain("HI_GPU_INVENTORY");
    expect(r.stderr).toContain("[hybrid-inference:verify-gpus] GPU count: the stack declares 2 x 'NVIDIA GeForce RTX 4090' but nvidia-smi found 1");
    expect(r.stderr).toContain("[0] 'NVIDIA GeForce RTX 4090' 24564 MiB");
  });

  it("fails naming both models when the card differs", () => {
    gpus(["NVIDIA GeForce RTX 4080", 16376]);
    const r = sb.runStep("verify-gpus", { ...two4090, HI_GPU_COUNT: "1" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("GPU 0 is 'NVIDIA GeForce RTX 4080' but the stack declares 'NVIDIA GeForce RTX 4090'");
  });

  it("tells two variants with the same name apart by their memory", () => {
    // An RTX 3050 6GB and 8GB both print "NVIDIA GeForce RTX 3050".
    gpus(["NVIDIA GeForce RTX 3050", 6144]);
    const r = sb.runStep("verify-gpus", { HI_GPU_COUNT: "1", HI_GPU_NAME: "NVIDIA GeForce RTX 3050", HI_DRIVER_BRANCH: "570", HI_GPU_MEMORY_MIB: "8192" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("GPU memory: GPU 0 has 6144 MiB but the declared card has 8192 MiB");
    // A 4090 reports 24564 MiB of its nominal 24576: within tolerance.
    gpus([RTX4090, 24564]);
    expect(sb.runStep("verify-gpus", { ...two4090, HI_GPU_COUNT: "1", HI_GPU_MEMORY_MIB: "24576" }).status).toBe(0);
  });

  it("reports every problem at once", () => {
    gpus(["NVIDIA GeForce RTX 3090", 24576]);
    sb.set("docker-runtimes", '{"runc":{"path":"runc"}}');
    const r = sb.runStep("verify-gpus", { ...two4090, HI_DRIVER_BRANCH: "575" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("GPU count:");
    expect(r.stderr).toContain("GPU model:");
    expect(r.stderr).toContain("driver: version 570.133.07 is below the required branch 575");
    expect(r.stderr).toContain("the nvidia runtime is not registered");
  });

  it("explains a driver that does not answer", () => {
    sb.set("nvidia-smi-query", "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n");
    sb.set("nvidia-smi-rc", "9");
    const r = sb.runStep("verify-gpus", two4090);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("nvidia-smi failed: NVIDIA-SMI has failed because it couldn't communicate");
    expect(r.stderr).toContain("reboot");
  });

  it("reports a null CUDA version when nvidia-smi prints none", () => {
    gpus([RTX4090, 24564]);
    sb.set("nvidia-smi-table", "no table\n");
    const r = sb.runStep("verify-gpus", { ...two4090, HI_GPU_COUNT: "1" });
    expect(r.status).toBe(0);
    expect(parseGpuInventory(r.stdout).cudaVersion).toBeNull();
  });

  it("keeps a hostile GPU name inert", () => {
    const canary = path.join(sb.dir, "pwned");
    const hostile = `RTX $(touch ${canary}) \`touch ${canary}\` "'\n; touch ${canary}`;
    gpus([RTX4090, 24564]);
    const r = sb.runStep("verify-gpus", { HI_GPU_COUNT: "1", HI_GPU_NAME: hostile, HI_DRIVER_BRANCH: "570" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`the stack declares 'RTX $(touch ${canary}) \`touch ${canary}\``);
    expect(sb.exists("../pwned")).toBe(false);
  });
});

// ---- cloud-init: run-all.sh -------------------------------------------------------------

const params: HostBootstrapParams = {
  hostName: "gpu-1",
  sshUser: "ubuntu",
  gpu: { smiName: RTX4090, count: 1, minDriverBranch: 570, openKernelModules: false },
  cacheDir: "/var/lib/hybrid-inference/models",
  minFreeDiskGB: 100,
  adminCidrs: ["203.0.113.0/24"],
  router: { ports: [4000], allowedCidrs: ["0.0.0.0/0"] },
  engine: null,
};

/** Writes the user-data's files into the fake root, as cloud-init's write_files would. */
function applyUserData(userData: string): void {
  const doc = parseYaml(userData) as { write_files: { path: string; content: string; permissions: string }[] };
  for (const f of doc.write_files) {
    const file = sb.file(f.path.slice(1), f.content);
    chmodSync(file, Number.parseInt(f.permissions, 8));
  }
}

describe("run-all.sh (cloud-init)", () => {
  it("install writes and starts a oneshot unit that runs the scripts where they live", () => {
    applyUserData(renderCloudInit(params));
    const r = sb.runFile(path.join(sb.root, "opt/hybrid-inference/bootstrap/run-all.sh"), ["install"], {});
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const unit = sb.read("etc/systemd/system/hybrid-inference-bootstrap.service");
    expect(unit).toContain("ExecStart=/bin/bash /opt/hybrid-inference/bootstrap/run-all.sh run\n");
    expect(unit).toContain("Environment=HI_BOOTSTRAP_ENV=/etc/hybrid-inference/bootstrap.env\n");
    expect(unit).toContain("ConditionPathExists=!/var/lib/hybrid-inference/bootstrap/complete\n");
    expect(unit).toContain("WantedBy=multi-user.target\n");
    expect(sb.callLines("systemctl")).toEqual([
      "systemctl daemon-reload",
      "systemctl enable hybrid-inference-bootstrap.service",
      "systemctl start --no-block hybrid-inference-bootstrap.service",
    ]);
  });

  it("runs the steps in order, stops for the driver reboot, resumes after it and completes", () => {
    applyUserData(renderCloudInit(params));
    const runAll = path.join(sb.root, "opt/hybrid-inference/bootstrap/run-all.sh");
    // a fresh Ubuntu host: no driver, no toolkit, no Docker
    sb.set("users", "ubuntu\n");
    sb.set("apt-cache-all", "");
    sb.set("apt-brings/nvidia-headless-570-server", "nvidia-dkms-570-server 570.133.07-0ubuntu1\nlibnvidia-compute-570-server 570.133.07-0ubuntu1\n");
    gpus([RTX4090, 24564]);

    sb.file("etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\n");
    const first = sb.runFile(runAll, ["run"], {});
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(first.stdout).toContain("HI_REBOOT_SCHEDULED=1");
    expect(sb.calls("systemd-run")).toHaveLength(1);
    const state = "var/lib/hybrid-inference/bootstrap";
    expect(sb.exists(`${state}/preflight.done`)).toBe(true);
    expect(sb.exists(`${state}/nvidia-driver.done`)).toBe(true);
    expect(sb.exists(`${state}/reboot-if-required.done`)).toBe(false);
    expect(sb.exists(`${state}/container-toolkit.done`)).toBe(false);

    // the reboot: /run is emptied, a new boot id, the module is loaded
    expect(sb.exists("var/run/hybrid-inference/driver-reboot-required")).toBe(true);
    rmSync(path.join(sb.root, "var/run"), { recursive: true, force: true });
    sb.file("proc/sys/kernel/random/boot_id", "22222222-2222-2222-2222-222222222222\n");
    sb.file("proc/driver/nvidia/version", "NVRM version: NVIDIA UNIX x86_64 Kernel Module  570.133.07  Release Build\n");
    sb.clearCalls();

    const second = sb.runFile(runAll, ["run"], {});
    expect(second.stderr).toBe("");
    expect(second.status).toBe(0);
    expect(second.stdout).toContain("step preflight already completed; skipping");
    expect(second.stdout).toContain("step nvidia-driver already completed; skipping");
    expect(sb.calls("systemd-run")).toEqual([]);
    expect(sb.exists(`${state}/complete`)).toBe(true);
    expect(JSON.parse(sb.read("var/lib/hybrid-inference/gpu-inventory.json"))).toEqual({
      gpus: [{ name: RTX4090, memoryMiB: 24564 }],
      driverVersion: "570.133.07",
      cudaVersion: "12.8",
    });
    expect(sb.callLines("systemctl")).toContain("systemctl disable hybrid-inference-bootstrap.service");
    expect(readFileSync(path.join(sb.root, "var/log/hybrid-inference-bootstrap.log"), "utf8")).toContain("[hybrid-inference:verify-gpus] verified");

    // a third run (the unit is disabled, but say someone starts it) does nothing
    sb.clearCalls();
    const third = sb.runFile(runAll, ["run"], {});
    expect(third.status).toBe(0);
    expect(sb.calls("apt-get")).toEqual([]);
  });

  it("stops at the first failing step with the step's message and where its log is", () => {
    applyUserData(renderCloudInit(params));
    sb.osRelease("20.04");
    const r = sb.runFile(path.join(sb.root, "opt/hybrid-inference/bootstrap/run-all.sh"), ["run"], {});
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain("[hybrid-inference:preflight] unsupported OS");
    expect(r.stderr).toContain("[hybrid-inference:run-all] step preflight failed; its output is in /var/lib/hybrid-inference/bootstrap/preflight.log");
  });

  it("refuses an environment file others can write (it is read as shell)", () => {
    applyUserData(renderCloudInit(params));
    chmodSync(path.join(sb.root, "etc/hybrid-inference/bootstrap.env"), 0o666);
    const r = sb.runFile(path.join(sb.root, "opt/hybrid-inference/bootstrap/run-all.sh"), ["run"], {});
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("must not be writable by group or others");
  });

  it("runs from wherever the scripts are copied", () => {
    const dir = path.join(sb.root, "srv/bootstrap");
    mkdirSync(dir, { recursive: true });
    // As cloud-init lays them out: rendered scripts, the shared helpers inlined.
    for (const f of readdirSync(TEMPLATES).filter((n) => n.endsWith(".sh"))) writeFileSync(path.join(dir, f), renderScript(path.join(TEMPLATES, f)));
    const r = sb.runFile(path.join(dir, "run-all.sh"), ["install"], {});
    expect(r.status).toBe(0);
    expect(sb.read("etc/systemd/system/hybrid-inference-bootstrap.service")).toContain("ExecStart=/bin/bash /srv/bootstrap/run-all.sh run");
  });
});
