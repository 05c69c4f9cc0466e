/**
 * Addresses, CIDRs and where an address meets a port: one rule each, used by the stack
 * schema (so what validates renders) and by every renderer (router upstreams, Docker host,
 * SSH, manifests, Prometheus targets).
 *
 * Pure: node:net's `isIP` is the only dependency.
 */
import { isIP } from "node:net";

/** 4 for an IPv4 literal, 6 for an IPv6 literal, 0 for anything else (a DNS name). */
export function ipVersion(address: string): 0 | 4 | 6 {
  const v = isIP(address);
  return v === 4 || v === 6 ? v : 0;
}

/**
 * The address as the host part of a URL or `host:port`: IPv6 literals in brackets
 * (RFC 3986 section 3.2.2), everything else as is.
 */
export function urlHost(address: string): string {
  return ipVersion(address) === 6 ? `[${address}]` : address;
}

/** `address:port`, bracketing an IPv6 literal: `[fd00::1]:8000`. */
export function hostPort(address: string, port: number): string {
  return `${urlHost(address)}:${port}`;
}

/** `scheme://address:port` with an optional path, bracketing an IPv6 literal. */
export function httpUrl(scheme: "http" | "https", address: string, port: number, pathname = ""): string {
  return `${scheme}://${hostPort(address, port)}${pathname}`;
}

/**
 * The one-address CIDR of an IP literal (`/32`, `/128`); a DNS name is returned unchanged
 * (the firewall script resolves names itself).
 */
export function addressCidr(address: string): string {
  switch (ipVersion(address)) {
    case 4:
      return `${address}/32`;
    case 6:
      return `${address}/128`;
    default:
      return address;
  }
}

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, at most 253 characters. */
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * Why `value` is not an IPv4 address, an IPv6 address or a DNS host name, or null when it is
 * one. A name made only of digits and dots (`203.0.113.300`) is a mistyped IPv4 address, not a
 * host name: a top-level label is never all digits (RFC 3696 section 2).
 */
export function addressProblem(value: string): string | null {
  if (ipVersion(value) !== 0) return null;
  if (/^[0-9.]+$/.test(value)) {
    const parts = value.split(".");
    const bad = parts.find((p) => p === "" || Number(p) > 255 || (p.length > 1 && p.startsWith("0")));
    if (parts.length === 4 && bad !== undefined) return `is not an IPv4 address: "${bad}" is not a number from 0 to 255`;
    return "is not an IPv4 address (four numbers from 0 to 255, separated by dots)";
  }
  if (value.includes(":")) return "is not an IPv6 address";
  if (value.length === 0 || value.length > 253) return "must be an IPv4/IPv6 address or a DNS host name";
  const labels = value.replace(/\.$/, "").split(".");
  if (!labels.every((l) => LABEL.test(l))) return "must be an IPv4/IPv6 address or a DNS host name (letters, digits, '-' and '.')";
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return "is not a valid host name: its last label is all digits";
  return null;
}

/**
 * Why `value` is not an IPv4/IPv6 address or CIDR with no host bits set (what the firewall
 * scripts accept: Python's `ipaddress.ip_network(strict=True)`), or null when it is.
 */
export function cidrProblem(value: string): string | null {
  const slash = value.indexOf("/");
  const addr = slash === -1 ? value : value.slice(0, slash);
  const version = ipVersion(addr);
  if (version === 0) return "is not an IPv4 or IPv6 address or CIDR block";
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const text = value.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(text) || Number(text) > max) return `has a prefix length that is not 0-${max}`;
    prefix = Number(text);
  }
  const bytes = version === 4 ? ipv4Bytes(addr) : ipv6Bytes(addr);
  for (let bit = prefix; bit < max; bit++) {
    if (((bytes[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1) {
      return `has host bits set after /${prefix}: the network is ${networkAddress(bytes, prefix, version)}/${prefix}`;
    }
  }
  return null;
}

/** True when the CIDR admits every address of its family (0.0.0.0/0, ::/0). */
export function isWholeInternet(cidr: string): boolean {
  return cidr === "0.0.0.0/0" || cidr === "::/0";
}

function networkAddress(bytes: readonly number[], prefix: number, version: 4 | 6): string {
  const masked = bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  if (version === 4) return masked.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((masked[i] ?? 0) << 8) | (masked[i + 1] ?? 0)).toString(16));
  return compressIpv6(groups);
}

/** RFC 5952 text form: the longest run of two or more zero groups becomes `::`. */
function compressIpv6(groups: readonly string[]): string {
  let best = { at: -1, len: 0 };
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === "0") j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j;
  }
  if (best.at < 0) return groups.join(":");
  return `${groups.slice(0, best.at).join(":")}::${groups.slice(best.at + best.len).join(":")}`;
}

function ipv4Bytes(addr: string): number[] {
  return addr.split(".").map(Number);
}

function ipv6Bytes(addr: string): number[] {
  // isIP has already accepted the text; expand "::" and a trailing dotted IPv4 part.
  let text = addr;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (dotted?.[1] !== undefined) {
    tail = ipv4Bytes(dotted[1]);
    text = text.slice(0, -dotted[1].length) + "0:0";
  }
  const [head = "", rest] = text.split("::");
  const groups = (s: string): string[] => (s === "" ? [] : s.split(":"));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const fill = rest === undefined ? [] : new Array<string>(8 - left.length - right.length).fill("0");
  const bytes = [...left, ...fill, ...right].flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}
