/**
 * The engine's command line for one host, from the plan. Pure: the components pass
 * this argv to the container as its command; the `plan` command writes it for review.
 */
import type { EnginePlan } from "../plan/types";

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
 * `lorax-launcher` arguments (the image's entrypoint), for LoRAX v0.12.1
 * (predibase/lorax launcher/src/main.rs). LoRAX loads adapters per request by id, so
 * declared adapters are preloaded rather than listed as served models.
 */
export function loraxArgs(engine: EnginePlan, host: Pick<Parallelism, "tensorParallel">): string[] {
  const quantize = LORAX_QUANTIZE[engine.quantization];
  const args = [
    "--model-id", engine.hfRepo,
    "--hostname", "0.0.0.0",
    "--port", String(engine.port),
    ...(quantize ? ["--quantize", quantize] : ["--dtype", "bfloat16"]),
    "--max-input-length", String(engine.maxModelLen - 1),
    "--max-total-tokens", String(engine.maxModelLen),
    "--max-batch-prefill-tokens", String(Math.max(engine.maxNumBatchedTokens, engine.maxModelLen)),
    "--max-concurrent-requests", String(engine.maxNumSeqs * 2),
  ];
  if (host.tensorParallel > 1) args.push("--sharded", "true", "--num-shard", String(host.tensorParallel));
  if (engine.lora) {
    args.push("--adapter-source", "hub", "--max-active-adapters", String(engine.lora.maxLoras));
    const hub = engine.lora.adapters.filter((a) => !a.hostPath).map((a) => a.enginePath);
    if (hub.length > 0) args.push("--preloaded-adapter-ids", hub.join(","));
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
