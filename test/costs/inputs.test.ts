import { describe, expect, it } from "vitest";
import { parseTokenCount, resolveModelId } from "../../core/costs/inputs";
import { findFrontierPrice, pickManagedPrice } from "../../core/costs/prices-lookup";

describe("token counts", () => {
  it.each([
    ["50M", 50e6], ["2.5B", 2.5e9], ["800k", 800e3], ["800K", 800e3], ["1_000_000", 1e6], ["3e9", 3e9],
    ["1,500,000", 1.5e6], ["7 G", 7e9], ["1T", 1e12], ["120", 120], ["50M tokens", 50e6],
  ])("%s -> %d", (text, n) => {
    expect(parseTokenCount(text)).toBeCloseTo(n, 6);
  });

  it.each(["", "M", "abc", "-5M", "5X", "5.M", "1.2.3B"])("rejects %j with a hint", (text) => {
    expect(() => parseTokenCount(text)).toThrow(/800k, 50M or 2.5B/);
  });
});

describe("model ids", () => {
  it.each([
    ["qwen2.5-7b", "qwen2.5-7b-instruct"],
    ["Qwen2.5-7B", "qwen2.5-7b-instruct"],
    ["qwen2.5_72b", "qwen2.5-72b-instruct"],
    ["mistral-small", "mistral-small-24b-instruct"],
    ["mistral-7b", "mistral-7b-instruct-v0.3"],
    ["llama-3.3-70b", "llama-3.3-70b-instruct"],
    ["qwen2.5-7b-instruct", "qwen2.5-7b-instruct"],
  ])("%s -> %s", (typed, id) => {
    expect(resolveModelId(typed)).toEqual({ ok: true, id });
  });

  it("names every match of an ambiguous prefix", () => {
    const r = resolveModelId("qwen2.5");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/ambiguous.*qwen2\.5-7b-instruct/);
  });

  it("suggests the nearest ids for an unknown model", () => {
    const r = resolveModelId("qwen2.5-8b");
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toMatch(/unknown model "qwen2.5-8b"; nearest catalog ids: /);
      expect(r.suggestions.length).toBe(3);
      expect(r.suggestions.every((s) => s.startsWith("qwen2.5"))).toBe(true);
    }
  });
});

describe("price lookups", () => {
  it("finds frontier prices by bare, prefixed and dated ids", () => {
    expect(findFrontierPrice("claude-sonnet-4-5")?.id).toBe("claude-sonnet-4-5");
    expect(findFrontierPrice("anthropic/claude-sonnet-4-5-20250929")?.id).toBe("claude-sonnet-4-5");
    expect(findFrontierPrice("gpt-4o-2024-08-06")?.id).toBe("gpt-4o");
    expect(findFrontierPrice("gpt-5")?.id).toBe("gpt-5");
    expect(findFrontierPrice("gpt-9")).toBeUndefined();
  });

  it("picks the cheapest managed provider at the traffic's input share unless told", () => {
    // DeepInfra $0.025/$0.05 beats Fireworks $0.20 and Together $0.30 for Qwen2.5 7B.
    expect(pickManagedPrice("qwen2.5-7b-instruct", 0.75)?.provider).toBe("deepinfra");
    expect(pickManagedPrice("qwen2.5-7b-instruct", 0.75, "together_ai")?.provider).toBe("together_ai");
    expect(pickManagedPrice("qwen2.5-3b-instruct", 0.75)).toBeUndefined();
  });
});
