import { describe, expect, it } from "vitest";
import { GPUS, MODELS } from "../../core/catalog";
import {
  DEFAULT_FRONTIER_ID, FRONTIER_PRICES, GBP_USD, HOST_RENTS, MANAGED_PRICES, RENT_ANCHORS, RENT_FLOOR_GBP,
} from "../../core/catalog/prices";
import type { Source } from "../../core/catalog/types";
import { hostRentGbp } from "../../core/costs/rent";

/** The day the catalog was written; no figure can have been read after it. */
const TODAY = "2026-11-26";

function expectSource(where: string, s: Source): void {
  expect(s.url, `${where}: url`).toMatch(/^https:\/\/\S+$/);
  expect(s.readOn, `${where}: readOn`).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  expect(new Date(`${s.readOn}T00:00:00Z`).toISOString().slice(0, 10), `${where}: a real day`).toBe(s.readOn);
  expect(s.readOn <= TODAY, `${where}: read in the future`).toBe(true);
}

describe("price catalog", () => {
  it("sources and dates every entry, and says why low-confidence ones are low", () => {
    for (const r of HOST_RENTS) {
      expectSource(`rent ${r.gpu}`, r.source);
      expect(r.source.note, `rent ${r.gpu}: note`).toBeTruthy();
    }
    for (const p of MANAGED_PRICES) expectSource(`${p.provider} ${p.model}`, p.source);
    for (const p of FRONTIER_PRICES) expectSource(`frontier ${p.id}`, p.source);
    expectSource("GBP/USD", GBP_USD.source);
    for (const p of [...MANAGED_PRICES, ...FRONTIER_PRICES, ...HOST_RENTS]) {
      if (p.confidence === "low") expect(p.source.note, JSON.stringify(p.source)).toBeTruthy();
    }
  });

  it("prices a host for every GPU in the catalog, once", () => {
    const ids = HOST_RENTS.map((r) => `${r.gpu}x${r.gpuCount}`);
    expect(new Set(ids).size).toBe(ids.length);
    for (const g of GPUS) expect(hostRentGbp(g.id, 1), g.id).toBeGreaterThan(0);
    for (const r of HOST_RENTS) expect(GPUS.some((g) => g.id === r.gpu), r.gpu).toBe(true);
  });

  it("derives every unlisted rent by the documented rule (so a typo cannot hide)", () => {
    for (const r of HOST_RENTS.filter((x) => x.derived && x.gpu !== "rtx-4060")) {
      const gpu = GPUS.find((g) => g.id === r.gpu)!;
      const anchor = RENT_ANCHORS[gpu.architecture];
      const byBandwidth = Math.ceil(gpu.memoryBandwidthGBs * (anchor.gbpPerMonth / anchor.bandwidthGBs) - 1e-9);
      const byVram = gpu.workstation ? Math.ceil(gpu.vramGiB * (anchor.gbpPerMonth / anchor.vramGiB) - 1e-9) : 0;
      expect(r.gbpPerMonth, r.gpu).toBe(Math.max(RENT_FLOOR_GBP, byBandwidth, byVram));
      expect(r.source.note, r.gpu).toMatch(/\[D\]/);
    }
    for (const a of Object.values(RENT_ANCHORS)) {
      expect(HOST_RENTS.find((r) => r.gpu === a.gpu && !r.derived)?.gbpPerMonth, a.gpu).toBe(a.gbpPerMonth);
    }
  });

  it("prices n-card hosts as n one-card hosts when no listing exists", () => {
    expect(hostRentGbp("rtx-5090", 2)).toBe(2 * 399);
    expect(hostRentGbp("no-such-gpu", 1)).toBeUndefined();
  });

  it("ties every managed price to the id the model catalog routes to at that provider", () => {
    const keys = MANAGED_PRICES.map((p) => `${p.model}|${p.provider}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const p of MANAGED_PRICES) {
      const model = MODELS.find((m) => m.id === p.model);
      expect(model, p.model).toBeDefined();
      expect(model!.managedIds[p.provider], `${p.model} at ${p.provider}`).toBe(p.providerModel);
    }
  });

  it("keeps prices in sane ranges (USD per 1M tokens, GBP per month)", () => {
    for (const p of [...MANAGED_PRICES, ...FRONTIER_PRICES]) {
      expect(p.inputUsdPerMTok).toBeGreaterThan(0);
      expect(p.outputUsdPerMTok).toBeGreaterThanOrEqual(p.inputUsdPerMTok);
      expect(p.outputUsdPerMTok).toBeLessThan(100);
    }
    for (const r of HOST_RENTS) expect(r.gbpPerMonth).toBeGreaterThanOrEqual(RENT_FLOOR_GBP);
    expect(GBP_USD.usdPerGbp).toBeGreaterThan(1);
    expect(GBP_USD.usdPerGbp).toBeLessThan(2);
    expect(FRONTIER_PRICES.some((p) => p.id === DEFAULT_FRONTIER_ID)).toBe(true);
  });
});
