import { describeDeployment } from "./deployment-suite";

describeDeployment("dev", {
  "dev-gpu-1": [
    "Qwen/Qwen2.5-7B-Instruct",
    "--served-model-name", "qwen2.5-7b-instruct",
    "--host", "0.0.0.0",
    "--port", "8000",
    "--dtype", "bfloat16",
    "--max-model-len", "32768",
    "--gpu-memory-utilization", "0.9",
    "--max-num-seqs", "64",
    "--max-num-batched-tokens", "2048",
    "--tensor-parallel-size", "1",
    "--enable-prefix-caching",
    "--kv-cache-dtype", "auto",
    "--enable-lora",
    "--max-loras", "1",
    "--max-lora-rank", "16",
    "--max-cpu-loras", "1",
    "--lora-modules", '{"name":"support-bot","path":"/srv/adapters/support-bot","base_model_name":"qwen2.5-7b-instruct"}',
  ],
});
