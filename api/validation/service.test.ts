import { describe, expect, it } from "vitest";
import { newService } from "../testing/builders.js";
import type { Service } from "../types/index.js";
import { problems, updateProblems, edit } from "./testing.js";

describe("services", () => {
  it.each<[string, Service, string]>([
    ["no ports", edit(newService("web"), (s) => (s.spec!.ports = [])), "spec.ports: Required value"],
    ["a port out of range", newService("web", { ports: [70000] }), "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"],
    ["an unnamed port among several", newService("web", { ports: [{ port: 80 }, { port: 443, name: "https" }] }), "spec.ports[0].name: Required value"],
    [
      "duplicate port names",
      newService("web", { ports: [{ port: 80, name: "web" }, { port: 81, name: "web" }] }),
      'spec.ports[1].name: Duplicate value: "web"',
    ],
    ["an unknown type", newService("web", { type: "Magic" as "ClusterIP" }), 'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'],
    ["a node port on a ClusterIP service", newService("web", { ports: [{ port: 80, nodePort: 30080 }] }), "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
    ["a headless NodePort service", newService("web", { type: "NodePort", clusterIP: "None" }), "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services"],
    ["a bad cluster IP", newService("web", { clusterIP: "10.96.0.300" }), 'spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
    ["an ExternalName without a name", edit(newService("db", { type: "ExternalName" }), (s) => (s.spec = { type: "ExternalName" })), "spec.externalName: Required value"],
    [
      "the same port twice",
      newService("web", { ports: [{ port: 80, name: "a" }, { port: 80, name: "b" }] }),
      'spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
    ],
  ])("rejects %s", (_what, svc, expected) => {
    expect(problems(svc)).toContain(expected);
  });

  it("keeps an allocated cluster IP", () => {
    const prev = newService("web", { clusterIP: "10.96.0.10" });
    const errs = updateProblems(newService("web", { clusterIP: "10.96.0.11" }), prev);
    expect(errs).toEqual(['spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set']);
  });

  it("lets an update leave the cluster IP out, since the registry carries it over", () => {
    expect(updateProblems(newService("web"), newService("web", { clusterIP: "10.96.0.10" }))).toEqual([]);
  });

  it("lets a headless service stay headless", () => {
    expect(updateProblems(newService("db", { clusterIP: "None" }), newService("db", { clusterIP: "None" }))).toEqual([]);
  });
});
