/**
 * How LoRAX 0.12.1 names what it serves, and what the router and the launcher must say for
 * it. Read from LoRAX's source at tag v0.12.1 (github.com/predibase/lorax; line numbers are
 * that tag's):
 *
 * Requests (router/src/server.rs, router/src/lib.rs, router/src/adapter.rs)
 * - `/v1/chat/completions` and `/v1/completions` take `model`, plus LoRAX's own
 *   `adapter_source` and `api_token` (lib.rs:667-720, 971-1003; unknown fields are ignored:
 *   the request structs do not deny them).
 * - `model` is the base model only when it equals the launcher's `--model-id` exactly
 *   (server.rs:157-161 and 243-247 compare it with `info.model_id`, which is the `--model-id`
 *   the launcher hands the router as `--tokenizer-name`, launcher/src/main.rs:1419-1420, or
 *   the Hub's spelling of that repo id, router/src/main.rs:281-316), or the empty string.
 *   Any other `model` is an adapter id (lib.rs:749-752, 1205).
 * - The adapter is resolved with the request's `adapter_source`, or else the router's
 *   default source (adapter.rs:75-93), which is the launcher's `--default-adapter-source`,
 *   or its `--adapter-source` (default `hub`; main.rs:1422-1432). Sources: `hub`, `s3`,
 *   `local`, `pbase` (proto/generate.proto:383-392); any other is refused
 *   (router/client/src/client.rs:251-270).
 * - `hub`: the id is a Hugging Face repo, downloaded into the hub cache. `local`: an
 *   absolute path inside the container is used as is; a relative one is taken under the hub
 *   cache directory (server/lorax_server/utils/sources/local.py:10-15). The directory must
 *   hold the adapter's `*.safetensors` (local.py:35-46) and ids shorter than 5 characters are
 *   refused (local.py:20-21).
 * - An adapter that cannot be downloaded or loaded fails the request with 424 "Request failed
 *   during generation" (router/src/loader.rs:161-172, server.rs:1586-1607); a path that is
 *   not a route, such as `/v1/models`, is a 404 (server.rs:1475-1497: no models route).
 *
 * Preloading (launcher/src/main.rs, server/lorax_server/server.py)
 * - `--preloaded-adapter-ids` is a repeated flag: each occurrence is one id, passed on one by
 *   one (main.rs:365-367, 742-746); `a,b` would be a single id "a,b".
 * - All preloaded adapters share one source: `--preloaded-adapter-source`, or else
 *   `--adapter-source` (main.rs:369-376, server/lorax_server/cli.py:56-57, server.py:345).
 *   If one of them cannot be downloaded the server does not start (server.py:381-382).
 *   A request for a preloaded id uses the preloaded copy whatever its source (the router
 *   keys adapters by id alone, router/src/infer.rs:219-230).
 */
import type { AdapterPlan, EnginePlan } from "../plan/types";

/** Where an adapter comes from, in LoRAX's words (`adapter_source`). */
export type LoraxAdapterSource = "hub" | "local";

/**
 * The Hugging Face hub cache inside the LoRAX image: `ENV HUGGINGFACE_HUB_CACHE=/data`
 * (Dockerfile:171). The launcher reads it through its `--huggingface-hub-cache` env fallback
 * and hands it to the download step and the shards (main.rs:551-554, 864-868, 1151-1155);
 * the router's Hub client and the server's sources read the same variable
 * (router/src/main.rs:211-213, server/lorax_server/utils/sources/hub.py:8, 20-23).
 */
export const LORAX_HUB_CACHE = "/data";

/** Adapters on the host's disk are mounted at their own path and loaded with the `local` source. */
export function loraxAdapterSource(adapter: AdapterPlan): LoraxAdapterSource {
  return adapter.hostPath === undefined ? "hub" : "local";
}

/** What the router sends LoRAX for one model name clients call: `model` and, for an adapter, `adapter_source`. */
export interface LoraxRequestFields {
  /** The Hugging Face repo id of the base weights, or the adapter's id (repo id or container path). */
  readonly model: string;
  /** Absent for the base model: LoRAX does not resolve it through a source. */
  readonly adapterSource?: LoraxAdapterSource;
}

/** The request fields for `modelName`, the served model's name or an adapter's name. */
export function loraxRequestFields(engine: EnginePlan, modelName: string): LoraxRequestFields {
  if (modelName === engine.servedModelName) return { model: engine.hfRepo };
  const adapter = engine.lora?.adapters.find((a) => a.name === modelName);
  if (!adapter) throw new Error(`LoRAX serves no model named "${modelName}": neither ${engine.servedModelName} nor one of its adapters`);
  return { model: adapter.enginePath, adapterSource: loraxAdapterSource(adapter) };
}

/**
 * The LiteLLM `litellm_params` that make the router send those fields. `openai/<id>` goes
 * through the OpenAI SDK with `model: <id>` (the prefix is stripped). Any key LiteLLM does not
 * know as an OpenAI parameter, such as `adapter_source`, is moved into the SDK's
 * `extra_body` and sent at the top level of the JSON body; `drop_params` only drops OpenAI
 * parameters a provider does not support, never these (litellm 1.108.7: utils.py:5433-5479,
 * add_provider_specific_params_to_optional_params; only `model` is kept out of the body,
 * utils.py:5427). A client's own top-level `adapter_source` would win over this one
 * (router.py:4162-4170 puts request kwargs after litellm_params). test/lorax/router.test.ts
 * checks what the real proxy sends.
 */
export function loraxDeploymentParams(engine: EnginePlan, modelName: string): { model: string; adapter_source?: LoraxAdapterSource } {
  const fields = loraxRequestFields(engine, modelName);
  return { model: `openai/${fields.model}`, ...(fields.adapterSource ? { adapter_source: fields.adapterSource } : {}) };
}

/** The adapters LoRAX loads at start: one source for all of them (see the header). */
export interface LoraxPreload {
  readonly source: LoraxAdapterSource;
  readonly ids: readonly string[];
}

/**
 * Hub adapters are preloaded when there are any (their download is the slow part, and a
 * wrong repo id or token then stops the engine at start instead of failing requests);
 * otherwise the local ones. Adapters of the other source load on their first request.
 */
export function loraxPreload(engine: EnginePlan): LoraxPreload | null {
  const adapters = engine.lora?.adapters ?? [];
  for (const source of ["hub", "local"] as const) {
    const ids = adapters.filter((a) => loraxAdapterSource(a) === source).map((a) => a.enginePath);
    if (ids.length > 0) return { source, ids };
  }
  return null;
}
