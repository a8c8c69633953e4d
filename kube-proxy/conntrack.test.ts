import { describe, expect, it } from "vitest";
import { conntrackArgs, staleUDPEntries } from "./conntrack.js";
import type { EndpointInfo } from "./endpoints.js";
import type { ServicePortInfo } from "./service-port.js";

const ep = (ip: string, ready = true): EndpointInfo => ({ ip, port: 53, ready, serving: ready, terminating: false });
const dns: ServicePortInfo = { name: { namespace: "kube-system", name: "kube-dns", port: "dns" }, protocol: "UDP", clusterIP: "10.96.0.10", port: 53, nodePort: 30053, externalIPs: ["192.0.2.5"] };

describe("staleUDPEntries", () => {
  const services = new Map([["kube-system/kube-dns:dns", dns]]);

  it("clears the service's entries when it gets its first usable endpoint", () => {
    const d = staleUDPEntries(services, new Map([["kube-system/kube-dns:dns", { previous: [ep("10.244.1.2", false)], current: [ep("10.244.1.2")] }]]), []);
    expect(d.map(conntrackArgs).map((a) => a.join(" "))).toEqual(["conntrack -D --orig-dst 10.96.0.10 -p udp --dport 53", "conntrack -D --orig-dst 192.0.2.5 -p udp --dport 53", "conntrack -D -p udp --dport 30053"]);
  });

  it("clears entries DNATed to an endpoint no longer used", () => {
    const d = staleUDPEntries(services, new Map([["kube-system/kube-dns:dns", { previous: [ep("10.244.1.2"), ep("10.244.1.3")], current: [ep("10.244.1.3"), ep("10.244.1.2", false)] }]]), []);
    expect(d.map(conntrackArgs).map((a) => a.join(" "))).toEqual([
      "conntrack -D --orig-dst 10.96.0.10 --dst-nat 10.244.1.2 -p udp",
      "conntrack -D --orig-dst 192.0.2.5 --dst-nat 10.244.1.2 -p udp",
      "conntrack -D --dst-nat 10.244.1.2 -p udp --dport 30053",
    ]);
  });

  it("ignores TCP (connections break on their own) and clears deleted UDP ports", () => {
    const tcp = { ...dns, protocol: "TCP" as const };
    expect(staleUDPEntries(new Map([["x", tcp]]), new Map([["x", { previous: [ep("10.244.1.2")], current: [] }]]), [tcp])).toEqual([]);
    expect(staleUDPEntries(new Map(), new Map(), [dns])).toHaveLength(3);
  });
});
