/**
 * The address rules every stack-file check and renderer shares (core/net/address.ts): what the
 * schema accepts is what the firewall scripts accept, and IPv6 literals are bracketed wherever
 * an address meets a port.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addressCidr, addressProblem, cidrProblem, hostPort, httpUrl, urlHost } from "../../core/net/address";

describe("cidrProblem", () => {
  it.each(["10.0.0.0/8", "203.0.113.7", "0.0.0.0/0", "::/0", "2001:db8::/32", "2001:db8::1", "::ffff:192.0.2.0/120", "fe80::/10"])(
    "accepts %s",
    (c) => expect(cidrProblem(c)).toBeNull(),
  );
  it.each([
    ["10.0.0.1/8", "host bits set after /8: the network is 10.0.0.0/8"],
    ["198.51.100.7/24", "host bits set after /24: the network is 198.51.100.0/24"],
    ["2001:db8::1/32", "host bits set after /32: the network is 2001:db8::/32"],
    ["::ffff:192.0.2.1/120", "host bits"],
    ["10.0.0.0/33", "prefix length"],
    ["2001:db8::/129", "prefix length"],
    ["10.0.0.0/", "prefix length"],
    ["300.0.0.0/8", "not an IPv4"],
    ["example.com", "not an IPv4"],
    ["$(id)", "not an IPv4"],
  ])("rejects %s (%s)", (c, why) => expect(cidrProblem(c)).toContain(why));

  it("names a network that it then accepts, for any IPv4 address and prefix", () => {
    fc.assert(fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (ip, prefix) => {
      const problem = cidrProblem(`${ip}/${prefix}`);
      if (problem === null) return;
      const network = /the network is (\S+)$/.exec(problem)?.[1];
      expect(network).toBeDefined();
      expect(cidrProblem(network!)).toBeNull();
    }));
  });
});

describe("addressProblem", () => {
  it.each(["203.0.113.10", "2001:db8::31", "fd00:20::32", "gpu-1.example.co.uk", "localhost", "h1"])("accepts %s", (a) => {
    expect(addressProblem(a)).toBeNull();
  });
  it.each([
    ["203.0.113.300", 'is not an IPv4 address: "300" is not a number from 0 to 255'],
    ["203.0.113", "is not an IPv4 address"],
    ["2001:db8:::1", "is not an IPv6 address"],
    ["gpu_1.example.com", "must be an IPv4/IPv6 address or a DNS host name"],
    ["-gpu.example.com", "must be an IPv4/IPv6 address or a DNS host name"],
    ["", "must be an IPv4/IPv6 address or a DNS host name"],
  ])("rejects %s", (a, message) => expect(addressProblem(a)).toContain(message));
});

describe("where an address meets a port", () => {
  it("brackets IPv6 literals and nothing else", () => {
    expect(urlHost("2001:db8::31")).toBe("[2001:db8::31]");
    expect(hostPort("fd00:20::32", 8000)).toBe("[fd00:20::32]:8000");
    expect(httpUrl("http", "fd00:20::32", 8000, "/v1")).toBe("http://[fd00:20::32]:8000/v1");
    expect(httpUrl("http", "203.0.113.10", 4000)).toBe("http://203.0.113.10:4000");
    expect(httpUrl("https", "gpu-1.example.co.uk", 6443)).toBe("https://gpu-1.example.co.uk:6443");
  });

  it("gives every IPv6 address a URL that parses back to it", () => {
    fc.assert(fc.property(fc.ipV6(), fc.integer({ min: 1, max: 65535 }), (ip, port) => {
      const url = new URL(httpUrl("http", ip, port, "/v1"));
      expect(url.port === "" ? 80 : Number(url.port)).toBe(port);
      expect(url.hostname.startsWith("[")).toBe(true);
    }));
  });

  it("makes one-address CIDRs of IP literals only", () => {
    expect(addressCidr("10.20.0.31")).toBe("10.20.0.31/32");
    expect(addressCidr("fd00::31")).toBe("fd00::31/128");
    expect(addressCidr("router.example.com")).toBe("router.example.com");
  });
});
