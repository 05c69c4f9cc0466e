/**
 * The decision report as one self-contained HTML file: inline CSS, hand-built SVG charts,
 * no scripts and no external assets, so it opens from a CI artefact or an e-mail as is.
 *
 * Every number printed comes from the Recommendation and cost curves passed in; table cells
 * carry the unrounded value in `data-value` so a test (or a reviewer) can check the page
 * against the cost functions.
 */
import { FRONTIER_PRICES, GBP_USD, HOST_RENTS, MANAGED_PRICES } from "../catalog/prices";
import { breakEvenText } from "../costs/break-even-text";
import { gbp, percent, tokens } from "../costs/format";
import type { CurvePoint } from "../costs/recommend";
import type { Recommendation } from "../costs/recommendation";
import { PATTERNS } from "../costs/types";
import { recommendationAssumptions } from "../costs/recommend-assumptions";
import { SERIES_COLOURS, costChart, tierChart } from "./charts";
import { CURVES_CSS, tierCurvesSection } from "./curves";
import { attrs, escapeXml } from "./svg";

/** Points per decade of the cost chart: enough for the self-hosted staircase to show. */
const POINTS_PER_DECADE = 40;

/**
 * Volumes the cost chart samples: log-spaced from a decade below the smaller of the
 * requested volume and the break-even to a decade above the larger, plus both exactly.
 */
export function chartVolumes(rec: Recommendation): number[] {
  const T = rec.setup.input.tokensPerMonth;
  const b = rec.breakEven.tokensPerMonth;
  const anchors = [T, ...(b !== null && b > 0 ? [b] : [])];
  const lo = Math.floor(Math.log10(Math.min(...anchors))) - 1;
  const hi = Math.ceil(Math.log10(Math.max(...anchors))) + 1;
  const n = (hi - lo) * POINTS_PER_DECADE;
  const points = Array.from({ length: n + 1 }, (_, i) => 10 ** (lo + ((hi - lo) * i) / n));
  return [...new Set([...points, ...anchors])].sort((a, b2) => a - b2);
}

function cell(value: number, text: string): string {
  return `<td ${attrs({ "data-value": value })}>${escapeXml(text)}</td>`;
}

function costTable(rec: Recommendation): string {
  const rows = PATTERNS.map((p) => {
    const c = rec.costs[p];
    const e = rec.eligibility[p];
    const cls = p === rec.pattern ? "chosen" : e.eligible ? "" : "ineligible";
    if (!c.available) {
      return `<tr ${attrs({ "data-pattern": p, class: cls })}><th scope="row">${escapeXml(p)}</th><td colspan="8">${escapeXml(`not available: ${c.unavailableReason ?? ""}`)}</td></tr>`;
    }
    return `<tr ${attrs({ "data-pattern": p, class: cls })}><th scope="row"><span class="swatch" style="background:${SERIES_COLOURS[p]}"></span>${escapeXml(p)}</th>` +
      `<td data-part="rent" data-value="${c.parts.rent}">${escapeXml(gbp(c.parts.rent))}</td>` +
      `<td data-part="ops" data-value="${c.parts.ops}">${escapeXml(`${gbp(c.parts.ops)} (${c.opsHours} h)`)}</td>` +
      `<td data-part="managedTokens" data-value="${c.parts.managedTokens}">${escapeXml(gbp(c.parts.managedTokens))}</td>` +
      `<td data-part="frontierTokens" data-value="${c.parts.frontierTokens}">${escapeXml(gbp(c.parts.frontierTokens))}</td>` +
      `<td data-part="total" data-value="${c.total}"><strong>${escapeXml(gbp(c.total))}</strong></td>` +
      `<td data-part="hosts" data-value="${c.hosts}">${c.hosts > 0 && c.tier ? escapeXml(`${c.hosts} host${c.hosts > 1 ? "s" : ""} of ${c.tier.gpuCount}x ${c.tier.gpu}`) : "0"}</td>` +
      `<td data-part="shares">${escapeXml([`${percent(c.shares.selfHosted)} self`, `${percent(c.shares.managed)} managed`, `${percent(c.shares.frontier)} frontier`].join(" / "))}</td>` +
      `<td>${escapeXml(e.eligible ? (p === rec.pattern ? "chosen" : "yes") : `no: ${e.why ?? ""}`)}</td></tr>`;
  });
  return `<table id="cost-table"><caption>Monthly cost of each pattern by part (GBP)</caption>` +
    `<thead><tr><th>pattern</th><th>rent</th><th>ops</th><th>managed tokens</th><th>frontier tokens</th><th>total</th><th>hosts</th><th>split</th><th>eligible</th></tr></thead>` +
    `<tbody>${rows.join("")}</tbody></table>`;
}

function tierTable(rec: Recommendation): string {
  const rows = rec.tiers.map((t) => `<tr ${attrs({ "data-gpu": t.gpu, class: rec.tier?.gpu === t.gpu ? "chosen" : undefined })}>` +
    `<th scope="row">${escapeXml(`${t.gpuCount}x ${t.gpu}`)}</th><td>${escapeXml(t.quantization)}</td>` + cell(t.contextTokens, t.contextTokens.toLocaleString("en-GB")) + `<td>${t.tensorParallel}</td>` +
    cell(t.decodeTokensPerSecond, Math.round(t.decodeTokensPerSecond).toLocaleString("en-GB")) +
    cell(t.singleStreamTokensPerSecond, Math.round(t.singleStreamTokensPerSecond).toLocaleString("en-GB")) +
    cell(t.peakTokensPerMonth, tokens(t.peakTokensPerMonth)) +
    cell(t.rentGbp, gbp(t.rentGbp)) + `</tr>`);
  return `<table id="tier-table"><caption>GPU tiers that serve ${escapeXml(rec.setup.model.id)} (fewest cards per GPU; one host each)</caption>` +
    `<thead><tr><th>host</th><th>weights</th><th>context</th><th>tensor-parallel</th><th>output tok/s</th><th>1-stream tok/s</th><th>tokens/month flat out</th><th>rent/month</th></tr></thead>` +
    `<tbody>${rows.join("")}</tbody></table>`;
}

function summary(rec: Recommendation): string {
  const { input } = rec.setup;
  const c = rec.costs[rec.pattern];
  const be = rec.breakEven;
  const item = (id: string, label: string, value: string, raw?: number) =>
    `<div class="kv"><dt>${escapeXml(label)}</dt><dd ${attrs({ id, "data-value": raw })}>${escapeXml(value)}</dd></div>`;
  return `<dl id="summary">` +
    item("summary-pattern", "recommended pattern", rec.pattern) +
    item("summary-total", "monthly cost", gbp(c.total), c.total) +
    item("summary-split", "split", `${percent(c.shares.selfHosted)} self-hosted, ${percent(c.shares.managed)} managed, ${percent(c.shares.frontier)} frontier`) +
    item("summary-tier", c.hosts > 0 ? "GPU tier" : "GPU tier if self-hosting", rec.tier ? `${rec.hosts} host${rec.hosts > 1 ? "s" : ""} of ${rec.tier.gpuCount}x ${rec.tier.gpu} (${rec.tier.quantization}, context ${rec.tier.contextTokens.toLocaleString("en-GB")} tokens)` : "none") +
    item("summary-break-even", "break-even vs managed", be.tokensPerMonth === null ? "none" : `${tokens(be.tokensPerMonth)} tokens/month`, be.tokensPerMonth ?? undefined) +
    item("summary-volume", "volume", `${tokens(input.tokensPerMonth)} tokens/month`, input.tokensPerMonth) +
    `</dl>`;
}

function assumptions(rec: Recommendation): string {
  const { managed, frontier } = rec.setup;
  const li = (s: string) => `<li>${escapeXml(s)}</li>`;
  const source = (label: string, url: string, readOn: string, confidence: string, note?: string) =>
    `<tr><td>${escapeXml(label)}</td><td><a ${attrs({ href: url })}>${escapeXml(url)}</a></td><td>${escapeXml(readOn)}</td><td>${escapeXml(confidence)}</td><td>${escapeXml(note ?? "")}</td></tr>`;
  const rentRows = [...new Set([rec.tier?.gpu, rec.breakEven.tier?.gpu].filter((g): g is string => g !== undefined))]
    .flatMap((g) => HOST_RENTS.filter((r) => r.gpu === g))
    .map((r) => source(`rent ${r.gpu}: ${gbp(r.gbpPerMonth)}/month`, r.source.url, r.source.readOn, r.confidence, r.source.note));
  return `<section id="assumptions"><h2>Assumptions</h2><ul>` +
    recommendationAssumptions(rec).map(li).join("") +
    `</ul><table id="sources"><caption>Prices used and their sources</caption><thead><tr><th>price</th><th>source</th><th>read on</th><th>confidence</th><th>note</th></tr></thead><tbody>` +
    (managed ? source(`managed ${managed.provider} ${managed.providerModel}: $${managed.inputUsdPerMTok} in / $${managed.outputUsdPerMTok} out per 1M`, managed.source.url, managed.source.readOn, managed.confidence, managed.source.note) : "") +
    source(`frontier ${frontier.id}: $${frontier.inputUsdPerMTok} in / $${frontier.outputUsdPerMTok} out per 1M`, frontier.source.url, frontier.source.readOn, frontier.confidence, frontier.source.note) +
    rentRows.join("") +
    source(`GBP/USD ${GBP_USD.usdPerGbp}`, GBP_USD.source.url, GBP_USD.source.readOn, "medium", GBP_USD.source.note) +
    `</tbody></table><p class="small">${escapeXml(`The catalog holds ${HOST_RENTS.length} host rents, ${MANAGED_PRICES.length} managed and ${FRONTIER_PRICES.length} frontier prices (core/catalog/prices.ts).`)}</p></section>`;
}

const CSS = `
body{font:15px/1.45 "DejaVu Sans",system-ui,sans-serif;color:#1d1d1f;margin:24px auto;max-width:1000px;padding:0 16px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#555;margin:0 0 16px}
#summary{display:grid;grid-template-columns:repeat(3,1fr);gap:8px;margin:12px 0}
.kv{border:1px solid #ddd;border-radius:6px;padding:8px 10px}.kv dt{font-size:12px;color:#666}.kv dd{margin:2px 0 0;font-weight:bold}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:13px}caption{text-align:left;font-weight:bold;padding:4px 0}
th,td{border-bottom:1px solid #e5e5e5;padding:4px 6px;text-align:right;vertical-align:top}th:first-child,td:first-child{text-align:left}
#sources td,#sources th{text-align:left}tr.chosen{background:#eef7f0}tr.ineligible{color:#888}
.swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
svg{max-width:100%;height:auto;font:12px "DejaVu Sans",system-ui,sans-serif}
.tick{stroke:#e3e3e3}.tick-label{fill:#555}.axis-label{fill:#333}
.series{fill:none;stroke-width:2.5}.series-hybrid,.legend-hybrid{stroke-dasharray:7 4}.legend-swatch{stroke-width:3}
.marker line{stroke-width:1.5}.break-even line{stroke:#333;stroke-dasharray:6 4}.break-even circle{fill:#333}.volume line{stroke:#999}
.tier-bar{fill:#9cb8d9}.tier-bar.chosen{fill:#1b7f3b}.tier-value{fill:#333}
.small{font-size:12px;color:#666}
`;

export function htmlReport(rec: Recommendation, curves: readonly CurvePoint[]): string {
  const { input } = rec.setup;
  const title = `${rec.setup.model.displayName} at ${tokens(input.tokensPerMonth)} tokens/month: ${rec.pattern}`;
  return `<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(title)}</title>
<style>${CSS}${CURVES_CSS}</style>
</head>
<body>
<h1>${escapeXml(title)}</h1>
<p class="sub">${escapeXml(`hybrid-inference decision report: ${input.shape} traffic, residency ${input.residency}, hard share ${percent(input.hardShare)}, ${input.fineTunes} fine-tunes. Estimates from the capacity model and the price catalog; re-check prices before you rely on them.`)}</p>
${summary(rec)}
<h2>Why</h2>
<ul id="reasons">${rec.reasons.map((r) => `<li>${escapeXml(r)}</li>`).join("")}</ul>
<h2>Cost against volume</h2>
<figure id="cost-figure">${costChart(rec, curves)}<figcaption class="small">${escapeXml(breakEvenText(rec.breakEven))}</figcaption></figure>
${costTable(rec)}
<h2>GPU tiers</h2>
<figure id="tier-figure">${tierChart(rec)}</figure>
${tierTable(rec)}
${tierCurvesSection(rec)}
${assumptions(rec)}
</body>
</html>
`;
}
