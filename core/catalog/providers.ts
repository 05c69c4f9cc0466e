import type { FrontierProvider, ManagedProvider, Source } from "./types";

/**
 * How the LiteLLM router reaches each API provider: the model prefix that selects
 * LiteLLM's provider adapter, and the environment variable our router container
 * receives the credential in (referenced from the config as `os.environ/NAME`).
 */
export interface ProviderSpec<P extends string> {
  readonly id: P;
  readonly displayName: string;
  /** LiteLLM model prefix, e.g. `together_ai/`. */
  readonly litellmPrefix: string;
  /** Env var holding the key in the router container. */
  readonly apiKeyEnv: string;
  /** Where the provider processes requests; none of these is in the UK. */
  readonly processingRegion: string;
  readonly source: Source;
}

const LITELLM_PROVIDERS_DOC: Source = {
  url: "https://docs.litellm.ai/docs/providers",
  readOn: "2026-11-26",
};

export const MANAGED_PROVIDERS: Readonly<Record<ManagedProvider, ProviderSpec<ManagedProvider>>> = {
  together_ai: {
    id: "together_ai",
    displayName: "Together AI",
    litellmPrefix: "together_ai/",
    apiKeyEnv: "TOGETHERAI_API_KEY",
    processingRegion: "US",
    source: LITELLM_PROVIDERS_DOC,
  },
  fireworks_ai: {
    id: "fireworks_ai",
    displayName: "Fireworks AI",
    litellmPrefix: "fireworks_ai/",
    apiKeyEnv: "FIREWORKS_AI_API_KEY",
    processingRegion: "US",
    source: LITELLM_PROVIDERS_DOC,
  },
  deepinfra: {
    id: "deepinfra",
    displayName: "DeepInfra",
    litellmPrefix: "deepinfra/",
    apiKeyEnv: "DEEPINFRA_API_KEY",
    processingRegion: "US",
    source: LITELLM_PROVIDERS_DOC,
  },
  replicate: {
    id: "replicate",
    displayName: "Replicate",
    litellmPrefix: "replicate/",
    apiKeyEnv: "REPLICATE_API_KEY",
    processingRegion: "US",
    source: LITELLM_PROVIDERS_DOC,
  },
};

export const FRONTIER_PROVIDERS: Readonly<Record<FrontierProvider, ProviderSpec<FrontierProvider>>> = {
  openai: {
    id: "openai",
    displayName: "OpenAI",
    litellmPrefix: "openai/",
    apiKeyEnv: "OPENAI_API_KEY",
    processingRegion: "US",
    source: LITELLM_PROVIDERS_DOC,
  },
  anthropic: {
    id: "anthropic",
    displayName: "Anthropic",
    litellmPrefix: "anthropic/",
    apiKeyEnv: "ANTHROPIC_API_KEY",
    processingRegion: "US",
    source: LITELLM_PROVIDERS_DOC,
  },
  gemini: {
    id: "gemini",
    displayName: "Google Gemini",
    litellmPrefix: "gemini/",
    apiKeyEnv: "GEMINI_API_KEY",
    processingRegion: "US",
    source: LITELLM_PROVIDERS_DOC,
  },
};

export const MANAGED_PROVIDER_IDS = Object.keys(MANAGED_PROVIDERS) as ManagedProvider[];
export const FRONTIER_PROVIDER_IDS = Object.keys(FRONTIER_PROVIDERS) as FrontierProvider[];
