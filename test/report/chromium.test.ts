/**
 * The report renders in a real browser: headless Chromium (Debian package `chromium`,
 * installed by scripts/install-chromium.sh) takes a screenshot and dumps the DOM it built.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { inflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { elements, report, vertices } from "./report-fixture";

const work = mkdtempSync(path.join(tmpdir(), "hi-report-chromium-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function chromiumBinary(): string | undefined {
  const candidates = [process.env["CHROMIUM"], "/usr/bin/chromium", "/usr/bin/chromium-browser"].filter((c): c is string => c !== undefined && c !== "");
  return candidates.find((c) => existsSync(c));
}

const BASE_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

function chromium(binary: string, profile: string, ...args: string[]) {
  return spawnSync(binary, [...BASE_FLAGS, `--user-data-dir=${path.join(work, profile)}`, ...args], { encoding: "utf8", timeout: 90_000, maxBuffer: 64 * 1024 * 1024 });
}

/** Width, height and the raw (filtered) scanline bytes of a non-interlaced PNG. */
function readPng(file: string): { width: number; height: number; raw: Buffer } {
  const buf = readFileSync(file);
  expect(buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), "PNG signature").toBe(true);
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (offset < buf.length) {
    const length = buf.readUInt32BE(offset);
    const type = buf.toString("ascii", offset + 4, offset + 8);
    const data = buf.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
    } else if (type === "IDAT") idat.push(data);
    offset += 12 + length;
  }
  return { width, height, raw: inflateSync(Buffer.concat(idat)) };
}

const { rec, html } = report();
const file = path.join(work, "report.html");
const url = `file://${file}`;
let binary: string | undefined;

beforeAll(() => {
  writeFileSync(file, html);
  binary = chromiumBinary();
});

describe("the report in headless Chromium", () => {
  it("finds Chromium (install it with scripts/install-chromium.sh)", () => {
    expect(binary, "no chromium binary: run `bash scripts/install-chromium.sh` (or set CHROMIUM=/path/to/chromium)").toBeDefined();
  });

  it("renders a screenshot with real content", () => {
    const png = path.join(work, "report.png");
    const r = chromium(binary!, "profile-shot", `--screenshot=${png}`, "--window-size=1200,1600", url);
    expect(r.error, String(r.error)).toBeUndefined();
    expect(existsSync(png), `no screenshot; chromium said:\n${r.stderr}`).toBe(true);
    // A blank page compresses to a few KB; text, tables and two charts do not.
    expect(statSync(png).size).toBeGreaterThan(30_000);
    const { width, height, raw } = readPng(png);
    expect([width, height]).toEqual([1200, 1600]);
    // Many distinct byte values and no single value dominating: not a blank or one-colour page.
    const counts = new Map<number, number>();
    for (const b of raw) counts.set(b, (counts.get(b) ?? 0) + 1);
    expect(counts.size).toBeGreaterThan(100);
    expect(Math.max(...counts.values()) / raw.length).toBeLessThan(0.99);
  }, 120_000);

  it("builds the chart elements with non-empty paths (--dump-dom)", () => {
    const r = chromium(binary!, "profile-dom", "--dump-dom", url);
    expect(r.error, String(r.error)).toBeUndefined();
    const dom = r.stdout;
    expect(dom, r.stderr).toContain('id="cost-chart"');
    const paths = elements(dom, "path", 'class="series');
    expect(paths.map((p) => p["data-pattern"])).toEqual(["self-hosted", "managed", "frontier", "hybrid"]);
    for (const p of paths) expect(vertices(p["d"] ?? "").length, p["data-pattern"]).toBeGreaterThan(10);
    expect(elements(dom, "g", 'id="break-even-marker"')).toHaveLength(1);
    expect(elements(dom, "g", 'id="volume-marker"')).toHaveLength(1);
    expect(dom).toContain('id="tier-chart"');
    const bars = elements(dom, "rect", 'class="tier-bar');
    expect(bars.length).toBe(rec.tiers.length);
    for (const b of bars) expect(Number(b["width"])).toBeGreaterThan(0);
    expect(dom).toContain('id="cost-table"');
  }, 120_000);

  it("builds every tier's latency-throughput chart with its curves and operating point (--dump-dom)", () => {
    const r = chromium(binary!, "profile-curves", "--dump-dom", url);
    expect(r.error, String(r.error)).toBeUndefined();
    const dom = r.stdout;
    const charts = elements(dom, "svg", 'class="tier-curve');
    expect(charts.map((c) => c["data-gpu"]).sort()).toEqual(rec.tiers.map((t) => t.gpu).sort());
    const lines = elements(dom, "path", 'class="curve-line');
    expect(lines).toHaveLength(3 * rec.tiers.length);
    for (const l of lines) expect(vertices(l["d"] ?? "").length).toBeGreaterThanOrEqual(2);
    const points = elements(dom, "circle", 'class="operating-point"');
    expect(points).toHaveLength(3 * rec.tiers.length);
    for (const p of points) expect(Number(p["cx"]) > 0 && Number(p["cy"]) > 0).toBe(true);
    expect(elements(dom, "details", 'id="other-tier-curves"')).toHaveLength(1);
  }, 120_000);
});
