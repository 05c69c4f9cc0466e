/**
 * GPU catalog: the cards a UK dedicated host may carry, as data with sources.
 *
 * Conventions used below
 * - `fp16TensorTflops` is dense FP16 tensor throughput with FP32 accumulate. Where no
 *   vendor or table figure was read it is derived [D] as
 *   tensor cores x boost clock x FLOPs/clock/tensor core, with 128 FLOPs/clk for GeForce
 *   Ampere/Ada/Blackwell (half-rate FP32 accumulate) and 256 FLOPs/clk for the
 *   workstation cards (full rate). The derived figures agree with the dense "FP16 Tensor
 *   Core (FP32 accumulate)" rows of lamonoai/gpumap `nvidia/GPU.md` wherever that table
 *   has the card (RTX 5090/5080/5070 Ti/5070, 4090/4080/4070, RTX 6000 Ada, RTX 4000 Ada,
 *   RTX A6000/A5000/A4000, RTX 3080).
 * - `memoryBandwidthGBs` for GeForce cards is from the CYBIRD-D spec table
 *   (`Nvidia_GPU_Specification.md`); for workstation cards from lamonoai/gpumap.
 * - `smiName` is the product name NVIDIA's driver reports for the card's PCI id, read from
 *   the "Compatible GPUs" table of NVIDIA/open-gpu-kernel-modules README (550.40.82) for
 *   pre-Blackwell cards. Blackwell names follow the same pattern and were seen verbatim
 *   in nvidia-smi output quoted in public repositories (5060 Ti, 5070 Ti); the 5070, 5080
 *   and 5090 strings are [U]. NOTE: a name is not unique to one SKU (RTX 3050 8GB and 6GB,
 *   RTX 4060 Ti 8GB and 16GB, RTX 3060 8GB and 12GB all print the same name), so a host
 *   check must compare `memory.total` as well as the name.
 *
 * Tensor throughput for FP8 and the PCIe link (added for the capacity model, read 2026-11-30)
 * - `fp8TensorTflops` is dense FP8 with FP32 accumulate, the precision vLLM's FP8 W8A8
 *   (CUTLASS scaled-mm) GEMMs accumulate in. NVIDIA's Ada whitepaper gives the RTX 4090
 *   330.3 dense FP8 TFLOPS with FP32 accumulate against 165.2 FP16 with FP32 accumulate:
 *   FP8 runs at twice the FP16 rate at equal accumulate precision. The lamonoai/gpumap
 *   table shows the same 2:1 for every Ada and Blackwell card it lists (RTX 6000 Ada 728
 *   vs 364, RTX 4000 Ada 214 vs 107, RTX 5090 419 vs 210, 5080 225 vs 113, 5070 Ti 176 vs
 *   88, 5070 123 vs 62); its 4090/4080/4070 FP8 rows (661/390/321) are the FP16-accumulate
 *   figures. So every Ada/Blackwell card here is 2 x its `fp16TensorTflops` [D]. Ampere
 *   has no FP8 tensor cores: null (vLLM runs FP8 checkpoints there as weight-only FP8
 *   Marlin, at the FP16 rate).
 * - `pcie`: generation and electrical lanes, from the facts table (CATALOG-FACTS.md) and
 *   the bus-interface row of lamonoai/gpumap; x8 cards (RTX 3050, 4060, 4060 Ti, 5060 Ti)
 *   from the same facts table ([U] for the 3050 6GB and 4060).
 *
 * Minimum driver branch (`minDriverBranch`), the reasoning
 * 1. The project pins `vllm/vllm-openai:v0.33.0` (core/versions.json). Since vLLM v0.20.0
 *    the unsuffixed image tags are the CUDA 13 build and the CUDA 12.9 build is published
 *    with a `-cu129` suffix (vllm-project/vllm PR #39878, "Switch default CUDA to 13.0",
 *    merged 2026-04; confirmed by downstream fixes such as vast-ai/base-image PR #158 and
 *    llm-d/llm-d-kv-cache PR #584: "the plain :v0.20.2 tag now resolves to a cu130
 *    build"). vLLM's docker/versions.json (stored copy read 2026-11-26) has
 *    CUDA_VERSION 13.0.2 and FINAL_BASE_IMAGE nvidia/cuda:13.0.2-base-ubuntu22.04, and
 *    TORCH_CUDA_ARCH_LIST "7.5 8.0 8.6 8.9 9.0 10.0 11.0 12.0+PTX" (so sm_86, sm_89 and
 *    sm_120 are all compiled in). [U] the v0.33.0 image itself was not inspected; check
 *    `docker inspect vllm/vllm-openai:v0.33.0` for CUDA_VERSION / NVIDIA_REQUIRE_CUDA.
 * 2. NVIDIA's minor-version-compatibility table: CUDA 13.x needs driver >= 580
 *    (https://docs.nvidia.com/deploy/cuda-compatibility/minor-version-compatibility.html).
 *    The forward-compatibility package (cuda-compat) that could lift an older driver is
 *    for data-centre GPUs only, not GeForce (the failure is "Error 804: forward
 *    compatibility was attempted on non supported HW", vllm-project/vllm#5283), and the
 *    nvidia/cuda base images declare NVIDIA_REQUIRE_CUDA=cuda>=13.0, which the container
 *    toolkit enforces at container start ("requirement error: unsatisfied condition",
 *    vllm-project/vllm#5635). So the host itself needs an R580 driver.
 * 3. Blackwell GeForce cards need CUDA >= 12.8, i.e. R570+, and NVIDIA's open kernel
 *    modules (the default flavour since R560; Ubuntu ships `nvidia-driver-580-open`).
 *    R580 satisfies that too.
 * 4. LoRAX 0.12.1 is built on CUDA 12.4 (R550 GA driver [U]); R580 runs it by backward
 *    compatibility.
 * Hence 580 for every card. Pinning `v0.33.0-cu129` instead would need R575 (CUDA 12.9
 * GA driver 575.51.03 [U]); do not mix the two without revisiting this file.
 *
 * Weight formats per engine
 * - vLLM (docs v0.32 "FP8 W8A8"): FP8 W8A8 on compute capability >= 8.9 (Ada,
 *   Blackwell); on Ampere an FP8 checkpoint runs weight-only (W8A16) through FP8 Marlin.
 *   AWQ/GPTQ 4-bit run through Marlin kernels on Ampere and Ada ("Supported Hardware"
 *   table). Blackwell sm_120 is not a column of that table: AWQ via `awq_marlin` is
 *   reported working on an RTX 5060 Ti (vllm-project/vllm#37387, vLLM 0.17), which also
 *   reports plain `--quantization awq`/`gptq` failing because sm_120 forces bfloat16, so
 *   on Blackwell let vLLM pick the Marlin kernel (do not force `awq`/`gptq`). [U] GPTQ on
 *   sm_120 is listed because gptq_marlin is compiled for 12.0, not because it was seen
 *   working.
 * - LoRAX 0.12.1: read from its own source (Dockerfile, launcher, server) in
 *   core/catalog/lorax.ts: CUDA 12.4 / PyTorch 2.4, kernels for sm_80/sm_86. Ampere: bf16,
 *   AWQ, GPTQ. Ada: the same by binary compatibility within compute capability 8.x [U,
 *   untested]. FP8 is not offered (see LORAX_FORMAT_GAPS there). Blackwell (sm_120): no
 *   LoRAX image runs (empty list; the planner refuses with LORAX_UNSUPPORTED_ARCHITECTURE).
 */
import { LORAX_QUANTIZATIONS } from "./lorax";
import type { GpuArchitecture, GpuSpec, Quantization, Source } from "./types";

/** Date the figures below were read. */
const READ_ON = "2026-11-26";

/** The vLLM image tag the driver floor above was worked out for. */
export const DRIVER_FLOOR_ASSUMES_VLLM_TAG = "v0.33.0";
/** CUDA version the pinned vLLM image is built on (vLLM docker/versions.json, see above). */
export const VLLM_IMAGE_CUDA_VERSION = "13.0.2";
/** Oldest driver branch that can run a CUDA 13.x container on a GeForce card. */
export const VLLM_IMAGE_MIN_DRIVER_BRANCH = 580;

/** Compute capability of each architecture as it appears in this catalog. */
export const COMPUTE_CAPABILITY: Readonly<Record<GpuArchitecture, string>> = {
  ampere: "8.6", // GA102/GA104/GA106/GA107 (consumer and workstation Ampere)
  ada: "8.9",
  blackwell: "12.0", // GB202/GB203/GB205/GB206 consumer Blackwell (not 10.x)
};

const VLLM_QUANTS: Readonly<Record<GpuArchitecture, readonly Quantization[]>> = {
  ampere: ["bf16", "fp8", "awq", "gptq"], // fp8 = weight-only FP8 Marlin
  ada: ["bf16", "fp8", "awq", "gptq"],
  blackwell: ["bf16", "fp8", "awq", "gptq"], // gptq [U] on sm_120, see header
};

const LORAX_NOTE: Readonly<Record<GpuArchitecture, string>> = {
  ampere: "LoRAX 0.12.1: bf16/awq/gptq (core/catalog/lorax.ts); fp8 not offered.",
  ada: "LoRAX 0.12.1 on Ada [U]: kernels built for sm_80/86, expected to run by binary compatibility, untested; bf16/awq/gptq, fp8 not offered.",
  blackwell: "LoRAX: none, its image (CUDA 12.4, PyTorch 2.4) has no sm_120 kernels (core/catalog/lorax.ts).",
};

const GPUMAP = "https://github.com/lamonoai/gpumap/blob/main/nvidia/GPU.md";
const CYBIRD =
  "https://github.com/CYBIRD-D/How-to-Choose-your-LLM-Model-for-translation/blob/main/Nvidia_GPU_Specification.md";

function source(url: string, note: string): Source {
  return { url, readOn: READ_ON, note };
}

/** Fields every card of an architecture shares. */
function arch(a: GpuArchitecture, workstation: boolean) {
  return {
    architecture: a,
    computeCapability: COMPUTE_CAPABILITY[a],
    minDriverBranch: VLLM_IMAGE_MIN_DRIVER_BRANCH,
    requiresOpenKernelModules: a === "blackwell",
    quantizations: { vllm: VLLM_QUANTS[a], lorax: LORAX_QUANTIZATIONS[a] },
    workstation,
  } as const;
}

// ---------------------------------------------------------------- Ampere GeForce

const RTX_3050_8GB: GpuSpec = {
  id: "rtx-3050-8gb",
  smiName: "NVIDIA GeForce RTX 3050",
  ...arch("ampere", false),
  vramGiB: 8,
  memoryBandwidthGBs: 224,
  fp16TensorTflops: 18.2, // [D] 80 TC x 1.777 GHz x 128
  fp8TensorTflops: null, // Ampere: no FP8 tensor cores
  pcie: { gen: 4, lanes: 8 },
  tdpWatts: 130,
  source: source(CYBIRD, `Bandwidth from CYBIRD-D table; TFLOPS [D]; TDP from facts lead. ${LORAX_NOTE.ampere}`),
};

const RTX_3050_6GB: GpuSpec = {
  id: "rtx-3050-6gb",
  smiName: "NVIDIA GeForce RTX 3050",
  ...arch("ampere", false),
  vramGiB: 6,
  memoryBandwidthGBs: 168,
  // [D] 72 TC (18 SM) x 1.47 GHz boost x 128 = 13.5. The facts lead said 12.0, which this
  // arithmetic does not reproduce; boost clock 1.47 GHz from memory of NVIDIA's page [U].
  fp16TensorTflops: 13.5,
  fp8TensorTflops: null, // Ampere: no FP8 tensor cores
  pcie: { gen: 4, lanes: 8 },
  tdpWatts: 70,
  source: source(
    CYBIRD,
    `Bandwidth from CYBIRD-D table; TFLOPS [D] (lead 12.0 disagrees) [U]; TDP 70 W from facts lead; smiName: desktop 3050 PCI ids 2507/2582/2584 all print "NVIDIA GeForce RTX 3050" in the 550 README [U which id is the 6GB]. ${LORAX_NOTE.ampere}`,
  ),
};

const RTX_3060_12GB: GpuSpec = {
  id: "rtx-3060-12gb",
  smiName: "NVIDIA GeForce RTX 3060",
  ...arch("ampere", false),
  vramGiB: 12,
  memoryBandwidthGBs: 360,
  // [D] 112 TC x 1.777 GHz x 128 = 25.5 (gpumap says 24, using a 1.665 GHz clock that is
  // not the 3060's boost clock).
  fp16TensorTflops: 25.5,
  fp8TensorTflops: null, // Ampere: no FP8 tensor cores
  pcie: { gen: 4, lanes: 16 },
  tdpWatts: 170,
  source: source(CYBIRD, `Bandwidth CYBIRD-D; TDP 170 W gpumap; TFLOPS [D]. ${LORAX_NOTE.ampere}`),
};

const RTX_3080: GpuSpec = {
  id: "rtx-3080",
  smiName: "NVIDIA GeForce RTX 3080",
  ...arch("ampere", false),
  vramGiB: 10,
  memoryBandwidthGBs: 760,
  fp16TensorTflops: 59.5, // gpumap; = 272 TC x 1.71 GHz x 128
  fp8TensorTflops: null, // Ampere: no FP8 tensor cores
  pcie: { gen: 4, lanes: 16 },
  tdpWatts: 320,
  source: source(GPUMAP, `10 GB model; bandwidth/TDP/TFLOPS from gpumap, bandwidth also CYBIRD-D. ${LORAX_NOTE.ampere}`),
};

const RTX_3090: GpuSpec = {
  id: "rtx-3090",
  smiName: "NVIDIA GeForce RTX 3090",
  ...arch("ampere", false),
  vramGiB: 24,
  memoryBandwidthGBs: 936,
  fp16TensorTflops: 71, // NVIDIA GA102 whitepaper (facts lead); = 328 TC x 1.695 GHz x 128
  fp8TensorTflops: null, // Ampere: no FP8 tensor cores
  pcie: { gen: 4, lanes: 16 },
  tdpWatts: 350,
  source: source(CYBIRD, `Bandwidth CYBIRD-D; TFLOPS GA102 whitepaper per facts lead; TDP facts lead. ${LORAX_NOTE.ampere}`),
};

// ---------------------------------------------------------------- Ada GeForce

const RTX_4060: GpuSpec = {
  id: "rtx-4060",
  smiName: "NVIDIA GeForce RTX 4060",
  ...arch("ada", false),
  vramGiB: 8,
  memoryBandwidthGBs: 272,
  fp16TensorTflops: 30.2, // [D] 96 TC x 2.46 GHz x 128
  fp8TensorTflops: 60.4, // [D] 2 x FP16 (same FP32 accumulate), see header
  pcie: { gen: 4, lanes: 8 },
  tdpWatts: 115,
  source: source(CYBIRD, `Bandwidth CYBIRD-D; TFLOPS [D]; TDP 115 W facts lead [U]. ${LORAX_NOTE.ada}`),
};

const RTX_4060_TI_16GB: GpuSpec = {
  id: "rtx-4060-ti-16gb",
  smiName: "NVIDIA GeForce RTX 4060 Ti",
  ...arch("ada", false),
  vramGiB: 16,
  memoryBandwidthGBs: 288,
  fp16TensorTflops: 44.1, // [D] 136 TC x 2.535 GHz x 128
  fp8TensorTflops: 88.2, // [D] 2 x FP16 (same FP32 accumulate), see header
  pcie: { gen: 4, lanes: 8 },
  tdpWatts: 165,
  source: source(CYBIRD, `Bandwidth CYBIRD-D; TFLOPS [D]; TDP facts lead; same smiName as the 8 GB card. ${LORAX_NOTE.ada}`),
};

const RTX_4070: GpuSpec = {
  id: "rtx-4070",
  smiName: "NVIDIA GeForce RTX 4070",
  ...arch("ada", false),
  vramGiB: 12,
  memoryBandwidthGBs: 504,
  fp16TensorTflops: 58.3, // gpumap 58; [D] 184 TC x 2.475 GHz x 128 = 58.3
  fp8TensorTflops: 116.6, // [D] 2 x FP16 (same FP32 accumulate), see header
  pcie: { gen: 4, lanes: 16 },
  tdpWatts: 200,
  source: source(GPUMAP, `Bandwidth/TDP gpumap and CYBIRD-D; TFLOPS [D], gpumap rounds to 58. ${LORAX_NOTE.ada}`),
};

const RTX_4070_TI_SUPER: GpuSpec = {
  id: "rtx-4070-ti-super",
  smiName: "NVIDIA GeForce RTX 4070 Ti SUPER",
  ...arch("ada", false),
  vramGiB: 16,
  memoryBandwidthGBs: 672,
  fp16TensorTflops: 88.2, // [D] 264 TC x 2.61 GHz x 128
  fp8TensorTflops: 176.4, // [D] 2 x FP16 (same FP32 accumulate), see header
  pcie: { gen: 4, lanes: 16 },
  tdpWatts: 285,
  source: source(CYBIRD, `Bandwidth CYBIRD-D; TFLOPS [D]; TDP 285 W facts lead [U]. ${LORAX_NOTE.ada}`),
};

const RTX_4080: GpuSpec = {
  id: "rtx-4080",
  smiName: "NVIDIA GeForce RTX 4080",
  ...arch("ada", false),
  vramGiB: 16,
  memoryBandwidthGBs: 716.8,
  fp16TensorTflops: 97.5, // gpumap 97; [D] 304 TC x 2.505 GHz x 128 = 97.5
  fp8TensorTflops: 195.0, // [D] 2 x FP16 (same FP32 accumulate), see header
  pcie: { gen: 4, lanes: 16 },
  tdpWatts: 320,
  source: source(CYBIRD, `Bandwidth CYBIRD-D (gpumap 717); TDP gpumap; TFLOPS [D]. ${LORAX_NOTE.ada}`),
};

const RTX_4080_SUPER: GpuSpec = {
  id: "rtx-4080-super",
  smiName: "NVIDIA GeForce RTX 4080 SUPER",
  ...arch("ada", false),
  vramGiB: 16,
  memoryBandwidthGBs: 736,
  fp16TensorTflops: 104.4, // [D] 320 TC x 2.55 GHz x 128
  fp8TensorTflops: 208.8, // [D] 2 x FP16 (same FP32 accumulate), see header
  pcie: { gen: 4, lanes: 16 },
  tdpWatts: 320,
  source: source(CYBIRD, `Bandwidth CYBIRD-D; TFLOPS [D]; TDP facts lead. ${LORAX_NOTE.ada}`),
};

const RTX_4090: GpuSpec = {
  id: "rtx-4090",
  smiName: "NVIDIA GeForce RTX 4090",
  ...arch("ada", false),
  vramGiB: 24,
  memoryBandwidthGBs: 1008,
  fp16TensorTflops: 165.2, // Ada whitepaper per facts lead; gpumap 165; = 512 TC x 2.52 GHz x 128
  fp8TensorTflops: 330.3, // Ada whitepaper, FP8 with FP32 accumulate (2 x FP16)
  pcie: { gen: 4, lanes: 16 },
  tdpWatts: 450,
  source: source(GPUMAP, `Bandwidth/TDP gpumap and CYBIRD-D; TFLOPS Ada whitepaper per facts lead. ${LORAX_NOTE.ada}`),
};

// ---------------------------------------------------------------- Blackwell GeForce

const BLACKWELL_NOTE = `Needs open kernel modules, CUDA >= 12.8 (R570+); floor here is R580 for the CUDA 13 vLLM image. ${LORAX_NOTE.blackwell}`;

const RTX_5060_TI_16GB: GpuSpec = {
  id: "rtx-5060-ti-16gb",
  smiName: "NVIDIA GeForce RTX 5060 Ti",
  ...arch("blackwell", false),
  vramGiB: 16,
  memoryBandwidthGBs: 448,
  fp16TensorTflops: 47.4, // [D] 144 TC (36 SM) x 2.572 GHz x 128
  fp8TensorTflops: 94.8, // [D] 2 x FP16 (same FP32 accumulate), see header
  pcie: { gen: 5, lanes: 8 },
  // 180 W: facts lead; an nvidia-smi power limit of 180 W is quoted in a public benchmark log.
  tdpWatts: 180,
  source: source(
    CYBIRD,
    `Bandwidth CYBIRD-D; TFLOPS [D]; nvidia-smi shows 16311 MiB usable and the smiName verbatim in public logs; same smiName as the 8 GB card. ${BLACKWELL_NOTE}`,
  ),
};

const RTX_5070: GpuSpec = {
  id: "rtx-5070",
  smiName: "NVIDIA GeForce RTX 5070",
  ...arch("blackwell", false),
  vramGiB: 12,
  memoryBandwidthGBs: 672,
  fp16TensorTflops: 61.7, // gpumap 62; [D] 192 TC x 2.512 GHz x 128 = 61.7
  fp8TensorTflops: 123.4, // [D] 2 x FP16 (same FP32 accumulate), see header
  pcie: { gen: 5, lanes: 16 },
  tdpWatts: 250,
  source: source(GPUMAP, `Bandwidth/TDP/TFLOPS gpumap (its CC 10.1 is wrong; 12.0 used); smiName [U]. ${BLACKWELL_NOTE}`),
};

const RTX_5070_TI: GpuSpec = {
  id: "rtx-5070-ti",
  smiName: "NVIDIA GeForce RTX 5070 Ti",
  ...arch("blackwell", false),
  vramGiB: 16,
  memoryBandwidthGBs: 896,
  fp16TensorTflops: 87.9, // gpumap 88; [D] 280 TC x 2.452 GHz x 128 = 87.9
  fp8TensorTflops: 175.8, // [D] 2 x FP16 (same FP32 accumulate), see header
  pcie: { gen: 5, lanes: 16 },
  tdpWatts: 300,
  source: source(GPUMAP, `Bandwidth/TDP/TFLOPS gpumap (its CC 10.1 is wrong; 12.0 used); smiName seen in public nvidia-smi output. ${BLACKWELL_NOTE}`),
};

const RTX_5080: GpuSpec = {
  id: "rtx-5080",
  smiName: "NVIDIA GeForce RTX 5080",
  ...arch("blackwell", false),
  vramGiB: 16,
  memoryBandwidthGBs: 960,
  fp16TensorTflops: 112.6, // gpumap 113; [D] 336 TC x 2.617 GHz x 128 = 112.6
  fp8TensorTflops: 225.2, // [D] 2 x FP16 (same FP32 accumulate), see header
  pcie: { gen: 5, lanes: 16 },
  tdpWatts: 360,
  source: source(GPUMAP, `Bandwidth/TDP/TFLOPS gpumap (its CC 10.1 is wrong; 12.0 used); smiName [U]. ${BLACKWELL_NOTE}`),
};

const RTX_5090: GpuSpec = {
  id: "rtx-5090",
  smiName: "NVIDIA GeForce RTX 5090",
  ...arch("blackwell", false),
  vramGiB: 32,
  memoryBandwidthGBs: 1792,
  fp16TensorTflops: 209.5, // gpumap 210; [D] 680 TC x 2.407 GHz x 128 = 209.5
  fp8TensorTflops: 419.0, // [D] 2 x FP16 (same FP32 accumulate), see header
  pcie: { gen: 5, lanes: 16 },
  tdpWatts: 575,
  source: source(GPUMAP, `Bandwidth/TDP/TFLOPS gpumap (its CC 10.1 is wrong; 12.0 used); usable VRAM ~32607 MiB per facts lead; smiName [U]. ${BLACKWELL_NOTE}`),
};

// ---------------------------------------------------------------- Workstation

const RTX_A4000: GpuSpec = {
  id: "rtx-a4000",
  smiName: "NVIDIA RTX A4000",
  ...arch("ampere", true),
  vramGiB: 16,
  memoryBandwidthGBs: 448,
  fp16TensorTflops: 76.7, // gpumap 77; [D] 192 TC x 1.56 GHz x 256 = 76.7
  fp8TensorTflops: null, // Ampere: no FP8 tensor cores
  pcie: { gen: 4, lanes: 16 },
  tdpWatts: 140,
  source: source(GPUMAP, `Bandwidth/TDP/TFLOPS gpumap. ${LORAX_NOTE.ampere}`),
};

const RTX_A5000: GpuSpec = {
  id: "rtx-a5000",
  smiName: "NVIDIA RTX A5000",
  ...arch("ampere", true),
  vramGiB: 24,
  memoryBandwidthGBs: 768,
  fp16TensorTflops: 111.1, // gpumap 111; [D] 256 TC x 1.695 GHz x 256 = 111.1
  fp8TensorTflops: null, // Ampere: no FP8 tensor cores
  pcie: { gen: 4, lanes: 16 },
  tdpWatts: 230,
  source: source(GPUMAP, `Bandwidth/TDP/TFLOPS gpumap. ${LORAX_NOTE.ampere}`),
};

const RTX_A6000: GpuSpec = {
  id: "rtx-a6000",
  smiName: "NVIDIA RTX A6000",
  ...arch("ampere", true),
  vramGiB: 48,
  memoryBandwidthGBs: 768,
  fp16TensorTflops: 154.8, // GA102 whitepaper per facts lead; gpumap 155; = 336 TC x 1.8 GHz x 256
  fp8TensorTflops: null, // Ampere: no FP8 tensor cores
  pcie: { gen: 4, lanes: 16 },
  tdpWatts: 300,
  source: source(GPUMAP, `Bandwidth/TDP gpumap; TFLOPS GA102 whitepaper per facts lead. ${LORAX_NOTE.ampere}`),
};

const RTX_4000_ADA: GpuSpec = {
  id: "rtx-4000-ada",
  smiName: "NVIDIA RTX 4000 Ada Generation",
  ...arch("ada", true),
  vramGiB: 20,
  memoryBandwidthGBs: 360,
  fp16TensorTflops: 106.9, // gpumap 107; [D] 192 TC x 2.175 GHz x 256 = 106.9
  fp8TensorTflops: 213.8, // [D] 2 x FP16 (same FP32 accumulate), see header
  pcie: { gen: 4, lanes: 16 },
  tdpWatts: 130,
  source: source(GPUMAP, `Bandwidth/TDP/TFLOPS gpumap (not the SFF variant, which prints "RTX 4000 SFF Ada Generation"). ${LORAX_NOTE.ada}`),
};

const RTX_6000_ADA: GpuSpec = {
  id: "rtx-6000-ada",
  smiName: "NVIDIA RTX 6000 Ada Generation",
  ...arch("ada", true),
  vramGiB: 48,
  memoryBandwidthGBs: 960,
  fp16TensorTflops: 364.2, // gpumap 364; [D] 568 TC x 2.505 GHz x 256 = 364.2
  fp8TensorTflops: 728.4, // [D] 2 x FP16 (same FP32 accumulate), see header
  pcie: { gen: 4, lanes: 16 },
  tdpWatts: 300,
  source: source(GPUMAP, `Bandwidth/TDP/TFLOPS gpumap. ${LORAX_NOTE.ada}`),
};

export const GPUS: readonly GpuSpec[] = [
  RTX_3050_8GB,
  RTX_3050_6GB,
  RTX_3060_12GB,
  RTX_3080,
  RTX_3090,
  RTX_4060,
  RTX_4060_TI_16GB,
  RTX_4070,
  RTX_4070_TI_SUPER,
  RTX_4080,
  RTX_4080_SUPER,
  RTX_4090,
  RTX_5060_TI_16GB,
  RTX_5070,
  RTX_5070_TI,
  RTX_5080,
  RTX_5090,
  RTX_A4000,
  RTX_A5000,
  RTX_A6000,
  RTX_4000_ADA,
  RTX_6000_ADA,
];
