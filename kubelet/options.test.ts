import { describe, expect, it } from "vitest";
import { parseFlags } from "../component-base/flags.js";
import { nodeIpFromFlags, nodeNameFromFlags } from "./app.js";
import { kubeletFlags, masterFromFlags, parseNodeLabels } from "./options.js";

describe("kubelet flags", () => {
  it("has Kubernetes' names and defaults, with the API bound to loopback", () => {
    const flags = parseFlags(kubeletFlags, [], { command: "kubelet" });
    expect(flags).toMatchObject({
      port: 10250,
      address: "127.0.0.1",
      healthzPort: 10248,
      healthzBindAddress: "127.0.0.1",
      nodeStatusUpdateFrequency: 10_000,
      nodeLeaseDurationSeconds: 40,
      clusterDns: "10.96.0.10",
      clusterDomain: "cluster.local",
      rootDir: "/var/lib/kubelet",
      maxPods: 110,
      podRoutes: "none",
      containerRuntimeEndpoint: "unix:///run/kubelab/runtime.sock",
      kubeApiQps: 50,
      kubeApiBurst: 100,
    });
  });

  it("takes the apiserver from --master, else the first of 0.18's --api-servers", () => {
    const parse = (...argv: string[]) => masterFromFlags(parseFlags(kubeletFlags, argv, { command: "kubelet" }));
    expect(parse("--api-servers=http://10.0.0.1:8080,http://10.0.0.2:8080")).toBe("http://10.0.0.1:8080");
    expect(parse("--master=http://m:8080", "--api-servers=http://other:8080")).toBe("http://m:8080");
    expect(parse()).toBeUndefined();
  });

  it("parses --node-labels and names the node", () => {
    expect(parseNodeLabels("a=b, zone=eu-1,empty=")).toEqual({ a: "b", zone: "eu-1", empty: "" });
    expect(() => parseNodeLabels("nolabel")).toThrow(/not key=value/);
    expect(nodeNameFromFlags({ hostnameOverride: "Node-1" })).toBe("node-1");
    expect(nodeIpFromFlags({ nodeIp: "10.1.2.3" })).toBe("10.1.2.3");
    expect(nodeIpFromFlags({ nodeIp: undefined })).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });
});
