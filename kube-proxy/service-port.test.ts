import { describe, expect, it } from "vitest";
import type { Service } from "../api/types/core.js";
import { servicePortsOf } from "./service-port.js";

function service(spec: NonNullable<Service["spec"]>, status?: Service["status"]): Service {
  return { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec: { clusterIP: "10.96.0.20", ...spec }, ...(status ? { status } : {}) };
}

describe("servicePortsOf", () => {
  it("keeps externalTrafficPolicy Local only where traffic comes from outside (Kubernetes' ExternalPolicyLocal)", () => {
    const ports = [{ port: 80, nodePort: 30080 }];
    expect(servicePortsOf(service({ type: "NodePort", externalTrafficPolicy: "Local", ports })).get("default/web")?.externalPolicyLocal).toBe(true);
    expect(servicePortsOf(service({ type: "ClusterIP", externalTrafficPolicy: "Local", ports: [{ port: 80 }] })).get("default/web")?.externalPolicyLocal).toBeUndefined();
    expect(servicePortsOf(service({ type: "ClusterIP", externalTrafficPolicy: "Local", externalIPs: ["192.0.2.1"], ports: [{ port: 80 }] })).get("default/web")?.externalPolicyLocal).toBe(true);
  });

  it("reads internalTrafficPolicy Local", () => {
    expect(servicePortsOf(service({ internalTrafficPolicy: "Local", ports: [{ port: 80 }] })).get("default/web")?.internalPolicyLocal).toBe(true);
    expect(servicePortsOf(service({ internalTrafficPolicy: "Cluster", ports: [{ port: 80 }] })).get("default/web")?.internalPolicyLocal).toBeUndefined();
  });

  it("takes loadBalancerSourceRanges and ingress IPs of LoadBalancer Services only, skipping what is not IPv4", () => {
    const spec = { loadBalancerSourceRanges: [" 192.0.2.0/24", "2001:db8::/32", "bogus"], ports: [{ port: 80, nodePort: 30080 }] };
    const lb = servicePortsOf(service({ type: "LoadBalancer", ...spec }, { loadBalancer: { ingress: [{ ip: "203.0.113.9" }, { hostname: "lb.example" }] } })).get("default/web");
    expect(lb).toMatchObject({ nodePort: 30080, loadBalancerSourceRanges: ["192.0.2.0/24"], loadBalancerVIPs: ["203.0.113.9"] });
    const np = servicePortsOf(service({ type: "NodePort", ...spec })).get("default/web");
    expect(np?.loadBalancerSourceRanges).toBeUndefined();
  });
});
