/**
 * What kind of address a port is published on. Private means RFC 1918 (10/8, 172.16/12,
 * 192.168/16) or an IPv6 unique local address (fc00::/7, RFC 4193); loopback (127/8, ::1)
 * never leaves the host. Docker publishes on 0.0.0.0 (every interface) when no address is
 * given (Docker docs, "Published ports"; @pulumi/docker `ContainerPort.ip` defaults to 0.0.0.0).
 */
import { BlockList, isIP } from "node:net";

export type AddressKind = "unspecified" | "loopback" | "private" | "public" | "invalid";

const privateRanges = new BlockList();
privateRanges.addSubnet("10.0.0.0", 8, "ipv4");
privateRanges.addSubnet("172.16.0.0", 12, "ipv4");
privateRanges.addSubnet("192.168.0.0", 16, "ipv4");
privateRanges.addSubnet("fc00::", 7, "ipv6");

const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

export function addressKind(address: string): AddressKind {
  const a = address.trim();
  if (a === "" || a === "0.0.0.0" || a === "::" || a === "[::]") return "unspecified";
  const bare = a.startsWith("[") && a.endsWith("]") ? a.slice(1, -1) : a;
  const family = isIP(bare);
  if (family === 0) return "invalid";
  const type = family === 4 ? "ipv4" : "ipv6";
  if (loopback.check(bare, type)) return "loopback";
  if (privateRanges.check(bare, type)) return "private";
  return "public";
}
