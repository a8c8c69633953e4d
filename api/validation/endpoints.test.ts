import { describe, expect, it } from "vitest";
import type { KubeObject } from "../meta.js";
import type { EndpointSlice } from "../types/index.js";
import { problems, updateProblems } from "./testing.js";

describe("endpoints and endpoint slices", () => {
  it.each<[string, KubeObject, string]>([
    [
      "an unknown address type",
      { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "s", namespace: "d" }, addressType: "IPv5" },
      'addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"',
    ],
    [
      "an IPv4 slice with an IPv6 address",
      { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "s", namespace: "d" }, addressType: "IPv4", endpoints: [{ addresses: ["::1"] }] },
      'endpoints[0].addresses[0]: Invalid value: "::1": must be a valid IPv4 address',
    ],
    [
      "a loopback endpoint",
      { apiVersion: "v1", kind: "Endpoints", metadata: { name: "e", namespace: "d" }, subsets: [{ addresses: [{ ip: "127.0.0.1" }] }] },
      'subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
    ],
  ])("rejects %s", (_what, obj, expected) => {
    expect(problems(obj)).toContain(expected);
  });

  it("keeps an endpoint slice's address type", () => {
    const prev = { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "s", namespace: "d" }, addressType: "IPv4" } as EndpointSlice;
    const next = { ...prev, addressType: "IPv6" } as EndpointSlice;
    expect(updateProblems(next, prev)).toEqual(['addressType: Invalid value: "IPv6": field is immutable']);
  });
});
