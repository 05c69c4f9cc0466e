import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseCommandLine, recommendationText } from "../../cli/recommend";
import { recommend } from "../../core/costs/recommend";

const root = path.join(__dirname, "..", "..");
const tsx = path.join(root, "node_modules", ".bin", "tsx");
const out = mkdtempSync(path.join(tmpdir(), "hi-recommend-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function run(...args: string[]) {
  return spawnSync(tsx, [path.join(root, "cli", "recommend.ts"), ...args], { cwd: root, encoding: "utf8" });
}

describe("command line parsing", () => {
  it("resolves aliases and token counts, and leaves the rest to defaults", () => {
    const { input, json, html } = parseCommandLine(["--model", "qwen2.5-7b", "--tokens", "50M"]);
    expect(input).toEqual({ model: "qwen2.5-7b-instruct", tokensPerMonth: 50e6 });
    expect(json).toBe(false);
    expect(html).toBeUndefined();
  });

  it("reads every option", () => {
    const { input } = parseCommandLine([
      "--model", "llama-3.3-70b", "--tokens", "2.5B", "--input-share", "0.8", "--request-tokens", "2000", "--shape", "bursty", "--residency", "none",
      "--hard-share", "0.05", "--fine-tunes", "3", "--engineer-cost-gbp-per-hour", "60", "--usd-per-gbp", "1.3", "--managed", "deepinfra", "--frontier", "gpt-5",
    ]);
    expect(input).toEqual({
      model: "llama-3.3-70b-instruct", tokensPerMonth: 2.5e9, inputShare: 0.8, requestTokens: 2000, shape: "bursty", residency: "none",
      hardShare: 0.05, fineTunes: 3, engineerGbpPerMonth: 60 * 162.5, usdPerGbp: 1.3, managedProvider: "deepinfra", frontierModel: "gpt-5",
    });
  });

  it.each([
    [["--tokens", "50M"], /--model is required/],
    [["--model", "qwen2.5-7b"], /--tokens is required/],
    [["--model", "qwen2.5-7b", "--tokens", "lots"], /--tokens: "lots" is not a token count/],
    [["--model", "qwen2.5-7b", "--tokens", "0"], /above 0/],
    [["--model", "qwen2.5-7b", "--tokens", "5M", "--shape", "spiky"], /--shape must be one of steady, bursty, experimental/],
    [["--model", "qwen2.5-7b", "--tokens", "5M", "--hard-share", "1.5"], /--hard-share must be a number from 0 to 1/],
    [["--model", "qwen2.5-7b", "--tokens", "5M", "--fine-tunes", "2.5"], /--fine-tunes must be a whole number/],
    [["--model", "qwen2.5-7b", "--tokens", "5M", "--engineer-cost-gbp-per-month", "9000", "--engineer-cost-gbp-per-hour", "50"], /not both/],
    [["--model", "qwen2.5-7b", "--tokens", "5M", "--colour"], /Unknown option/],
  ])("rejects %j", (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(message);
  });

  it("prints the recommendation, its costs by part and its reasons", () => {
    const rec = recommend({ model: "qwen2.5-7b-instruct", tokensPerMonth: 5e9, residency: "none", managedProvider: "together_ai" });
    const text = recommendationText(rec);
    expect(text).toMatch(/^hybrid-inference recommend: qwen2.5-7b-instruct at 5.00B tokens\/month/);
    expect(text).toMatch(/Recommendation {2}self-hosted/);
    const breakEven = rec.breakEven.tokensPerMonth;
    if (breakEven === null) throw new Error("together_ai's Qwen 7B price leaves a break-even");
    expect(breakEven).toBeGreaterThan(1e9);
    expect(breakEven).toBeLessThan(5e9);
    expect(text).toContain(`Break-even      ${(breakEven / 1e9).toFixed(2)}B tokens/month`);
    for (const r of rec.reasons) expect(text).toContain(r);
  });
});

describe("npm run recommend", () => {
  it("answers in text with exit code 0", () => {
    const r = run("--model", "qwen2.5-7b", "--tokens", "50M");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Recommendation {2}self-hosted/); // residency uk by default
  }, 60_000);

  it("answers in JSON and writes the HTML report", () => {
    const html = path.join(out, "nested", "report.html");
    const r = run("--model", "mistral-small", "--tokens", "800k", "--residency", "none", "--json", "--html", html);
    expect(r.status).toBe(0);
    const rec = JSON.parse(r.stdout) as { pattern: string; costs: Record<string, { total: number }>; setup: { input: { model: string } } };
    expect(rec.setup.input.model).toBe("mistral-small-24b-instruct");
    expect(rec.pattern).toBe("managed"); // 800k tokens a month pays for no host
    expect(Object.keys(rec.costs)).toEqual(["self-hosted", "managed", "frontier", "hybrid"]);
    expect(existsSync(html)).toBe(true);
    expect(readFileSync(html, "utf8")).toMatch(/^<!doctype html>/);
  }, 60_000);

  it("exits 1 with the nearest ids for an unknown model", () => {
    const r = run("--model", "qwen3-7b", "--tokens", "50M");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/unknown model "qwen3-7b"; nearest catalog ids: qwen2\.5-/);
  }, 60_000);

  it("exits 1 when the catalog has no price for the asked provider", () => {
    const r = run("--model", "qwen2.5-3b", "--tokens", "50M", "--managed", "together_ai");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no together_ai price for qwen2\.5-3b-instruct/);
  }, 60_000);

  it("exits 2 with the usage line for a malformed option", () => {
    const r = run("--model", "qwen2.5-7b", "--tokens", "fifty");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^--tokens: "fifty" is not a token count/);
    expect(r.stderr).toMatch(/usage: npm run recommend --/);
  }, 60_000);
});

describe("recommend's answer says what it rests on", () => {
  it("states the weights and the context length the tier serves", () => {
    const rec = recommend({ model: "qwen2.5-7b-instruct", tokensPerMonth: 5e9, residency: "none", managedProvider: "together_ai" });
    const t = rec.tier!;
    expect(t.contextTokens).toBeGreaterThanOrEqual(8192);
    const text = recommendationText(rec);
    expect(text).toContain(`Serves          qwen2.5-7b-instruct as ${t.quantization} weights with up to ${t.contextTokens.toLocaleString("en-GB")} tokens of context per request`);
  });

  it("prices the managed tier by plan's rule and shows the other providers as alternatives", () => {
    const cheapest = recommendationText(recommend({ model: "qwen2.5-7b-instruct", tokensPerMonth: 5e9 }));
    expect(cheapest).toMatch(/- managed: deepinfra .*\(the cheapest in the catalog; --managed prices another;/);
    expect(cheapest).toMatch(/- managed alternatives: fireworks_ai £0\.15\/M, together_ai £0\.22\/M/);
    const asked = recommendationText(recommend({ model: "qwen2.5-7b-instruct", tokensPerMonth: 5e9, managedProvider: "together_ai" }));
    expect(asked).toMatch(/- managed: together_ai .*\(--managed;/);
    expect(asked).toMatch(/- managed alternatives: deepinfra £0\.02\/M, fireworks_ai £0\.15\/M/);
  });

  it("lists every assumption, including how a multi-card host is priced", () => {
    const rec = recommend({ model: "llama-3.3-70b-instruct", tokensPerMonth: 3e9 });
    const text = recommendationText(rec);
    expect(text).toContain("Assumptions\n- Rent is a UK dedicated server's monthly list price");
    expect(text).toContain("a host with n cards is priced as n one-card hosts");
    expect(text).toMatch(/Traffic peaks at 1\.5x its monthly average/);
    expect(rec.tier!.gpuCount).toBeGreaterThan(1);
    expect(text).toContain(`${rec.tier!.gpuCount}x ${rec.tier!.gpu} = ${rec.tier!.gpuCount} x £`);
  });

  it("prints its help and exits 0", () => {
    const r = run("--help");
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^usage: npm run recommend --/);
    expect(r.stdout).toContain("--managed <provider>");
  }, 60_000);
});
