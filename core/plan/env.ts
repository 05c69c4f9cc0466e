/**
 * Names the deployment gives its own secrets and endpoints inside the containers. One place,
 * so the engine, the router's config and the container specs agree.
 */

/** The engine's API key, read by vLLM from the environment (vllm/envs.py). */
export const ENGINE_API_KEY_ENV = "VLLM_API_KEY";
/** The same key in the router container, where LiteLLM's `hosted_vllm/` provider reads it. */
export const ROUTER_ENGINE_KEY_ENV = "HOSTED_VLLM_API_KEY";
/** The router's master key (LiteLLM reads `LITELLM_MASTER_KEY`). */
export const ROUTER_MASTER_KEY_ENV = "LITELLM_MASTER_KEY";
/** Hugging Face token for gated downloads. */
export const HF_TOKEN_ENV = "HF_TOKEN";
/** Model name at the router that goes straight to the frontier tier. */
export const FRONTIER_MODEL_NAME = "frontier";
