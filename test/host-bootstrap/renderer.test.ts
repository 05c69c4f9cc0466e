import { renderScript } from "../../core/render/script";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  BOOTSTRAP_STEPS,
  DISRUPTIVE_STEPS,
  hostSteps,
  makeStep,
  parseGpuInventory,
  renderCloudInit,
  renderHostBootstrap,
  renderStepCommand,
  shellQuote,
  type HostBootstrapParams,
} from "../../core/render/host-bootstrap";
import { Sandbox, TEMPLATES } from "./harness";

const base: HostBootstrapParams = {
  hostName: "gpu-uk-1",
  sshUser: "ubuntu",
  gpu: { smiName: "NVIDIA GeForce RTX 5090", count: 2, minDriverBranch: 575, openKernelModules: true },
  cacheDir: "/var/lib/hybrid-inference/models",
  minFreeDiskGB: 200,
  adminCidrs: ["203.0.113.0/24", "2001:db8:10::/48"],
  router: { ports: [4000], allowedCidrs: ["0.0.0.0/0", "::/0"] },
  engine: null,
};

const HOSTILE = [
  "$(rm -rf /)",
  "`rm -rf /`",
  "it's",
  "'; rm -rf / #",
  '"$HOME" \\ \\\' $PATH',
  "line1\nline2\r\n",
  "-n",
  "*",
  "~root",
  "a=b c=d",
  "",
  "ünïcødé ✓ \t tab",
];

describe("renderHostBootstrap", () => {
  it("returns the steps in order, each with its template and exactly the variables it reads", () => {
    const steps = renderHostBootstrap(base);
    expect(steps.map((s) => s.name)).toEqual([...BOOTSTRAP_STEPS]);
    for (const s of steps) expect(s.script).toBe(renderScript(path.join(TEMPLATES, `${s.name}.sh`)));
    const { "engine-watchdog": watchdog, ...envs } = Object.fromEntries(steps.map((s) => [s.name, s.env]));
    expect(Object.keys(watchdog ?? {}).sort()).toEqual(["HI_WATCHDOG_INTERVAL_S", "HI_WATCHDOG_PROGRAM_GZ"]);
    expect(watchdog?.HI_WATCHDOG_INTERVAL_S).toBe("30");
    expect(gunzipSync(Buffer.from(watchdog?.HI_WATCHDOG_PROGRAM_GZ ?? "", "base64")).toString("utf8")).toBe(renderScript(path.join("engine", "engine-watchdog.sh")));
    expect(envs).toEqual({
      preflight: { HI_CACHE_DIR: "/var/lib/hybrid-inference/models", HI_MIN_FREE_GB: "200" },
      "nvidia-driver": { HI_DRIVER_BRANCH: "575", HI_OPEN_KERNEL_MODULES: "true" },
      "reboot-if-required": { HI_DRIVER_BRANCH: "575" },
      "ssh-hardening": { HI_SSH_USER: "ubuntu" },
      "container-toolkit": {},
      docker: { HI_SSH_USER: "ubuntu" },
      firewall: {
        HI_ADMIN_CIDRS: "203.0.113.0/24,2001:db8:10::/48",
        HI_SSH_PORT: "22",
        HI_ROUTER_PORT: "4000",
        HI_ROUTER_ALLOWED_CIDRS: "0.0.0.0/0,::/0",
        HI_ENGINE_PORT: "",
        HI_ENGINE_ALLOWED_SOURCES: "",
      },
      "cache-dir": { HI_CACHE_DIR: "/var/lib/hybrid-inference/models", HI_COMPILE_CACHE_DIRS: "compile-cache/vllm,compile-cache/flashinfer" },
      "verify-gpus": { HI_GPU_COUNT: "2", HI_GPU_NAME: "NVIDIA GeForce RTX 5090", HI_DRIVER_BRANCH: "575" },
    });
  });

  it("passes an engine-only host's settings to the firewall", () => {
    const steps = renderHostBootstrap({ ...base, router: null, engine: { port: 8000, allowedSources: ["198.51.100.7"] }, sshPort: 2222 });
    expect(steps.find((s) => s.name === "firewall")?.env).toMatchObject({
      HI_SSH_PORT: "2222",
      HI_ROUTER_PORT: "",
      HI_ROUTER_ALLOWED_CIDRS: "",
      HI_ENGINE_PORT: "8000",
      HI_ENGINE_ALLOWED_SOURCES: "198.51.100.7",
    });
  });

  it("every variable a step receives is documented in that step's header", () => {
    for (const s of renderHostBootstrap(base)) {
      const header = s.script.slice(0, s.script.indexOf("\nSTEP="));
      for (const k of Object.keys(s.env)) expect(header, `${s.name} documents ${k}`).toContain(k);
    }
  });

  it("reports every invalid parameter at once, naming the host", () => {
    const bad: HostBootstrapParams = {
      ...base,
      sshUser: "Root User",
      gpu: { ...base.gpu, count: 0, minDriverBranch: 57.5 },
      cacheDir: "relative/dir",
      adminCidrs: [],
      router: { ports: [22], allowedCidrs: ["10.0.0.1/8"] },
    };
    expect(() => renderHostBootstrap(bad)).toThrowError(
      new RegExp(
        [
          'host "gpu-uk-1": invalid bootstrap parameters:',
          "  - sshUser must be a Linux user name",
          "gpu.count must be a whole number from 1 to 64, got 0",
          "gpu.minDriverBranch must be a whole number from 100 to 999, got 57.5",
          "cacheDir must be an absolute path",
          "adminCidrs must list at least one CIDR \\(the firewall would otherwise lock out SSH\\)",
          'router.allowedCidrs\\[0\\] "10.0.0.1/8": has host bits set after /8',
          "router port 22 is the SSH port",
        ].join("[\\s\\S]*"),
      ),
    );
  });

  it("lets free text through as data (it is quoted, not validated)", () => {
    const steps = renderHostBootstrap({ ...base, gpu: { ...base.gpu, smiName: "$(rm -rf /)" } });
    expect(steps.at(-1)?.env.HI_GPU_NAME).toBe("$(rm -rf /)");
  });
});

describe("the driver the hosts hold", () => {
  const env = (p: HostBootstrapParams, step: string): Readonly<Record<string, string>> | undefined => renderHostBootstrap(p).find((s) => s.name === step)?.env;

  it("installs, reboots for and verifies the plan's branch; a refresh label reaches the driver step only", () => {
    const p: HostBootstrapParams = { ...base, driver: { branch: 590, refresh: "2026-12-01" } };
    expect(env(p, "nvidia-driver")).toEqual({ HI_DRIVER_BRANCH: "590", HI_OPEN_KERNEL_MODULES: "true", HI_DRIVER_REFRESH: "2026-12-01" });
    expect(env(p, "reboot-if-required")).toEqual({ HI_DRIVER_BRANCH: "590" });
    expect(env(p, "verify-gpus")).toMatchObject({ HI_DRIVER_BRANCH: "590" });
    // without a driver setting: the card's minimum, as before
    expect(env(base, "nvidia-driver")).toEqual({ HI_DRIVER_BRANCH: "575", HI_OPEN_KERNEL_MODULES: "true" });
  });

  it("passes the engine image and its CUDA requirement to the card check when the plan knows it", () => {
    const image = { repository: "vllm/vllm-openai", tag: "v0.33.0", digest: `sha256:${"a".repeat(64)}` };
    expect(env({ ...base, engineImage: { image, cudaRequirement: "cuda>=13.0" } }, "verify-gpus")).toMatchObject({
      HI_ENGINE_IMAGE: `vllm/vllm-openai:v0.33.0@sha256:${"a".repeat(64)}`, HI_CUDA_REQUIREMENT: "cuda>=13.0",
    });
    expect(env({ ...base, engineImage: { image, cudaRequirement: null } }, "verify-gpus")).not.toHaveProperty("HI_CUDA_REQUIREMENT");
  });

  it("refuses a branch below the card's minimum, a bad refresh label and an unreadable CUDA requirement", () => {
    const image = { repository: "vllm/vllm-openai", tag: "v0.33.0" };
    expect(() => renderHostBootstrap({ ...base, driver: { branch: 570, refresh: "a b" }, engineImage: { image, cudaRequirement: "13.0" } })).toThrowError(
      new RegExp([
        'driver.branch 570 is below 575, the oldest branch for "NVIDIA GeForce RTX 5090"',
        'driver.refresh must be 1-64 letters, digits and ._:-, got "a b"',
        'engineImage.cudaRequirement must start with a term like cuda>=13.0, got "13.0"',
      ].join("[\\s\\S]*")));
  });
});

describe("hostSteps: what re-runs what, and what may interrupt serving", () => {
  it("re-runs the reboot check and the card check after any step changes, every other step after its own change only", () => {
    const steps = hostSteps(base);
    const changed = hostSteps({ ...base, adminCidrs: ["198.51.100.0/24"] });
    for (const [i, s] of steps.entries()) {
      const reruns = JSON.stringify(s.triggers) !== JSON.stringify(changed[i]!.triggers);
      expect(reruns, s.name).toBe(["firewall", "reboot-if-required", "verify-gpus"].includes(s.name));
    }
    const reboot = steps.find((s) => s.name === "reboot-if-required")!;
    expect(reboot.triggers).toEqual(steps.map((s) => s.sha256));
    expect(reboot.rebootAfter).toBe(true);
    expect(steps.filter((s) => s.rebootAfter).map((s) => s.name)).toEqual(["reboot-if-required"]);
  });

  it("re-runs the reboot check when only the driver's refresh label changes", () => {
    const before = hostSteps({ ...base, driver: { branch: 575 } });
    const after = hostSteps({ ...base, driver: { branch: 575, refresh: "r1" } });
    const triggers = (steps: typeof before, name: string): readonly string[] => steps.find((s) => s.name === name)!.triggers;
    expect(triggers(after, "nvidia-driver")).not.toEqual(triggers(before, "nvidia-driver"));
    expect(triggers(after, "reboot-if-required")).not.toEqual(triggers(before, "reboot-if-required"));
    expect(triggers(after, "docker")).toEqual(triggers(before, "docker"));
  });

  it("marks the steps that may interrupt serving (driver, reboot, Docker restart) for a rollout to drain first", () => {
    expect(hostSteps(base).filter((s) => s.disruptsServing).map((s) => s.name)).toEqual([...DISRUPTIVE_STEPS]);
    expect(DISRUPTIVE_STEPS).toEqual(["nvidia-driver", "reboot-if-required", "docker"]);
  });
});

describe("step hash", () => {
  const step = (): ReturnType<typeof renderHostBootstrap>[number] => {
    const s = renderHostBootstrap(base).find((x) => x.name === "verify-gpus");
    if (!s) throw new Error("no verify-gpus step");
    return s;
  };

  it("is stable for the same script and env, whatever the env's key order", () => {
    const s = step();
    expect(renderHostBootstrap(base).find((x) => x.name === "verify-gpus")?.sha256).toBe(s.sha256);
    const reordered = Object.fromEntries(Object.entries(s.env).reverse());
    expect(makeStep(s.name, s.script, reordered).sha256).toBe(s.sha256);
    expect(s.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("changes when the script changes", () => {
    const s = step();
    expect(makeStep(s.name, `${s.script}\n# edited\n`, s.env).sha256).not.toBe(s.sha256);
  });

  it("changes when any env value changes, including through the params", () => {
    const s = step();
    expect(makeStep(s.name, s.script, { ...s.env, HI_GPU_COUNT: "3" }).sha256).not.toBe(s.sha256);
    const other = renderHostBootstrap({ ...base, gpu: { ...base.gpu, count: 1 } });
    expect(other.find((x) => x.name === "verify-gpus")?.sha256).not.toBe(s.sha256);
    // steps that do not read the changed value keep their hash (and do not re-run)
    expect(other.find((x) => x.name === "docker")?.sha256).toBe(renderHostBootstrap(base).find((x) => x.name === "docker")?.sha256);
  });

  it("does not confuse a value moving between keys", () => {
    expect(makeStep("x", "s", { A: "1", B: "" }).sha256).not.toBe(makeStep("x", "s", { A: "", B: "1" }).sha256);
    expect(makeStep("x", "s", { A: "1=B" }).sha256).not.toBe(makeStep("x", "s", { A: "1", B: "" }).sha256);
  });
});

describe("shellQuote and renderStepCommand", () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = new Sandbox();
  });
  afterEach(() => {
    sb.cleanup();
  });

  it("quotes POSIX-style", () => {
    expect(shellQuote("abc")).toBe("'abc'");
    expect(shellQuote("")).toBe("''");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(() => shellQuote("a\0b")).toThrow(/NUL/);
  });

  it("renders sudo -n env with every value quoted, and plain sudo for a step without variables", () => {
    const [preflight] = renderHostBootstrap(base);
    expect(preflight && renderStepCommand(preflight)).toBe(
      "sudo -n env HI_CACHE_DIR='/var/lib/hybrid-inference/models' HI_MIN_FREE_GB='200' bash -s",
    );
    const toolkit = renderHostBootstrap(base).find((s) => s.name === "container-toolkit");
    expect(toolkit && renderStepCommand(toolkit)).toBe("sudo -n bash -s");
    expect(() => renderStepCommand(makeStep("x", "", { "BAD NAME": "1" }))).toThrow(/invalid environment variable name/);
  });

  it("delivers hostile values byte for byte and runs none of them", () => {
    const canary = path.join(sb.dir, "pwned");
    const values = [...HOSTILE, `$(touch ${canary})`, `\`touch ${canary}\``, `'; touch ${canary}; '`, `"; touch ${canary}; "`];
    const env = Object.fromEntries(values.map((v, i) => [`HI_V${i}`, v]));
    const command = renderStepCommand(makeStep("probe", "", env));
    // The stdin script dumps each variable NUL-terminated; a stub sudo runs the command as is.
    const dump = values.map((_, i) => `printf '%s\\0' "$HI_V${i}"`).join("\n");
    const r = sb.runCommand(command, dump);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.split("\0").slice(0, -1)).toEqual(values);
    expect(sb.exists("../pwned")).toBe(false);
  });

  it("round-trips arbitrary strings through bash (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary", minLength: 0, maxLength: 40 }).filter((s) => !s.includes("\0")), { minLength: 1, maxLength: 25 }), (values) => {
        const script = values.map((v) => `printf '%s\\0' ${shellQuote(v)}`).join("\n");
        const r = sb.runCommand(script, "");
        expect(r.status).toBe(0);
        expect(r.stdout.split("\0").slice(0, -1)).toEqual(values);
      }),
      { numRuns: 40 },
    );
  });

  it("runs a real step through the rendered command with a hostile GPU name kept as data", () => {
    const canary = path.join(sb.dir, "pwned");
    const smiName = `$(touch ${canary})\`touch ${canary}\`'"\n`;
    const step = renderHostBootstrap({ ...base, gpu: { ...base.gpu, count: 1, smiName } }).find((s) => s.name === "verify-gpus");
    if (!step) throw new Error("no verify-gpus step");
    sb.set("nvidia-smi-query", "NVIDIA GeForce RTX 5090, 32607, 575.57.08\n");
    const r = sb.runCommand(renderStepCommand(step), step.script);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`GPU 0 is 'NVIDIA GeForce RTX 5090' but the stack declares '$(touch ${canary})\`touch ${canary}\`'"`);
    expect(sb.exists("../pwned")).toBe(false);
  });
});

describe("renderCloudInit", () => {
  type WriteFile = { path: string; owner: string; permissions: string; content: string; encoding?: string };
  const parse = (text: string): { write_files: WriteFile[]; runcmd: string[][] } =>
    parseYaml(text) as { write_files: WriteFile[]; runcmd: string[][] };

  it("is #cloud-config YAML that writes every script, the env file, and runs run-all.sh", () => {
    const text = renderCloudInit(base);
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    const doc = parse(text);
    const byPath = new Map(doc.write_files.map((f) => [f.path, f]));
    for (const name of [...BOOTSTRAP_STEPS, "run-all"]) {
      const f = byPath.get(`/opt/hybrid-inference/bootstrap/${name}.sh`);
      expect(f?.content, name).toBe(renderScript(path.join(TEMPLATES, `${name}.sh`)));
      expect(f?.permissions).toBe("0755");
      expect(f?.owner).toBe("root:root");
    }
    expect(byPath.get("/etc/hybrid-inference/bootstrap.env")?.permissions).toBe("0600");
    expect(doc.runcmd).toEqual([["bash", "/opt/hybrid-inference/bootstrap/run-all.sh", "install"]]);
  });

  it("writes an env file that bash reads back as exactly the steps' values, hostile or not", () => {
    const sb = new Sandbox();
    try {
      const canary = path.join(sb.dir, "pwned");
      const smiName = `${HOSTILE.join("|")}$(touch ${canary})`;
      const doc = parse(renderCloudInit({ ...base, gpu: { ...base.gpu, smiName } }));
      const envFile = doc.write_files.find((f) => f.path === "/etc/hybrid-inference/bootstrap.env")?.content ?? "";
      const file = sb.file("bootstrap.env", envFile);
      const names = ["HI_GPU_NAME", "HI_ADMIN_CIDRS", "HI_ENGINE_PORT", "HI_OPEN_KERNEL_MODULES", "HI_SSH_USER"];
      const r = sb.runCommand(`set -a; . ${shellQuote(file)}; ${names.map((n) => `printf '%s\\0' "$${n}"`).join("; ")}`, "");
      expect(r.stderr).toBe("");
      expect(r.stdout.split("\0").slice(0, -1)).toEqual([smiName, "203.0.113.0/24,2001:db8:10::/48", "", "true", "ubuntu"]);
      expect(sb.exists("../pwned")).toBe(false);
    } finally {
      sb.cleanup();
    }
  });

  it("can compress the files for providers with small user-data limits", () => {
    const plain = renderCloudInit(base);
    const gz = renderCloudInit(base, { encoding: "gzip" });
    expect(gz.length).toBeLessThan(plain.length * 0.6);
    const files = parse(gz).write_files;
    for (const f of files) {
      expect(f.encoding).toBe("gz+b64");
      const original = parse(plain).write_files.find((p) => p.path === f.path);
      expect(gunzipSync(Buffer.from(f.content, "base64")).toString("utf8")).toBe(original?.content);
    }
  });
});

describe("parseGpuInventory", () => {
  it("finds the line among other output", () => {
    const out = '[hybrid-inference:verify-gpus] ok\nHI_GPU_INVENTORY={"gpus":[{"name":"A","memoryMiB":1}],"driverVersion":"575.1","cudaVersion":null}\n';
    expect(parseGpuInventory(out)).toEqual({ gpus: [{ name: "A", memoryMiB: 1 }], driverVersion: "575.1", cudaVersion: null });
  });
  it("throws without the line or with a malformed one", () => {
    expect(() => parseGpuInventory("nothing")).toThrow(/no HI_GPU_INVENTORY= line/);
    expect(() => parseGpuInventory('HI_GPU_INVENTORY={"gpus":"x"}')).toThrow(/malformed/);
  });
});
