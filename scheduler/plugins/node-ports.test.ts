import { describe, expect, it } from "vitest";
import { newNode, newPod } from "../../api/testing/builders.js";
import type { ContainerPort, Pod } from "../../api/types/index.js";
import { nodeInfoOf, runFilter } from "../framework/testing.js";
import { ERR_REASON, NodePorts } from "./node-ports.js";

function withPorts(name: string, ports: ContainerPort[]): Pod {
  return newPod(name, { containers: [{ name: "app", image: "x", ports }] });
}

describe("NodePorts", () => {
  const plugin = new NodePorts();

  it("skips pods that claim no host port", () => {
    const status = runFilter(plugin, withPorts("p", [{ containerPort: 80 }]), nodeInfoOf(newNode("n1"), withPorts("q", [{ containerPort: 80, hostPort: 80 }])));
    expect(status.code).toBe("Skip");
  });

  it.each<[string, ContainerPort, ContainerPort, string]>([
    ["the same port and protocol on all IPs", { containerPort: 80, hostPort: 8080 }, { containerPort: 80, hostPort: 8080 }, "Unschedulable"],
    ["another port", { containerPort: 80, hostPort: 8080 }, { containerPort: 80, hostPort: 8081 }, "Success"],
    ["another protocol", { containerPort: 53, hostPort: 53, protocol: "UDP" }, { containerPort: 53, hostPort: 53, protocol: "TCP" }, "Success"],
    ["different host IPs", { containerPort: 80, hostPort: 8080, hostIP: "10.0.0.1" }, { containerPort: 80, hostPort: 8080, hostIP: "10.0.0.2" }, "Success"],
    ["the same host IP", { containerPort: 80, hostPort: 8080, hostIP: "10.0.0.1" }, { containerPort: 80, hostPort: 8080, hostIP: "10.0.0.1" }, "Unschedulable"],
    ["a wildcard against a specific IP", { containerPort: 80, hostPort: 8080 }, { containerPort: 80, hostPort: 8080, hostIP: "10.0.0.1" }, "Unschedulable"],
    ["a specific IP against a wildcard", { containerPort: 80, hostPort: 8080, hostIP: "10.0.0.1" }, { containerPort: 80, hostPort: 8080, hostIP: "0.0.0.0" }, "Unschedulable"],
  ])("with %s gives %s", (_what, existing, wanted, code) => {
    const node = nodeInfoOf(newNode("n1"), withPorts("existing", [existing]));
    const status = runFilter(plugin, withPorts("p", [wanted]), node);
    expect(status.code).toBe(code);
    if (code === "Unschedulable") expect(status.reasons).toEqual([ERR_REASON]);
  });

  it("frees the port when the pod holding it leaves the node", () => {
    const holder = withPorts("existing", [{ containerPort: 80, hostPort: 8080 }]);
    const node = nodeInfoOf(newNode("n1"), holder);
    node.removePod("default/existing");
    expect(runFilter(plugin, withPorts("p", [{ containerPort: 80, hostPort: 8080 }]), node).code).toBe("Success");
  });

  it("words its reason as Kubernetes does", () => {
    expect(ERR_REASON).toBe("node(s) didn't have free ports for the requested pod ports");
  });
});
