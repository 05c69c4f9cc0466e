import { chmodSync, statSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { aptInstalls, Sandbox } from "./harness";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => {
  sb.cleanup();
});

describe("container-toolkit", () => {
  it("adds NVIDIA's repository with a pinned keyring and installs the toolkit", () => {
    const r = sb.runStep("container-toolkit", {});
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(sb.callLines("curl")[0]).toContain("https://nvidia.github.io/libnvidia-container/gpgkey");
    expect(sb.calls("gpg")[0]).toContain("--dearmor");
    expect(sb.exists("usr/share/keyrings/nvidia-container-toolkit-keyring.gpg")).toBe(true);
    expect(sb.read("etc/apt/sources.list.d/nvidia-container-toolkit.list")).toBe(
      "deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg] https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /\n",
    );
    // the index is refreshed after the list exists, then the toolkit installed
    const apt = sb.callLines("apt-get");
    const lastUpdate = apt.map((l) => l.endsWith(" update")).lastIndexOf(true);
    const install = apt.findIndex((l) => l.endsWith(" nvidia-container-toolkit"));
    expect(lastUpdate).toBeGreaterThanOrEqual(0);
    expect(install).toBeGreaterThan(lastUpdate);
  });

  it("does nothing when the toolkit is installed", () => {
    sb.installed("nvidia-container-toolkit 1.18.0-1");
    const r = sb.runStep("container-toolkit", {});
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("already installed");
    expect(sb.calls("apt-get")).toEqual([]);
    expect(sb.calls("curl")).toEqual([]);
  });

  it("re-running after an install changes nothing", () => {
    expect(sb.runStep("container-toolkit", {}).status).toBe(0);
    sb.clearCalls();
    expect(sb.runStep("container-toolkit", {}).status).toBe(0);
    expect(sb.calls("apt-get")).toEqual([]);
  });

  it("explains an unreachable repository", () => {
    sb.installed("ca-certificates", "curl", "gnupg");
    sb.set("curl-fails", "");
    const r = sb.runStep("container-toolkit", {});
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("[hybrid-inference:container-toolkit] could not download NVIDIA's repository key");
    expect(sb.exists("usr/share/keyrings/nvidia-container-toolkit-keyring.gpg")).toBe(false);
  });
});

describe("docker", () => {
  const env = { HI_SSH_USER: "deploy" };
  beforeEach(() => {
    sb.set("users", "deploy\n");
  });

  it("installs Docker from Docker's repository, wires the nvidia runtime, rotates logs and grants the SSH user", () => {
    const r = sb.runStep("docker", env);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(sb.read("etc/apt/sources.list.d/docker.list")).toBe(
      "deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/ubuntu noble stable\n",
    );
    expect(aptInstalls(sb).at(-1)?.slice(-3)).toEqual(["docker-ce", "docker-ce-cli", "containerd.io"]);
    const daemonJson = path.join(sb.root, "etc/docker/daemon.json");
    expect(sb.callLines("nvidia-ctk")).toEqual([`nvidia-ctk runtime configure --runtime=docker --config=${daemonJson}`]);
    const config = JSON.parse(sb.read("etc/docker/daemon.json")) as Record<string, unknown>;
    expect(config).toEqual({
      "log-driver": "json-file",
      "log-opts": { "max-file": "5", "max-size": "50m" },
      runtimes: { nvidia: { args: [], path: "nvidia-container-runtime" } },
    });
    expect(sb.callLines("systemctl")).toContain("systemctl enable docker.service containerd.service");
    expect(sb.callLines("systemctl")).toContain("systemctl start docker.service");
    expect(sb.callLines("usermod")).toEqual(["usermod -aG docker deploy"]);
  });

  it("uses the jammy repository on Ubuntu 22.04", () => {
    sb.osRelease("22.04");
    expect(sb.runStep("docker", env).status).toBe(0);
    expect(sb.read("etc/apt/sources.list.d/docker.list")).toContain("/linux/ubuntu jammy stable");
  });

  it("re-running changes nothing: no install, no restart, no usermod, same daemon.json", () => {
    expect(sb.runStep("docker", env).status).toBe(0);
    const before = sb.read("etc/docker/daemon.json");
    sb.clearCalls();
    const r = sb.runStep("docker", env);
    expect(r.status).toBe(0);
    expect(aptInstalls(sb)).toEqual([]);
    expect(sb.callLines("systemctl").filter((l) => /(start|restart|enable) /.test(l))).toEqual([]);
    expect(sb.calls("usermod")).toEqual([]);
    expect(sb.read("etc/docker/daemon.json")).toBe(before);
    expect(r.stdout).toContain("unchanged, no restart");
  });

  it("merges into an existing daemon.json without clobbering it and restarts Docker once", () => {
    sb.installed("docker-ce");
    sb.set("systemd-enabled", "docker.service\n");
    sb.set("systemd-active", "docker.service\n");
    sb.set("groups-deploy", "docker\n");
    sb.file(
      "etc/docker/daemon.json",
      JSON.stringify({ "data-root": "/nvme/docker", "log-opts": { labels: "app" }, runtimes: { custom: { path: "/usr/bin/crun" } } }),
    );
    const r = sb.runStep("docker", env);
    expect(r.status).toBe(0);
    const config = JSON.parse(sb.read("etc/docker/daemon.json")) as Record<string, unknown>;
    expect(config).toEqual({
      "data-root": "/nvme/docker",
      "log-driver": "json-file",
      "log-opts": { labels: "app", "max-file": "5", "max-size": "50m" },
      runtimes: { custom: { path: "/usr/bin/crun" }, nvidia: { args: [], path: "nvidia-container-runtime" } },
    });
    expect(sb.callLines("systemctl").filter((l) => l.includes("restart"))).toEqual(["systemctl restart docker.service"]);
    expect(aptInstalls(sb)).toEqual([]);
  });

  it("leaves another log driver alone", () => {
    sb.installed("docker-ce");
    sb.file("etc/docker/daemon.json", JSON.stringify({ "log-driver": "journald" }));
    const r = sb.runStep("docker", env);
    expect(r.status).toBe(0);
    const config = JSON.parse(sb.read("etc/docker/daemon.json")) as Record<string, unknown>;
    expect(config["log-driver"]).toBe("journald");
    expect(config["log-opts"]).toBeUndefined();
  });

  it("fails clearly when the SSH user does not exist", () => {
    sb.set("users", "");
    const r = sb.runStep("docker", env);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("user 'deploy' does not exist");
  });

  it("fails clearly when the container toolkit is missing", () => {
    sb.stub("nvidia-ctk", "exit 127");
    const r = sb.runStep("docker", env);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("nvidia-ctk runtime configure --runtime=docker' failed");
  });

  it("rejects a hostile user name as data, running nothing", () => {
    const canary = path.join(sb.dir, "pwned");
    const r = sb.runStep("docker", { HI_SSH_USER: `x$(touch ${canary})` });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`HI_SSH_USER must be a Linux user name`);
    expect(r.stderr).toContain(`x$(touch ${canary})`);
    expect(sb.exists("../pwned")).toBe(false);
    expect(sb.calls()).toEqual([]);
  });
});

describe("cache-dir", () => {
  const env = { HI_CACHE_DIR: "/var/lib/hybrid-inference/models" };

  it("creates the directory root-owned, mode 0755, and a re-run changes nothing", () => {
    const r = sb.runStep("cache-dir", env);
    expect(r.status).toBe(0);
    const st = statSync(path.join(sb.root, "var/lib/hybrid-inference/models"));
    expect(st.isDirectory()).toBe(true);
    expect(st.mode & 0o777).toBe(0o755);
    sb.clearCalls();
    const again = sb.runStep("cache-dir", env);
    expect(again.status).toBe(0);
    expect(again.stdout).not.toContain("created");
    expect(again.stdout).not.toContain("set mode");
  });

  it("fixes a wrong mode", () => {
    sb.file("var/lib/hybrid-inference/models/.keep", "");
    const dir = path.join(sb.root, "var/lib/hybrid-inference/models");
    chmodSync(dir, 0o777);
    const r = sb.runStep("cache-dir", env);
    expect(r.stdout).toContain("set mode of /var/lib/hybrid-inference/models to 0755 (was 777)");
    expect(statSync(dir).mode & 0o777).toBe(0o755);
  });

  describe("compile caches", () => {
    const withCaches = { ...env, HI_COMPILE_CACHE_DIRS: "compile-cache/vllm,compile-cache/flashinfer" };

    it("creates each compile cache under the model cache, root-owned 0755, where the engine mounts them", () => {
      const r = sb.runStep("cache-dir", withCaches);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      for (const sub of ["compile-cache/vllm", "compile-cache/flashinfer"]) {
        const st = statSync(path.join(sb.root, "var/lib/hybrid-inference/models", sub));
        expect(st.isDirectory(), sub).toBe(true);
        expect(st.mode & 0o777, sub).toBe(0o755);
      }
      expect(r.stdout).toContain("compile caches ready: compile-cache/vllm compile-cache/flashinfer under /var/lib/hybrid-inference/models");
    });

    it("keeps what a previous engine compiled: a re-run leaves the caches' contents alone", () => {
      sb.file("var/lib/hybrid-inference/models/compile-cache/vllm/torch_compile_cache/abc123/rank_0_0/model", "compiled");
      expect(sb.runStep("cache-dir", withCaches).status).toBe(0);
      expect(sb.read("var/lib/hybrid-inference/models/compile-cache/vllm/torch_compile_cache/abc123/rank_0_0/model")).toBe("compiled");
    });

    it("refuses a symbolic link or a file where a cache belongs, and paths that leave the model cache", () => {
      sb.file("var/lib/hybrid-inference/models/compile-cache/flashinfer", "not a directory");
      let r = sb.runStep("cache-dir", withCaches);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain("/var/lib/hybrid-inference/models/compile-cache/flashinfer exists and is not a plain directory");
      r = sb.runStep("cache-dir", { ...env, HI_COMPILE_CACHE_DIRS: "../../etc" });
      expect(r.stderr).toContain("HI_COMPILE_CACHE_DIRS must list relative paths");
    });
  });

  it.each([
    ["/etc", "is a system directory"],
    ["relative/models", "must be an absolute path"],
    ["/srv/../etc", "must not contain '.' or '..' components"],
    ["/srv/models dir", "must be an absolute path"],
    ["/srv/$(reboot)", "must be an absolute path"],
  ])("refuses HI_CACHE_DIR=%s", (dir, message) => {
    const r = sb.runStep("cache-dir", { HI_CACHE_DIR: dir });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(message);
    expect(sb.calls()).toEqual([]);
  });
});
