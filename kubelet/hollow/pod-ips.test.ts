import { describe, expect, it } from "vitest";
import { fallbackCIDR, parseCIDR, PodIPAllocator, PodIPsExhaustedError } from "./pod-ips.js";

const cidr = (text: string) => {
  const parsed = parseCIDR(text);
  if (!parsed) throw new Error(`bad CIDR ${text}`);
  return parsed;
};

describe("parseCIDR", () => {
  it.each([
    ["10.244.3.0/24", "10.244.3.0/24"],
    ["10.244.3.7/24", "10.244.3.0/24"],
    ["10.244.0.0/16", "10.244.0.0/16"],
  ])("parses %s as %s", (text, canonical) => {
    expect(parseCIDR(text)?.text).toBe(canonical);
  });

  it.each(["fd00::/64", "10.244.3.0", "10.244.300.0/24", "10.244.3.0/33", ""])("rejects %j", (text) => {
    expect(parseCIDR(text)).toBeUndefined();
  });
});

describe("PodIPAllocator", () => {
  it("hands out addresses of the node's podCIDR from .2 on (network and gateway skipped)", () => {
    const ips = new PodIPAllocator();
    expect(ips.allocate("n1", "default/a", cidr("10.244.3.0/24"))).toBe("10.244.3.2");
    expect(ips.allocate("n1", "default/b", cidr("10.244.3.0/24"))).toBe("10.244.3.3");
    expect(ips.allocate("n2", "default/c", cidr("10.244.4.0/24"))).toBe("10.244.4.2");
    expect(ips.allocate("n1", "default/a", cidr("10.244.3.0/24"))).toBe("10.244.3.2");
    expect(ips.get("default/b")).toBe("10.244.3.3");
  });

  it("moves round-robin, so a released address is not reused at once, and never gives the broadcast address", () => {
    const ips = new PodIPAllocator();
    const range = cidr("10.244.3.0/29"); // hosts .2 … .6
    for (const p of ["a", "b", "c", "d", "e"]) ips.allocate("n", p, range);
    ips.release("b");
    expect(ips.allocate("n", "f", range)).toBe("10.244.3.3");
    ips.release("a");
    ips.release("c");
    expect(ips.allocate("n", "g", range)).toBe("10.244.3.4");
    expect(ips.allocate("n", "h", range)).toBe("10.244.3.2");
    expect(() => ips.allocate("n", "i", range)).toThrow(PodIPsExhaustedError);
  });

  it("keeps addresses pods already have (a restart) away from new pods", () => {
    const ips = new PodIPAllocator();
    ips.reserve("n", "default/old", "10.244.3.2");
    expect(ips.allocate("n", "default/new", cidr("10.244.3.0/24"))).toBe("10.244.3.3");
    expect(ips.usedOn("n")).toBe(2);
    ips.release("default/old");
    expect(ips.usedOn("n")).toBe(1);
  });
});

describe("fallbackCIDR", () => {
  it("picks a stable /24 inside the range for a node without podCIDR", () => {
    const range = cidr("10.244.0.0/16");
    const a = fallbackCIDR("hollow-1", range);
    expect(a.prefixLength).toBe(24);
    expect(a.text).toMatch(/^10\.244\.\d{1,3}\.0\/24$/);
    expect(fallbackCIDR("hollow-1", range)).toEqual(a);
    const spread = new Set(Array.from({ length: 100 }, (_, i) => fallbackCIDR(`hollow-${i}`, range).text));
    expect(spread.size).toBeGreaterThan(80);
  });
});
