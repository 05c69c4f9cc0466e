/**
 * What LoRAX can run and load: the release the project pins (core/versions.json,
 * `ghcr.io/predibase/lorax:0.12.1`), read from its own source at tag v0.12.1
 * (github.com/predibase/lorax, commit c0e5798, read 2026-11-30). File:line references below
 * are to that tag.
 *
 * Status: v0.12.1 (tagged 2024-11-25) is LoRAX's last release. The main branch had commits
 * until 2026-05 but no new release, and its Dockerfile still builds on CUDA 12.4 and
 * PyTorch 2.4.0 (Dockerfile:38-43 on main too), so nothing here changes with a `main` image.
 *
 * Which cards (the image)
 * - Built on `nvidia/cuda:12.4.0` with PyTorch 2.4.0 for CUDA 12.4 (Dockerfile:38-43, 164).
 *   LoRAX's own kernels are compiled with TORCH_CUDA_ARCH_LIST "8.0;8.6+PTX": exllama,
 *   exllamav2, AWQ, punica (the multi-LoRA SGMV kernels), megablocks, EETQ
 *   (Dockerfile:105, 111, 117, 145, 153, 161); flash-attention is v2.5.8 (server/Makefile-flash-att-v2:1),
 *   whose setup.py builds sm_80 and sm_90 [U: not re-read here]; the vendored vLLM kernels
 *   are built for 7.0-9.0 (Dockerfile:136).
 * - Ampere (sm_86) runs these directly. Ada (sm_89) runs sm_80/sm_86 cubins by binary
 *   compatibility within compute capability 8.x; LoRAX does not document Ada and nobody here
 *   has run it [U].
 * - RTX 50xx (Blackwell, sm_120): PyTorch 2.4 has no sm_120 code (PyTorch builds it from 2.7
 *   with CUDA 12.8), so even PyTorch's own kernels fail there with "no kernel image is
 *   available for execution on the device" (the error older PyTorch builds give on RTX 50xx,
 *   e.g. pytorch/pytorch#180101, HybridRobotics/berkeley-humanoid-lite#49 with torch 2.5.1);
 *   flash-attention has no sm_120 build either. No LoRAX image runs on these cards.
 *
 * Which weight formats (`lorax-launcher --quantize`, launcher/src/main.rs:133-179)
 * - bf16: `--dtype bfloat16` (main.rs:227-233). `--dtype` and `--quantize` are exclusive
 *   (server/lorax_server/cli.py:87-91).
 * - awq: reads `<layer>.qweight/.qzeros/.scales` and `quantization_config.bits/group_size`
 *   (server/lorax_server/utils/weights.py:98-120, 211-223, 236-252): AutoAWQ (GEMM)
 *   checkpoints, such as Qwen's official `-AWQ` repos.
 * - gptq: the same tensors plus `.g_idx` (weights.py:98-120, 145-210): AutoGPTQ checkpoints
 *   such as Qwen's `-GPTQ-Int4`. compressed-tensors checkpoints (RedHatAI `*-quantized.w4a16`:
 *   `weight_packed`/`weight_scale` tensors, `quant_method: compressed-tensors`, no top-level
 *   `bits`) have none of these tensors: LoRAX fails with "Cannot load `gptq` weight".
 * - fp8: only on compute capability >= 8.9 (server/lorax_server/utils/torch_utils.py:17-22,
 *   enforced at load: models/flash_causal_lm.py:1080), and only for checkpoints that already
 *   hold FP8 `weight` plus `weight_scale` tensors (weights.py:123-140; layers/fp8.py:37 reads
 *   the scale, there is no on-the-fly quantization of bf16 weights). LoRAX's quantization
 *   guide (docs/guides/quantization.md) does not list it, and nobody has shown LoRAX loading
 *   the catalog's FP8 checkpoints (RedHatAI FP8-dynamic, compressed-tensors format), so the
 *   catalog does not offer fp8 on LoRAX.
 *
 * Which models
 * - Llama (`llama`), Mistral (`mistral`, with its explicit `head_dim`:
 *   flash_mistral_modeling.py:242-245) and Qwen2 (`qwen2`) load through the flash models
 *   (server/lorax_server/models/__init__.py:183, 214, 247).
 * - Qwen2 models with tied embeddings (Qwen2.5 0.5B, 1.5B, 3B) do not: LoRAX always loads a
 *   separate `lm_head.weight` (flash_qwen2_modeling.py:488-497 -> layers/tensor_parallel.py:
 *   24-37) and builds its weight index without aliases (flash_causal_lm.py:1107-1113), but a
 *   tied checkpoint has no such tensor: "RuntimeError: weight lm_head.weight does not exist"
 *   (predibase/lorax#726, reported on Qwen2.5-3B-Instruct).
 */
import type { GpuArchitecture, Quantization } from "./types";

/** The release these facts were read from; core/versions.json pins its image. */
export const LORAX_SOURCE_TAG = "v0.12.1";
/** When v0.12.1, LoRAX's last release, was tagged. */
export const LORAX_LAST_RELEASE = "2024-11";

/** Weight formats LoRAX 0.12.1 runs on each architecture (reasoning in the header). */
export const LORAX_QUANTIZATIONS: Readonly<Record<GpuArchitecture, readonly Quantization[]>> = {
  ampere: ["bf16", "awq", "gptq"],
  ada: ["bf16", "awq", "gptq"], // [U] by binary compatibility only
  blackwell: [],
};

/** Why LoRAX cannot run on an architecture at all; absent where it can. */
export const LORAX_UNSUPPORTED_ARCHITECTURE: Readonly<Partial<Record<GpuArchitecture, string>>> = {
  blackwell:
    `LoRAX's last release (0.12.1, ${LORAX_LAST_RELEASE}) is built on CUDA 12.4 and PyTorch 2.4 with kernels for sm_80/sm_86; ` +
    "RTX 50xx cards (sm_120) need CUDA 12.8 and PyTorch 2.7 or later, so its image has no kernels they can run",
};

/** How to get a working deployment when LoRAX cannot run on the stack's cards. */
export const LORAX_UNSUPPORTED_FIX =
  "set engine.kind: vllm (vLLM serves the same LoRA adapters, on every card in the catalog), or run LoRAX on Ampere or Ada cards";

/** Why LoRAX does not run a weight format it has a flag for; the formats missing from every architecture above. */
export const LORAX_FORMAT_GAPS: Readonly<Partial<Record<Quantization, string>>> = {
  fp8:
    "LoRAX 0.12.1 runs FP8 only on Ada and newer and only from checkpoints it can read FP8 scales from; " +
    "its quantization guide does not list FP8 and the catalog's FP8 checkpoints (compressed-tensors) are not known to load",
};

/** Why LoRAX cannot load a checkpoint, by the checkpoint's property (used by core/catalog/models.ts). */
export const LORAX_CHECKPOINT_GAPS = {
  compressedTensors:
    "compressed-tensors checkpoint: LoRAX 0.12.1's --quantize gptq reads AutoGPTQ tensors (qweight, qzeros, scales, g_idx) and fails on it",
  tiedEmbeddings:
    "tied embeddings: LoRAX 0.12.1's Qwen2 loader needs a separate lm_head.weight, which this checkpoint does not have (predibase/lorax#726)",
} as const;
