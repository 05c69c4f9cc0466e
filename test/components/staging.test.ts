import { describeDeployment } from "./deployment-suite";

describeDeployment("staging", {
  "stg-gpu-1": [
    "RedHatAI/Mistral-Small-24B-Instruct-2501-FP8-dynamic",
    "--served-model-name", "mistral-small-24b-instruct",
    "--host", "0.0.0.0",
    "--port", "8000",
    "--dtype", "auto",
    "--max-model-len", "28672",
    "--gpu-memory-utilization", "0.9",
    "--max-num-seqs", "32",
    "--max-num-batched-tokens", "2048",
    "--tensor-parallel-size", "1",
    "--enable-prefix-caching",
    "--kv-cache-dtype", "auto",
  ],
});
