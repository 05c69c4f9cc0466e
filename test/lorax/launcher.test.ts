/**
 * The argv we give `lorax-launcher`, parsed the way the pinned launcher parses it (clap 4 over
 * the `Args` of launcher/src/main.rs at v0.12.1, as listed in core/render/lorax-flags-v0.12.1.json),
 * and what LoRAX does with it at start: preloaded adapters, shards, lengths.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import versions from "../../core/versions.json";
import flagList from "../../core/render/lorax-flags-v0.12.1.json";
import { QUANTIZATIONS } from "../../core/catalog/types";
import type { AdapterPlan, EnginePlan } from "../../core/plan/types";
import { loraxArgs } from "../../core/render/engine-args";
import { LAUNCHER_FLAGS, LauncherStartError, LoraxStub, loraxSettings, parseLauncherArgv } from "../router-harness/lorax-stub";
import { firstEngineContainer, loraxContainerEnv, loraxStack, planOrThrow } from "./fixtures";

const base = planOrThrow(loraxStack([])).engine;

const hub = (name: string, repo: string): AdapterPlan => ({ name, enginePath: repo, rank: 16 });
const local = (name: string, dir: string): AdapterPlan => ({ name, enginePath: dir, hostPath: dir, rank: 16 });

function withAdapters(adapters: readonly AdapterPlan[], patch: Partial<EnginePlan> = {}): EnginePlan {
  return { ...base, ...patch, lora: adapters.length === 0 ? null : { maxLoras: Math.min(adapters.length, 4), maxLoraRank: 16, maxCpuLoras: adapters.length, adapters } };
}

/** Any LoRAX engine the planner could produce: weight format, context, cards, a mix of Hub and local adapters. */
const engines = fc.record({
  quantization: fc.constantFrom(...QUANTIZATIONS),
  maxModelLen: fc.integer({ min: 1024, max: 131072 }),
  maxNumSeqs: fc.integer({ min: 1, max: 1024 }),
  tensorParallel: fc.constantFrom(1, 2, 4, 8),
  adapters: fc.uniqueArray(
    fc.record({
      id: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
      local: fc.boolean(),
    }),
    { selector: (a) => a.id, maxLength: 6 },
  ),
}).map((r) => ({
  tensorParallel: r.tensorParallel,
  engine: withAdapters(
    r.adapters.map((a) => (a.local ? local(a.id, `/srv/adapters/${a.id}`) : hub(a.id, `acme/${a.id}`))),
    { quantization: r.quantization, maxModelLen: r.maxModelLen, maxNumSeqs: r.maxNumSeqs },
  ),
}));

describe("the LoRAX launcher flag list", () => {
  it("was read from the pinned release's launcher", () => {
    expect(flagList.version).toBe(`v${versions.lorax.tag}`);
    expect(flagList.source).toContain("launcher/src/main.rs");
    // Spot checks against the source read by hand (main.rs at v0.12.1).
    const byFlag = new Map(LAUNCHER_FLAGS.map((f) => [f.flag, f]));
    expect(byFlag.get("--preloaded-adapter-ids")).toMatchObject({ type: "Vec<String>", repeatable: true, line: 367 });
    expect(byFlag.get("--quantize")?.values).toEqual(expect.arrayContaining(["awq", "gptq", "fp8", "eetq", "bitsandbytes-nf4"]));
    expect(byFlag.get("--sharded")?.values).toEqual(["true", "false"]);
    expect(byFlag.get("--port")).toMatchObject({ default: "3000", env: "PORT", short: "-p" });
    expect(byFlag.get("--compile")).toMatchObject({ takesValue: false });
    expect(LAUNCHER_FLAGS.some((f) => f.flag === "--api-key")).toBe(false); // LoRAX has no API key
  });
});

describe("loraxArgs", () => {
  it("only ever emits flags, values and combinations the launcher accepts", () => {
    fc.assert(fc.property(engines, ({ engine, tensorParallel }) => {
      const argv = loraxArgs(engine, { tensorParallel });
      const settings = loraxSettings(argv, { PORT: "80", HOSTNAME: "3f2a9c1b7d4e" });
      expect(settings.modelId).toBe(engine.hfRepo);
      expect(settings.port).toBe(engine.port);
      expect(settings.hostname).toBe("0.0.0.0");
      expect(settings.numShard).toBe(tensorParallel);
      expect(settings.maxTotalTokens).toBe(engine.maxModelLen);
      expect(settings.quantize === undefined).toBe(engine.quantization === "bf16");
    }), { numRuns: 300 });
  });

  it("preloads every Hub adapter, one flag occurrence each, or else every local one, with their source", () => {
    fc.assert(fc.property(engines, ({ engine, tensorParallel }) => {
      const settings = loraxSettings(loraxArgs(engine, { tensorParallel }));
      const adapters = engine.lora?.adapters ?? [];
      const hubIds = adapters.filter((a) => a.hostPath === undefined).map((a) => a.enginePath);
      const localIds = adapters.filter((a) => a.hostPath !== undefined).map((a) => a.enginePath);
      const [ids, source] = hubIds.length > 0 ? [hubIds, "hub"] : [localIds, "local"];
      expect(settings.preloadedIds).toEqual(ids);
      if (ids.length > 0) expect(settings.preloadedSource).toBe(source);
    }), { numRuns: 300 });
  });

  it("gives two Hub adapters as two ids; the comma-joined form LoRAX would read as one id and fail to start", () => {
    const engine = withAdapters([hub("support", "acme/support-lora"), hub("sql", "acme/sql-lora")]);
    const argv = loraxArgs(engine, { tensorParallel: 1 });
    expect(loraxSettings(argv).preloadedIds).toEqual(["acme/support-lora", "acme/sql-lora"]);
    const world = { hubRepos: ["acme/support-lora", "acme/sql-lora"] };
    expect(() => new LoraxStub({ argv, ...world })).not.toThrow();
    const commaJoined = [...argv.slice(0, argv.indexOf("--preloaded-adapter-ids")), "--preloaded-adapter-ids", "acme/support-lora,acme/sql-lora"];
    expect(loraxSettings(commaJoined).preloadedIds).toEqual(["acme/support-lora,acme/sql-lora"]);
    expect(() => new LoraxStub({ argv: commaJoined, ...world })).toThrow(/Failed to download all adapters: .*acme\/support-lora,acme\/sql-lora/);
  });

  it("does not start when a preloaded local adapter's directory is not mounted", () => {
    const engine = withAdapters([local("bot", "/srv/adapters/bot")]);
    const argv = loraxArgs(engine, { tensorParallel: 1 });
    expect(loraxSettings(argv).preloadedSource).toBe("local");
    const mounted = { mounts: [{ hostPath: "/srv/adapters/bot", containerPath: "/srv/adapters/bot" }], hostAdapterDirs: ["/srv/adapters/bot"] };
    expect(() => new LoraxStub({ argv, ...mounted })).not.toThrow();
    expect(() => new LoraxStub({ argv, hostAdapterDirs: ["/srv/adapters/bot"] })).toThrow(/No local weights found in \/srv\/adapters\/bot/);
  });

  it("is what the planned engine container runs, with the image's PORT and Docker's HOSTNAME overridden", () => {
    const spec = firstEngineContainer(planOrThrow(loraxStack([{ name: "support-bot", source: "hf://acme/support-lora" }])));
    const settings = loraxSettings(spec.command, loraxContainerEnv(spec));
    expect(settings.port).toBe(8000);
    expect(settings.hostname).toBe("0.0.0.0");
    expect(settings.preloadedIds).toEqual(["acme/support-lora"]);
    // Without our flags clap would take them from the env the image and Docker set.
    const bare = parseLauncherArgv(["--model-id", "Qwen/Qwen2.5-7B-Instruct"], loraxContainerEnv(spec));
    expect([bare.get("port"), bare.get("hostname")]).toEqual([["80"], ["3f2a9c1b7d4e"]]);
  });
});

describe("the launcher argv parser (clap's rules, as the stub applies them)", () => {
  it("refuses what clap refuses, in clap's words", () => {
    const refusals: [string[], RegExp][] = [
      [["--model-id", "m", "--api-key", "x"], /unexpected argument '--api-key' found/],
      [["--model-id", "m", "--port", "80", "--port", "81"], /'--port' cannot be used multiple times/],
      [["--model-id", "m", "--quantize", "w4a16"], /invalid value 'w4a16' for '--quantize'/],
      [["--model-id", "m", "--sharded"], /a value is required for '--sharded'/],
      [["--model-id", "m", "--num-shard", "two"], /invalid value 'two' for '--num-shard'/],
      [["Qwen/Qwen2.5-7B-Instruct"], /unexpected argument 'Qwen\/Qwen2.5-7B-Instruct' found/],
    ];
    for (const [argv, message] of refusals) expect(() => parseLauncherArgv(argv), argv.join(" ")).toThrow(message);
  });

  it("refuses what the launcher and server refuse at start", () => {
    expect(() => loraxSettings(["--model-id", "m", "--quantize", "awq", "--dtype", "bfloat16"])).toThrow(LauncherStartError);
    expect(() => loraxSettings(["--model-id", "m", "--sharded", "true", "--num-shard", "1"])).toThrow(/`sharded` is true but `num_shard` <= 1/);
    expect(() => loraxSettings(["--model-id", "m", "--max-input-length", "4096", "--max-total-tokens", "4096"])).toThrow(/must be < `max_total_tokens`/);
  });
});

describe("the LoRAX engine container", () => {
  it("gets the Hugging Face token under the name LoRAX's router reads too, as a secret, and no engine API key", () => {
    const raw = loraxStack([]);
    const withToken = {
      ...raw,
      values: { ...raw.values, access: { ...(raw.values["access"] as Record<string, unknown>), hf_token_secret: "hfToken" }, hfToken: { secure: "v1:PLACEHOLDER" } },
      secretKeys: new Set([...raw.secretKeys, "hfToken"]),
    };
    const spec = firstEngineContainer(planOrThrow(withToken));
    expect(spec.secretEnv).toEqual({
      HF_TOKEN: { kind: "config", configKey: "hfToken" },
      HUGGING_FACE_HUB_TOKEN: { kind: "config", configKey: "hfToken" },
    });
    expect(Object.keys(spec.env).filter((k) => /TOKEN|KEY/.test(k))).toEqual([]);
  });
});
