/**
 * The LoRAX stub's request semantics, each one from LoRAX 0.12.1's source
 * (test/router-harness/lorax-stub.ts), and what they mean for the names we send: the router
 * names LoRAX knows nothing of (our served and adapter names) fail there.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoraxStub, startLoraxStub } from "../router-harness/lorax-stub";

const BASE = "Qwen/Qwen2.5-7B-Instruct";
let stub: LoraxStub;

beforeAll(async () => {
  stub = await startLoraxStub({
    argv: ["--model-id", BASE, "--port", "8000", "--preloaded-adapter-ids", "acme/support-lora", "--preloaded-adapter-source", "hub"],
    env: { HUGGINGFACE_HUB_CACHE: "/data" },
    mounts: [{ hostPath: "/var/lib/hi/models/hub", containerPath: "/data" }, { hostPath: "/srv/adapters/bot", containerPath: "/srv/adapters/bot" }],
    hubRepos: [BASE, "acme/support-lora", "acme/sql-lora"],
    hostAdapterDirs: ["/srv/adapters/bot", "/var/lib/hi/models/hub/my-adapters/legal", "/srv/adapters/unmounted"],
  });
});
afterAll(async () => stub?.close());

async function post(path: string, body: unknown, raw?: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${stub.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: raw ?? JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
}

const chat = (fields: Record<string, unknown>) => post("/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], ...fields });
const error = (r: { json: unknown }): string => String((r.json as { error?: unknown }).error);

describe("LoRAX's request semantics (stub)", () => {
  it("serves the base model only under the exact --model-id (or an empty model)", async () => {
    expect((await chat({ model: BASE })).status).toBe(200);
    expect((await chat({ model: "" })).status).toBe(200);
    expect(stub.generations().map((r) => r.resolution)).toEqual([{ kind: "base" }, { kind: "base" }]);
    // Any other name is an adapter id, looked up on the Hub by default: our names fail.
    for (const name of ["qwen2.5-7b-instruct", "qwen/qwen2.5-7b-instruct", "support-bot"]) {
      const r = await chat({ model: name });
      expect(r.status, name).toBe(424);
      expect(error(r)).toMatch(/^Request failed during generation: Repository Not Found/);
    }
  });

  it("resolves an adapter id with the request's adapter_source", async () => {
    expect((await chat({ model: "acme/sql-lora", adapter_source: "hub" })).status).toBe(200);
    expect((await chat({ model: "acme/sql-lora" })).status).toBe(200); // the default source: hub
    expect((await chat({ model: "/srv/adapters/bot", adapter_source: "local" })).status).toBe(200);
    // A relative local id is taken under the hub cache (/data), here mounted from the host.
    expect((await chat({ model: "my-adapters/legal", adapter_source: "local" })).status).toBe(200);
    expect(error(await chat({ model: "/srv/adapters/bot" }))).toMatch(/Repository Not Found/); // a path, asked of the Hub
    expect(error(await chat({ model: "/srv/adapters/unmounted", adapter_source: "local" }))).toMatch(/No local weights found/);
    expect(error(await chat({ model: "/a/b", adapter_source: "local" }))).toMatch(/too short/);
    expect(error(await chat({ model: "acme/sql-lora", adapter_source: "github" }))).toMatch(/Invalid source 'github'/);
  });

  it("serves a preloaded adapter whatever the source", async () => {
    const before = stub.generations().length;
    expect((await chat({ model: "acme/support-lora", adapter_source: "local" })).status).toBe(200);
    expect(stub.generations()[before]!.resolution).toMatchObject({ id: "acme/support-lora", preloaded: true });
  });

  it("has no /v1/models, and refuses malformed bodies as axum does", async () => {
    expect((await fetch(`${stub.url}/v1/models`)).status).toBe(404);
    expect((await post("/v1/chat/completions", undefined, "{not json")).status).toBe(400);
    expect((await post("/v1/chat/completions", { messages: [] })).status).toBe(422);
    expect((await post("/v1/completions", { model: BASE, prompt: ["a", "b"] })).status).toBe(422);
    expect((await chat({ model: BASE, stop: "\n" })).status).toBe(422);
    expect((await fetch(`${stub.url}/health`)).status).toBe(200);
  });
});
