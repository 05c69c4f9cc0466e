/** Small, dependency-free SVG building blocks for the HTML report. */

export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** `name="value"` pairs, values escaped; undefined values are left out. */
export function attrs(a: Readonly<Record<string, string | number | undefined>>): string {
  return Object.entries(a)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => `${k}="${escapeXml(String(v))}"`)
    .join(" ");
}

export interface Scale {
  (value: number): number;
  readonly invert: (pixel: number) => number;
  readonly domain: readonly [number, number];
  readonly range: readonly [number, number];
}

/** Base-10 log scale from `domain` (both > 0) onto pixels `range`. */
export function logScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = [Math.log10(domain[0]), Math.log10(domain[1])];
  const [r0, r1] = range;
  const f = (v: number) => r0 + ((Math.log10(v) - d0) / (d1 - d0)) * (r1 - r0);
  return Object.assign(f, {
    invert: (p: number) => 10 ** (d0 + ((p - r0) / (r1 - r0)) * (d1 - d0)),
    domain,
    range,
  });
}

export function linearScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const f = (v: number) => r0 + ((v - d0) / (d1 - d0)) * (r1 - r0);
  return Object.assign(f, { invert: (p: number) => d0 + ((p - r0) / (r1 - r0)) * (d1 - d0), domain, range });
}

/** Powers of ten covering [lo, hi]. */
export function decadeTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    const v = 10 ** e;
    if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
  }
  return out;
}

/** Pixel coordinates with two decimals: precise enough to read back, short enough to ship. */
export function px(n: number): string {
  return n.toFixed(2);
}

/** An SVG path through the points; a null breaks the line (a pattern unavailable there). */
export function polyline(points: readonly (readonly [number, number] | null)[]): string {
  const parts: string[] = [];
  let pen = false;
  for (const p of points) {
    if (p === null) {
      pen = false;
      continue;
    }
    parts.push(`${pen ? "L" : "M"}${px(p[0])},${px(p[1])}`);
    pen = true;
  }
  return parts.join(" ");
}
