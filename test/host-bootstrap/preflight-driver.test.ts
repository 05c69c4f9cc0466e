import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { aptInstalls, Sandbox } from "./harness";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => {
  sb.cleanup();
});

describe("preflight", () => {
  const env = { HI_CACHE_DIR: "/var/lib/hybrid-inference/models", HI_MIN_FREE_GB: "200" };

  it("passes on Ubuntu 24.04 with headers installed, without installing anything", () => {
    sb.installed("linux-headers-6.8.0-45-generic");
    const r = sb.runStep("preflight", env);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("[hybrid-inference:preflight] preflight passed");
    expect(aptInstalls(sb)).toEqual([]);
  });

  it("passes on Ubuntu 22.04", () => {
    sb.osRelease("22.04");
    sb.installed("linux-headers-6.8.0-45-generic");
    expect(sb.runStep("preflight", env).status).toBe(0);
  });

  it("refuses Ubuntu 20.04, saying which releases it supports", () => {
    sb.osRelease("20.04");
    const r = sb.runStep("preflight", env);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/^\[hybrid-inference:preflight\] unsupported OS 'Ubuntu 20\.04 LTS'/);
    expect(r.stderr).toContain("Ubuntu Server 22.04 or 24.04");
    expect(sb.calls("apt-get")).toEqual([]);
  });

  it("refuses Debian", () => {
    sb.osRelease("12", "debian");
    const r = sb.runStep("preflight", env);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("ID=debian");
  });

  it("refuses to run as a normal user", () => {
    sb.set("uid", "1000\n");
    const r = sb.runStep("preflight", env);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("not root");
    expect(r.stderr).toContain("sudo");
  });

  it("refuses a disk with less free space than required, with both numbers", () => {
    sb.set("df-avail-kib", String(50 * 1024 * 1024)); // 50 GiB
    const r = sb.runStep("preflight", env);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("only 50 GiB free");
    expect(r.stderr).toContain("need at least 200 GiB");
    // measured where the (not yet created) cache dir will live
    expect(sb.callLines("df")[0]).toBe(`df -Pk -- ${sb.root}`);
  });

  it("gives commands an empty stdin under `bash -s`, so none can eat the script or wait for input", () => {
    sb.installed("linux-headers-6.8.0-45-generic");
    sb.stub("uname", 'cat >"$S/uname-stdin"\necho 6.8.0-45-generic');
    const r = sb.runStep("preflight", env);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("preflight passed");
    expect(sb.getState("uname-stdin")).toBe("");
  });

  it("reads a zero-padded size as decimal, not octal", () => {
    sb.set("df-avail-kib", String(150 * 1024 * 1024));
    const r = sb.runStep("preflight", { ...env, HI_MIN_FREE_GB: "0200" });
    expect(r.stderr).toContain("need at least 200 GiB");
  });

  it("installs the running kernel's headers once; a second run installs nothing", () => {
    sb.set("uname-r", "6.8.0-90-generic\n");
    expect(sb.runStep("preflight", env).status).toBe(0);
    expect(aptInstalls(sb).map((a) => a.at(-1))).toEqual(["linux-headers-6.8.0-90-generic"]);
    sb.clearCalls();
    expect(sb.runStep("preflight", env).status).toBe(0);
    expect(sb.calls("apt-get")).toEqual([]);
  });

  it("explains a kernel without Ubuntu headers", () => {
    sb.set("uname-r", "6.1.0-provider\n");
    sb.set("apt-unavailable", "linux-headers-6.1.0-provider\n");
    const r = sb.runStep("preflight", env);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("could not install linux-headers-6.1.0-provider");
    expect(r.stderr).toContain("linux-generic");
  });

  it("rejects missing or malformed inputs before doing anything", () => {
    let r = sb.runStep("preflight", { HI_CACHE_DIR: "/models" });
    expect(r.stderr).toContain("HI_MIN_FREE_GB is not set");
    r = sb.runStep("preflight", { HI_CACHE_DIR: "/models", HI_MIN_FREE_GB: "lots" });
    expect(r.stderr).toContain("HI_MIN_FREE_GB must be a whole number");
    r = sb.runStep("preflight", { HI_CACHE_DIR: "models", HI_MIN_FREE_GB: "1" });
    expect(r.stderr).toContain("HI_CACHE_DIR must be an absolute path");
    expect(sb.calls()).toEqual([]);
  });
});

describe("nvidia-driver", () => {
  const blackwell = { HI_DRIVER_BRANCH: "575", HI_OPEN_KERNEL_MODULES: "true" };
  const ada = { HI_DRIVER_BRANCH: "570", HI_OPEN_KERNEL_MODULES: "false" };

  function driverInstallBrings(pkg: string, branch: string, flavour: "open" | "", version: string): void {
    sb.set(
      `apt-brings/${pkg}`,
      `nvidia-dkms-${branch}-server${flavour ? "-open" : ""} ${version}-0ubuntu1\nlibnvidia-compute-${branch}-server ${version}-0ubuntu1\n`,
    );
  }

  it("falls back to DKMS (the -open headless server packages for Blackwell) on a kernel without a prebuilt-module metapackage, and asks for a reboot", () => {
    sb.set("apt-cache-all", "");
    driverInstallBrings("nvidia-headless-575-server-open", "575", "open", "575.57.08");
    const r = sb.runStep("nvidia-driver", blackwell);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const installs = aptInstalls(sb);
    expect(installs).toHaveLength(1);
    expect(installs[0]?.slice(-2)).toEqual(["nvidia-headless-575-server-open", "nvidia-utils-575-server"]);
    expect(r.stdout.split("\n")).toContain("HI_REBOOT_REQUIRED=1");
    expect(sb.exists("var/run/reboot-required")).toBe(true);
    expect(sb.read("var/run/hybrid-inference/driver-reboot-required")).toContain("installed NVIDIA driver branch 575");
  });

  it("re-run before the reboot installs nothing and still reports the pending reboot", () => {
    sb.set("apt-cache-all", "");
    driverInstallBrings("nvidia-headless-575-server-open", "575", "open", "575.57.08");
    expect(sb.runStep("nvidia-driver", blackwell).status).toBe(0);
    sb.clearCalls();
    const again = sb.runStep("nvidia-driver", blackwell);
    expect(again.status).toBe(0);
    expect(sb.calls("apt-get")).toEqual([]);
    expect(again.stdout).toContain("HI_REBOOT_REQUIRED=1");
  });

  it("skips when the branch is installed and loaded", () => {
    sb.installed("nvidia-dkms-580-server-open 580.95.05-0ubuntu0.24.04.2", "libnvidia-compute-580-server 580.95.05-0ubuntu0.24.04.2");
    sb.file(
      "proc/driver/nvidia/version",
      "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.95.05  Release Build  (dvs-builder@U16-I3-B03-4-3)\n",
    );
    const r = sb.runStep("nvidia-driver", { ...blackwell, HI_DRIVER_BRANCH: "580" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("nothing to do");
    expect(r.stdout).not.toContain("HI_REBOOT_REQUIRED");
    expect(sb.calls("apt-get")).toEqual([]);
    expect(sb.exists("var/run/reboot-required")).toBe(false);
  });

  it("installs the proprietary-module packages when open modules are not required", () => {
    sb.set("apt-cache-all", "");
    const r = sb.runStep("nvidia-driver", ada);
    expect(r.status).toBe(0);
    expect(aptInstalls(sb)[0]?.slice(-2)).toEqual(["nvidia-headless-570-server", "nvidia-utils-570-server"]);
  });

  it("falls back to the non-server line when the branch has no -server packages", () => {
    sb.set("apt-cache", "nvidia-headless-590-open\n");
    const r = sb.runStep("nvidia-driver", { HI_DRIVER_BRANCH: "590", HI_OPEN_KERNEL_MODULES: "true" });
    expect(r.status).toBe(0);
    expect(aptInstalls(sb)[0]?.slice(-2)).toEqual(["nvidia-headless-590-open", "nvidia-utils-590"]);
  });

  it("explains a branch the archive does not have", () => {
    const r = sb.runStep("nvidia-driver", blackwell);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("no package nvidia-headless-575-server-open or nvidia-headless-575-open");
    expect(aptInstalls(sb)).toEqual([]);
  });

  it("replaces a proprietary driver when Blackwell needs the open modules", () => {
    sb.set("apt-cache-all", "");
    sb.installed("nvidia-dkms-575-server 575.57.08-0ubuntu1", "libnvidia-compute-575-server 575.57.08-0ubuntu1");
    sb.file("proc/driver/nvidia/version", "NVRM version: NVIDIA UNIX x86_64 Kernel Module  575.57.08  Release Build\n");
    const r = sb.runStep("nvidia-driver", blackwell);
    expect(r.status).toBe(0);
    expect(aptInstalls(sb)[0]).toContain("nvidia-headless-575-server-open");
  });

  it("asks for a reboot when apt upgraded the driver under a loaded module", () => {
    sb.installed("nvidia-dkms-570-server 570.172.08-0ubuntu1", "libnvidia-compute-570-server 570.172.08-0ubuntu1");
    sb.file("proc/driver/nvidia/version", "NVRM version: NVIDIA UNIX x86_64 Kernel Module  570.133.20  Release Build\n");
    const r = sb.runStep("nvidia-driver", ada);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("differs from the installed driver 570.172.08");
    expect(r.stdout).toContain("HI_REBOOT_REQUIRED=1");
    expect(aptInstalls(sb)).toEqual([]);
  });

  it("validates its inputs", () => {
    let r = sb.runStep("nvidia-driver", { HI_DRIVER_BRANCH: "latest", HI_OPEN_KERNEL_MODULES: "true" });
    expect(r.stderr).toContain("HI_DRIVER_BRANCH must be a driver branch number");
    r = sb.runStep("nvidia-driver", { HI_DRIVER_BRANCH: "570", HI_OPEN_KERNEL_MODULES: "yes" });
    expect(r.stderr).toContain("HI_OPEN_KERNEL_MODULES must be 'true' or 'false'");
    expect(sb.calls()).toEqual([]);
  });
});

describe("reboot-if-required", () => {
  const env = { HI_DRIVER_BRANCH: "570" };

  it("does nothing on a host whose driver is loaded", () => {
    sb.installed("nvidia-dkms-570-server-open 570.172.08-0ubuntu1", "libnvidia-compute-570-server 570.172.08-0ubuntu1");
    sb.file("proc/driver/nvidia/version", "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.172.08  Release Build\n");
    const r = sb.runStep("reboot-if-required", env);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain("HI_REBOOT_SCHEDULED");
    expect(sb.calls("systemd-run")).toEqual([]);
  });

  it("does not reboot for unrelated pending reboots", () => {
    sb.file("var/run/reboot-required", "*** System restart required ***\n");
    const r = sb.runStep("reboot-if-required", env);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("not rebooting for it");
    expect(sb.calls("systemd-run")).toEqual([]);
  });

  it("schedules a delayed reboot after the driver step and says so on stdout", () => {
    sb.file("var/run/hybrid-inference/driver-reboot-required", "installed NVIDIA driver branch 570\n");
    const r = sb.runStep("reboot-if-required", env);
    expect(r.status).toBe(0);
    expect(sb.callLines("systemd-run")).toEqual(["systemd-run --quiet --on-active=5 --timer-property=AccuracySec=1s systemctl reboot"]);
    const lines = r.stdout.split("\n");
    expect(lines).toContain("HI_REBOOT_SCHEDULED=1");
    expect(lines).toContain("HI_BOOT_ID=11111111-1111-1111-1111-111111111111");
  });

  it("reboots for a driver/library version mismatch it finds itself, with no marker from the driver step", () => {
    // e.g. libraries upgraded out of band: the decision comes from the host's state, not from what changed
    sb.installed("linux-modules-nvidia-580-server-open-6.8.0-45-generic 6.8.0-45.45", "libnvidia-compute-580-server 580.105.08-0ubuntu1");
    sb.file("proc/driver/nvidia/version", "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.95.05  Release Build\n");
    const r = sb.runStep("reboot-if-required", { HI_DRIVER_BRANCH: "580" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("rebooting in about 5 seconds: loaded NVIDIA module 580.95.05 differs from installed driver 580.105.08");
    expect(r.stdout.split("\n")).toContain("HI_REBOOT_SCHEDULED=1");
  });

  it("reboots when the driver is installed but not loaded", () => {
    sb.installed("nvidia-dkms-570-server 570.172.08-0ubuntu1");
    const r = sb.runStep("reboot-if-required", env);
    expect(r.stdout).toContain("HI_REBOOT_SCHEDULED=1");
  });

  it("fails with diagnostics instead of rebooting again when the module still does not load", () => {
    sb.installed("nvidia-dkms-570-server 570.172.08-0ubuntu1");
    expect(sb.runStep("reboot-if-required", env).stdout).toContain("HI_REBOOT_SCHEDULED=1");
    // the host came back (new boot id) and the module is still not loaded
    sb.file("proc/sys/kernel/random/boot_id", "22222222-2222-2222-2222-222222222222\n");
    sb.clearCalls();
    const r = sb.runStep("reboot-if-required", env);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("already rebooted for the NVIDIA driver");
    expect(r.stderr).toContain("mokutil --sb-state");
    expect(sb.calls("systemd-run")).toEqual([]);
  });
});
