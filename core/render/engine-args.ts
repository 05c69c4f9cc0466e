/**
 * The engine's command line for one host, from the plan. Pure: the components pass
 * this argv to the container as its command; the `plan` command writes it for review.
 */
import type { EnginePlan } from "../plan/types";
import { loraxPreload } from "./lorax";

/** How an engine server splits its cards: tensor parallel within a replica, data parallel across replicas. */
export interface Parallelism {
  readonly tensorParallel: number;
  readonly dataParallel: number;
}

/**
 * vLLM `serve` arguments (the image's entrypoint is `vllm serve`, so argv starts with the
 * model). Every flag checked against vLLM v0.33.0: vllm/engine/arg_utils.py (EngineArgs
 * fields), vllm/entrypoints/common/cli_args.py (`--lora-modules` JSON form),
 * vllm/config/lora.py (allowed ranks). The API key is not a flag: it reaches the server as
 * the `VLLM_API_KEY` env var (vllm/envs.py), so it never shows in `ps` or `docker inspect`'s Cmd.
 */
export function vllmArgs(engine: EnginePlan, host: Parallelism): string[] {
  const args = [
    engine.hfRepo,
    "--served-model-name", engine.servedModelName,
    "--host", "0.0.0.0",
    "--port", String(engine.port),
    // No `--quantization` for quantized checkpoints: vLLM reads the method from the
    // checkpoint's quantization_config and picks its fastest kernel (Marlin on Ampere and
    // newer). Forcing a method breaks compressed-tensors checkpoints (RedHatAI w4a16) and
    // plain awq/gptq fail on Blackwell (vllm-project/vllm#37387).
    "--dtype", engine.quantization === "bf16" ? "bfloat16" : "auto",
    "--max-model-len", String(engine.maxModelLen),
    "--gpu-memory-utilization", String(engine.gpuMemoryUtilization),
    "--max-num-seqs", String(engine.maxNumSeqs),
    "--max-num-batched-tokens", String(engine.maxNumBatchedTokens),
    "--tensor-parallel-size", String(host.tensorParallel),
    ...(host.dataParallel > 1 ? ["--data-parallel-size", String(host.dataParallel)] : []),
    engine.enablePrefixCaching ? "--enable-prefix-caching" : "--no-enable-prefix-caching",
    "--kv-cache-dtype", engine.kvCacheDtype,
    // Consumer cards talk over PCIe without NVLink; vLLM's custom all-reduce can hang
    // there (vLLM issues #5484, #14449), NCCL's ring is safe.
    ...(host.tensorParallel > 1 ? ["--disable-custom-all-reduce"] : []),
  ];
  if (engine.lora) {
    args.push("--enable-lora", "--max-loras", String(engine.lora.maxLoras), "--max-lora-rank", String(engine.lora.maxLoraRank),
      "--max-cpu-loras", String(engine.lora.maxCpuLoras));
    args.push("--lora-modules", ...engine.lora.adapters.map((a) => JSON.stringify({ name: a.name, path: a.enginePath, base_model_name: engine.servedModelName })));
  }
  return args;
}

/** LoRAX's own names for our weight formats (`lorax-launcher --quantize`). */
const LORAX_QUANTIZE: Readonly<Record<EnginePlan["quantization"], string | null>> = { bf16: null, fp8: "fp8", awq: "awq", gptq: "gptq" };

/**
 * `lorax-launcher` arguments (the image's entrypoint, Dockerfile:260), for LoRAX v0.12.1.
 * Every flag is one of core/render/lorax-flags-v0.12.1.json, read from the launcher's own
 * `Args` (launcher/src/main.rs:271-635); test/lorax checks the argv against it the way clap
 * parses it. LoRAX loads adapters per request by id (core/render/lorax.ts), so declared
 * adapters are preloaded rather than listed as served models.
 */
export function loraxArgs(engine: EnginePlan, host: Pick<Parallelism, "tensorParallel">): string[] {
  const quantize = LORAX_QUANTIZE[engine.quantization];
  const args = [
    // Also the base model's name in requests: LoRAX compares `model` with it (core/render/lorax.ts).
    "--model-id", engine.hfRepo,
    // Both explicit: clap falls back to the env vars HOSTNAME (the container's own host name
    // under Docker and Kubernetes) and PORT (80 in the image, Dockerfile:171-173).
    "--hostname", "0.0.0.0",
    "--port", String(engine.port),
    // `--dtype` and `--quantize` are exclusive (server/lorax_server/cli.py:87-91).
    ...(quantize ? ["--quantize", quantize] : ["--dtype", "bfloat16"]),
    // The router refuses a prefill budget below the input length (router/src/main.rs:438-439).
    "--max-input-length", String(engine.maxModelLen - 1),
    "--max-total-tokens", String(engine.maxModelLen),
    "--max-batch-prefill-tokens", String(Math.max(engine.maxNumBatchedTokens, engine.maxModelLen)),
    "--max-concurrent-requests", String(engine.maxNumSeqs * 2),
    // One replica over `tensorParallel` cards. Explicit, because without it the launcher
    // counts CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES entries ("all" counts as one) and
    // `--sharded true` needs more than one shard (main.rs:1056-1094).
    "--num-shard", String(host.tensorParallel),
    ...(host.tensorParallel > 1 ? ["--sharded", "true"] : []),
  ];
  if (engine.lora) {
    args.push("--max-active-adapters", String(engine.lora.maxLoras));
    const preload = loraxPreload(engine);
    if (preload) {
      // One occurrence per adapter: clap appends each to a Vec; "a,b" would be one id (main.rs:365-367).
      for (const id of preload.ids) args.push("--preloaded-adapter-ids", id);
      args.push("--preloaded-adapter-source", preload.source);
    }
  }
  return args;
}

export function engineArgs(engine: EnginePlan, host: Parallelism): string[] {
  switch (engine.kind) {
    case "vllm":
      return vllmArgs(engine, host);
    case "lorax":
      return loraxArgs(engine, host);
    default: {
      const unreachable: never = engine.kind;
      throw new Error(`unknown engine ${String(unreachable)}`);
    }
  }
}

/** A shell-safe one-line rendering of an argv, for review files and logs. */
export function argvForDisplay(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_./:=,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}
