/**
 * The nvidia-driver step on a fake host: Canonical's signed prebuilt modules first, DKMS as the
 * fallback, Secure Boot refusals, holds against unattended and manual upgrades, and the
 * deliberate upgrade paths (a branch change, a refresh).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { aptInstalls, Sandbox } from "./harness";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => {
  sb.cleanup();
});

const KERNEL = "6.8.0-45-generic";
const B580 = { HI_DRIVER_BRANCH: "580", HI_OPEN_KERNEL_MODULES: "true" };
const SECURE_BOOT_VAR = "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";
const MOK_STATE_VAR = "sys/firmware/efi/efivars/MokSBStateRT-605dab50-e046-4300-abb6-3dd810dd8b23";
/** A UEFI variable as efivarfs shows it: 4 attribute bytes, then the value. */
const efiByte = (value: number): string => `\x06\x00\x00\x00${String.fromCharCode(value)}`;

/** Packages `apt-cache show` knows about. */
function archive(...pkgs: string[]): void {
  sb.set("apt-cache", pkgs.map((p) => `${p}\n`).join(""));
}

/** What Ubuntu's archive offers for a candidate (e.g. 580-server-open) on a kernel and metapackage flavour. */
function prebuiltArchive(candidate: string, kmeta: string, kernel = KERNEL): string[] {
  return [`nvidia-headless-no-dkms-${candidate}`, `nvidia-headless-${candidate}`, `linux-modules-nvidia-${candidate}-${kernel}`, `linux-modules-nvidia-${candidate}-${kmeta}`];
}

/** What installing the candidate's packages pulls in, at a driver version. */
function brings(branch: string, version: string, opts: { kind?: "prebuilt" | "dkms"; newKernel?: string } = {}): void {
  const v = `${version}-0ubuntu0.24.04.1`;
  const userspace = [
    `libnvidia-compute-${branch}-server ${v}`,
    `libnvidia-cfg1-${branch}-server ${v}`,
    `nvidia-kernel-common-${branch}-server ${v}`,
    `nvidia-firmware-${branch}-server-${version} ${v}`,
    `nvidia-compute-utils-${branch}-server ${v}`,
  ].join("\n");
  sb.set(`apt-brings/nvidia-headless-no-dkms-${branch}-server-open`, `${userspace}\n`);
  sb.set(`apt-brings/nvidia-headless-${branch}-server-open`, `${userspace}\nnvidia-dkms-${branch}-server-open ${v}\nnvidia-headless-no-dkms-${branch}-server-open ${v}\n`);
  sb.set(`apt-versions`, `nvidia-utils-${branch}-server ${v}\n`);
  if (opts.newKernel) {
    sb.set(`apt-brings/linux-modules-nvidia-${branch}-server-open-generic`,
      `linux-modules-nvidia-${branch}-server-open-${opts.newKernel} 6.8.0-50.50\nlinux-image-${opts.newKernel} 6.8.0-50.50\n`);
  }
}

function loaded(version: string): void {
  sb.file("proc/driver/nvidia/version", `NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  ${version}  Release Build  (dvs-builder@U22-I3-AE18-23-3)\n`);
}

/** The packages of one `apt-get install`, after the options. */
const installed = (argv: string[] | undefined): string[] => argv?.slice(argv.indexOf("--no-install-recommends") + 1) ?? [];
const held = (): string[] => sb.getState("held").split("\n").filter(Boolean).sort();
const dropIn = (): string => sb.read("etc/apt/apt.conf.d/51hybrid-inference-nvidia");

/** A noble host on Ubuntu's generic kernel, with the container toolkit (not part of the driver). */
function nobleGeneric(): void {
  sb.installed(
    "linux-generic 6.8.0.45.45", "linux-image-generic 6.8.0.45.45", "linux-headers-generic 6.8.0.45.45", `linux-image-${KERNEL} 6.8.0-45.45`,
    "nvidia-container-toolkit 1.17.8-1", "libnvidia-container1 1.17.8-1",
  );
}

describe("nvidia-driver: Canonical's signed prebuilt modules first", () => {
  it("installs the prebuilt module for the running kernel and its metapackage, without DKMS, and asks for a reboot", () => {
    nobleGeneric();
    archive(...prebuiltArchive("580-server-open", "generic"));
    brings("580", "580.95.05");
    const r = sb.runStep("nvidia-driver", B580);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(aptInstalls(sb).map(installed)).toEqual([[
      "nvidia-headless-no-dkms-580-server-open", "nvidia-utils-580-server",
      "linux-modules-nvidia-580-server-open-6.8.0-45-generic", "linux-modules-nvidia-580-server-open-generic",
    ]]);
    expect(r.stdout).toContain("Canonical's signed prebuilt module for kernel 6.8.0-45-generic");
    expect(r.stdout.split("\n")).toContain("HI_REBOOT_REQUIRED=1");
    expect(sb.read("var/run/hybrid-inference/driver-reboot-required")).toBe("installed NVIDIA driver branch 580 (signed prebuilt module)\n");
  });

  it("holds the branch's packages and the kernel metapackages (kernel and prebuilt module move together), not the container toolkit", () => {
    nobleGeneric();
    archive(...prebuiltArchive("580-server-open", "generic"));
    brings("580", "580.95.05");
    expect(sb.runStep("nvidia-driver", B580).status).toBe(0);
    expect(held()).toEqual([
      "libnvidia-cfg1-580-server", "libnvidia-compute-580-server",
      "linux-generic", "linux-headers-generic", "linux-image-generic",
      "linux-modules-nvidia-580-server-open-6.8.0-45-generic", "linux-modules-nvidia-580-server-open-generic",
      "nvidia-compute-utils-580-server", "nvidia-firmware-580-server-580.95.05", "nvidia-headless-no-dkms-580-server-open",
      "nvidia-kernel-common-580-server", "nvidia-utils-580-server",
    ]);
    expect(sb.read("var/lib/hybrid-inference/driver-holds").split("\n").filter(Boolean).sort()).toEqual(held());
    // unattended-upgrades' own configuration says the same (Python regexes matched at the start of a name)
    const conf = dropIn();
    expect(conf).toMatch(/^Unattended-Upgrade::Package-Blacklist \{$/m);
    for (const entry of ['"nvidia-";', '"libnvidia-";', '"linux-modules-nvidia-";', '"linux-generic$";', '"linux-image-generic$";', '"linux-headers-generic$";']) {
      expect(conf).toContain(`    ${entry}\n`);
    }
    expect(conf.trimEnd().endsWith("};")).toBe(true);
  });

  it("once installed and loaded, a re-run changes nothing: no apt, no new holds, the same drop-in", () => {
    nobleGeneric();
    archive(...prebuiltArchive("580-server-open", "generic"));
    brings("580", "580.95.05");
    expect(sb.runStep("nvidia-driver", B580).status).toBe(0);
    const conf = dropIn();
    loaded("580.95.05");
    sb.clearCalls();
    const r = sb.runStep("nvidia-driver", B580);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("driver 580.95.05 (open kernel module, signed prebuilt) is installed, loaded and held; nothing to do");
    expect(r.stdout).not.toContain("HI_REBOOT_REQUIRED");
    expect(sb.calls("apt-get")).toEqual([]);
    expect(sb.callLines("apt-mark")).toEqual(["apt-mark showhold"]);
    expect(dropIn()).toBe(conf);
  });

  it("holds a driver installed by an earlier bootstrap with DKMS, without reinstalling it", () => {
    sb.installed("nvidia-dkms-580-server-open 580.95.05-0ubuntu1", "nvidia-headless-580-server-open 580.95.05-0ubuntu1",
      "libnvidia-compute-580-server 580.95.05-0ubuntu1", "nvidia-utils-580-server 580.95.05-0ubuntu1", "linux-image-generic 6.8.0.45.45");
    archive(...prebuiltArchive("580-server-open", "generic"));
    loaded("580.95.05");
    const r = sb.runStep("nvidia-driver", B580);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("DKMS-built) is installed, loaded and held; nothing to do");
    expect(sb.calls("apt-get")).toEqual([]);
    // DKMS follows kernel updates by itself: only the driver is held
    expect(held()).toEqual(["libnvidia-compute-580-server", "nvidia-dkms-580-server-open", "nvidia-headless-580-server-open", "nvidia-utils-580-server"]);
  });

  it("follows jammy's HWE kernel with the -generic-hwe-22.04 metapackage", () => {
    sb.osRelease("22.04");
    sb.installed("linux-generic-hwe-22.04 6.8.0.45.45~22.04.1", "linux-image-generic-hwe-22.04 6.8.0.45.45~22.04.1");
    archive(...prebuiltArchive("580-server-open", "generic-hwe-22.04"));
    brings("580", "580.95.05");
    const r = sb.runStep("nvidia-driver", B580);
    expect(r.status).toBe(0);
    expect(installed(aptInstalls(sb)[0])).toContain("linux-modules-nvidia-580-server-open-generic-hwe-22.04");
    expect(held()).toEqual(expect.arrayContaining(["linux-generic-hwe-22.04", "linux-image-generic-hwe-22.04"]));
    expect(dropIn()).toContain('"linux-image-generic-hwe-22\\.04$";');
  });

  it("follows noble's HWE edge kernel with the -generic-hwe-24.04-edge metapackage", () => {
    sb.set("uname-r", "6.17.0-8-generic\n");
    sb.installed("linux-image-generic-hwe-24.04-edge 6.17.0.8.8~24.04.1", "linux-image-generic-hwe-24.04 6.14.0.30.30~24.04.1");
    archive(...prebuiltArchive("580-server-open", "generic-hwe-24.04-edge", "6.17.0-8-generic"));
    const r = sb.runStep("nvidia-driver", B580);
    expect(r.status).toBe(0);
    expect(installed(aptInstalls(sb)[0]).slice(2)).toEqual(["linux-modules-nvidia-580-server-open-6.17.0-8-generic", "linux-modules-nvidia-580-server-open-generic-hwe-24.04-edge"]);
  });

  it("uses the proprietary prebuilt modules when open modules are not required", () => {
    nobleGeneric();
    archive(...prebuiltArchive("580-server", "generic"));
    const r = sb.runStep("nvidia-driver", { ...B580, HI_OPEN_KERNEL_MODULES: "false" });
    expect(r.status).toBe(0);
    expect(installed(aptInstalls(sb)[0])).toEqual([
      "nvidia-headless-no-dkms-580-server", "nvidia-utils-580-server", "linux-modules-nvidia-580-server-6.8.0-45-generic", "linux-modules-nvidia-580-server-generic",
    ]);
  });
});

describe("nvidia-driver: DKMS only as the fallback, and Secure Boot", () => {
  it("falls back to DKMS when Canonical has no module for the running kernel", () => {
    nobleGeneric();
    sb.set("uname-r", "6.8.0-99-generic\n");
    archive("nvidia-headless-no-dkms-580-server-open", "nvidia-headless-580-server-open", "linux-modules-nvidia-580-server-open-generic");
    const r = sb.runStep("nvidia-driver", B580);
    expect(r.status).toBe(0);
    expect(installed(aptInstalls(sb)[0])).toEqual(["nvidia-headless-580-server-open", "nvidia-utils-580-server"]);
    expect(r.stdout).toContain("no prebuilt module for kernel 6.8.0-99-generic: DKMS builds it");
    expect(held()).not.toContain("linux-generic");
  });

  it("refuses a DKMS install under Secure Boot (read from the UEFI variable, no mokutil), naming the missing package and the fixes", () => {
    sb.set("uname-r", "6.8.0-99-generic\n");
    sb.installed("linux-image-generic 6.8.0.99.99");
    archive("nvidia-headless-580-server-open", "nvidia-headless-no-dkms-580-server-open");
    sb.file(SECURE_BOOT_VAR, efiByte(1));
    const r = sb.runStep("nvidia-driver", B580);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("[hybrid-inference:nvidia-driver] Secure Boot is enabled and no Canonical-signed prebuilt NVIDIA module exists for kernel 6.8.0-99-generic");
    expect(r.stderr).toContain("linux-modules-nvidia-580-server-open-6.8.0-99-generic and linux-modules-nvidia-580-server-open-generic are not in this host's apt sources");
    expect(r.stderr).toContain("the kernel would refuse to load it");
    expect(r.stderr).toContain("apt-get install linux-generic");
    expect(r.stderr).toContain("disable Secure Boot");
    expect(r.stderr).toContain("mokutil --import /var/lib/shim-signed/mok/MOK.der");
    expect(aptInstalls(sb)).toEqual([]);
    expect(sb.exists("var/run/hybrid-inference/driver-reboot-required")).toBe(false);
  });

  it("installs the signed prebuilt module under Secure Boot", () => {
    nobleGeneric();
    archive(...prebuiltArchive("580-server-open", "generic"));
    sb.file(SECURE_BOOT_VAR, efiByte(1));
    const r = sb.runStep("nvidia-driver", B580);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(installed(aptInstalls(sb)[0])).toContain("linux-modules-nvidia-580-server-open-6.8.0-45-generic");
  });

  it("takes mokutil's word when it is installed, including shim's 'validation is disabled'", () => {
    sb.set("uname-r", "6.8.0-99-generic\n");
    archive("nvidia-headless-580-server-open");
    // mokutil says enabled although the UEFI variable (absent here) would say otherwise
    sb.stub("mokutil", 'echo "SecureBoot enabled"');
    expect(sb.runStep("nvidia-driver", B580).stderr).toContain("Secure Boot is enabled");
    sb.stub("mokutil", 'printf "SecureBoot enabled\\nSecureBoot validation is disabled in shim\\n"');
    const r = sb.runStep("nvidia-driver", B580);
    expect(r.status).toBe(0);
    expect(installed(aptInstalls(sb)[0])).toEqual(["nvidia-headless-580-server-open", "nvidia-utils-580-server"]);
  });

  it("without mokutil, reads shim's MokSBStateRT: validation disabled lets the DKMS module load", () => {
    sb.set("uname-r", "6.8.0-99-generic\n");
    archive("nvidia-headless-580-server-open");
    sb.file(SECURE_BOOT_VAR, efiByte(1));
    sb.file(MOK_STATE_VAR, efiByte(1));
    expect(sb.runStep("nvidia-driver", B580).status).toBe(0);
    sb.file(SECURE_BOOT_VAR, efiByte(0));
    sb.file(MOK_STATE_VAR, efiByte(0));
    expect(sb.runStep("nvidia-driver", B580).status).toBe(0);
  });

  it("refuses, instead of rebooting in vain, when a DKMS module is installed but not loaded under Secure Boot", () => {
    sb.installed("nvidia-dkms-580-server-open 580.95.05-0ubuntu1", "libnvidia-compute-580-server 580.95.05-0ubuntu1");
    sb.file(SECURE_BOOT_VAR, efiByte(1));
    const r = sb.runStep("nvidia-driver", B580);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("installed with a DKMS-built (unsigned) module and Secure Boot is enabled, so the kernel will not load it");
    expect(r.stdout).not.toContain("HI_REBOOT_REQUIRED");
  });
});

describe("nvidia-driver: deliberate upgrades", () => {
  /** A host bootstrapped with branch 580 (prebuilt), rebooted, module loaded. */
  function on580(): void {
    nobleGeneric();
    archive(...prebuiltArchive("580-server-open", "generic"), ...prebuiltArchive("590-server-open", "generic"));
    brings("580", "580.95.05");
    expect(sb.runStep("nvidia-driver", B580).status).toBe(0);
    loaded("580.95.05");
    sb.clearCalls();
  }

  it("a branch change unholds, installs the new branch, removes the old one, holds the new one and asks for a reboot", () => {
    on580();
    brings("590", "590.44.01");
    const r = sb.runStep("nvidia-driver", { ...B580, HI_DRIVER_BRANCH: "590" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("switching the NVIDIA driver to branch 590 (open kernel modules) from linux-modules-nvidia-580-server-open-6.8.0-45-generic");
    const unhold = sb.calls("apt-mark").find((c) => c[1] === "unhold");
    expect(unhold?.slice(2)).toEqual(expect.arrayContaining(["libnvidia-compute-580-server", "linux-generic", "linux-modules-nvidia-580-server-open-generic"]));
    const pkgs = installed(aptInstalls(sb)[0]);
    expect(pkgs.slice(0, 4)).toEqual(["nvidia-headless-no-dkms-590-server-open", "nvidia-utils-590-server", "linux-modules-nvidia-590-server-open-6.8.0-45-generic", "linux-modules-nvidia-590-server-open-generic"]);
    expect(pkgs.slice(4).sort()).toEqual([
      "libnvidia-cfg1-580-server-", "libnvidia-compute-580-server-", "linux-modules-nvidia-580-server-open-6.8.0-45-generic-",
      "linux-modules-nvidia-580-server-open-generic-", "nvidia-compute-utils-580-server-", "nvidia-firmware-580-server-580.95.05-",
      "nvidia-headless-no-dkms-580-server-open-", "nvidia-kernel-common-580-server-", "nvidia-utils-580-server-",
    ]);
    expect(held().filter((p) => p.includes("580"))).toEqual([]);
    expect(held()).toEqual(expect.arrayContaining(["libnvidia-compute-590-server", "linux-modules-nvidia-590-server-open-generic", "linux-generic"]));
    expect(r.stdout.split("\n")).toContain("HI_REBOOT_REQUIRED=1");
  });

  it("a new refresh label upgrades the branch and its kernel, re-holds, and reboots for the new driver", () => {
    on580();
    brings("580", "580.105.08", { newKernel: "6.8.0-50-generic" });
    const r = sb.runStep("nvidia-driver", { ...B580, HI_DRIVER_REFRESH: "2026-12-01" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("driver.refresh is now '2026-12-01' (last applied: ''): upgrading branch 580");
    expect(sb.calls("apt-mark").map((c) => c[1])).toEqual(["showhold", "unhold", "showhold", "hold"]);
    expect(sb.callLines("apt-get")).toContain(
      "apt-get -q -y -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install --only-upgrade linux-generic linux-image-generic linux-headers-generic");
    expect(r.stdout).toContain("loaded NVIDIA kernel module 580.95.05 differs from the installed driver 580.105.08");
    expect(r.stdout.split("\n")).toContain("HI_REBOOT_REQUIRED=1");
    expect(held()).toEqual(expect.arrayContaining(["libnvidia-compute-580-server", "linux-modules-nvidia-580-server-open-6.8.0-50-generic"]));
    expect(sb.read("var/lib/hybrid-inference/driver-refresh")).toBe("2026-12-01\n");

    // after the reboot, the same label does nothing
    loaded("580.105.08");
    sb.clearCalls();
    const again = sb.runStep("nvidia-driver", { ...B580, HI_DRIVER_REFRESH: "2026-12-01" });
    expect(again.stdout).toContain("nothing to do");
    expect(sb.calls("apt-get")).toEqual([]);
  });

  it("reboots after a refresh that brought only a new kernel", () => {
    on580();
    brings("580", "580.95.05", { newKernel: "6.8.0-50-generic" });
    const r = sb.runStep("nvidia-driver", { ...B580, HI_DRIVER_REFRESH: "r2" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("the refresh installed a new kernel (linux-image-6.8.0-50-generic) with the driver's prebuilt module");
    expect(r.stdout.split("\n")).toContain("HI_REBOOT_REQUIRED=1");
  });

  it("does not reboot after a refresh that found nothing newer", () => {
    on580();
    const r = sb.runStep("nvidia-driver", { ...B580, HI_DRIVER_REFRESH: "r3" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("driver 580.95.05 is already the latest of branch 580; nothing to reboot for");
    expect(r.stdout).not.toContain("HI_REBOOT_REQUIRED");
  });

  it("rejects a refresh label that is not a plain word", () => {
    const r = sb.runStep("nvidia-driver", { ...B580, HI_DRIVER_REFRESH: "$(reboot)" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("HI_DRIVER_REFRESH must be a label of letters, digits and ._:- (e.g. 2026-12-01), got '$(reboot)'");
    expect(sb.calls()).toEqual([]);
  });
});
