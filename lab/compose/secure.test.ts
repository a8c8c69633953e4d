import { describe, expect, it } from "vitest";
import { composeLabConfig, COMPOSE_DEFAULTS } from "./config.js";
import { composePkiOptions } from "./secure.js";

const settings = { ...COMPOSE_DEFAULTS, home: "/var/lib/kubelab", nodeNetwork: "172.30.0.0/16" };

describe("composeLabConfig", () => {
  it("is the secure lab, on the URL's port, for an https apiserver", () => {
    const config = composeLabConfig({ ...settings, apiserver: "https://172.30.0.3:6443" });
    expect(config.secure).toBe(true);
    expect(config.securePort).toBe(6443);
    expect(config.container).toEqual({ apiserver: "https://172.30.0.3:6443", dnsReplicas: 2 });
  });

  it("is the 0.18 plain-HTTP lab for an http apiserver", () => {
    const config = composeLabConfig({ ...settings, apiserver: "http://172.31.0.10:8080", nodeNetwork: "172.31.0.0/16" });
    expect(config.secure).toBeUndefined();
    expect(config.apiserverPort).toBe(8080);
  });
});

describe("composePkiOptions", () => {
  const options = composePkiOptions({ dir: "/pki", server: "https://172.30.0.10:6443", nodeNetwork: "172.30.0.0/16", serviceCidr: "10.96.0.0/12", nodes: ["node-1", "node-3", "node-247"], extraAddresses: ["kubelab.example"] });

  it("names every way the apiserver is reached in its serving certificate", () => {
    // the node network's first address (a node's supervisor asks for it), the apiserver, the HA load balancer, the
    // service names on the compose network, and what the user added; lab/pki adds 127.0.0.1 and the Service IP.
    expect(options.apiserverAddresses).toEqual(expect.arrayContaining(["172.30.0.1", "172.30.0.3", "172.30.0.10", "apiserver", "apiserver-2", "apiserver-lb", "kubelab.example"]));
    expect(options.serviceIp).toBe("10.96.0.1");
    expect(options.server).toBe("https://172.30.0.10:6443");
  });

  it("gives node-N its address in the lab's plan", () => {
    expect(options.nodes).toEqual([
      { name: "node-1", addresses: ["172.30.0.11"] },
      { name: "node-3", addresses: ["172.30.0.13"] },
      { name: "node-247", addresses: ["172.30.1.1"] },
    ]);
  });

  it("refuses a node name out of the plan", () => {
    expect(() => composePkiOptions({ dir: "/pki", server: "https://172.30.0.3:6443", nodeNetwork: "172.30.0.0/16", serviceCidr: "10.96.0.0/12", nodes: ["worker"] })).toThrow(/node-<number>, not worker/);
  });
});
