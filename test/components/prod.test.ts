import { describeDeployment } from "./deployment-suite";

const llamaOverTwoCards = [
  "casperhansen/llama-3.3-70b-instruct-awq",
  "--served-model-name", "llama-3.3-70b-instruct",
  "--host", "0.0.0.0",
  "--port", "8000",
  "--dtype", "auto",
  "--max-model-len", "32768",
  "--gpu-memory-utilization", "0.92",
  "--max-num-seqs", "32",
  "--max-num-batched-tokens", "2048",
  "--tensor-parallel-size", "2",
  "--enable-prefix-caching",
  "--kv-cache-dtype", "fp8",
  "--disable-custom-all-reduce",
];

describeDeployment("prod", { "prod-gpu-1": llamaOverTwoCards, "prod-gpu-2": llamaOverTwoCards });
