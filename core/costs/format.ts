/** Number formats shared by the text reports and the HTML report. */

/** £1,234 (whole pounds), or £0.42 below £10 so small bills still read. */
export function gbp(n: number): string {
  if (n === 0) return "£0";
  return n < 10 ? `£${n.toFixed(2)}` : `£${Math.round(n).toLocaleString("en-GB")}`;
}

/** £55.38: pence shown, for rates. */
export function gbpRate(n: number): string {
  return `£${n.toFixed(2)}`;
}

/** 2.50B, 50.0M, 800k. */
export function tokens(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toFixed(2)}T`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

export function percent(share: number): string {
  const p = share * 100;
  return `${p > 0 && p < 1 ? p.toFixed(1) : Math.round(p)}%`;
}

/** A fixed-width text table, as the plan report prints them. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
