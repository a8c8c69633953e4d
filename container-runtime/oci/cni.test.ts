import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  loadDefaultConfigList,
  nodeConfigList,
  parseCniResult,
  parseConfigList,
  pluginInvocationConfig,
  podIPs,
  writeNodeConfigList,
} from "./cni.js";

// A ptp ADD result as containernetworking-plugins 1.1 prints it (host end first, pod end second).
const PTP_RESULT = {
  cniVersion: "1.0.0",
  interfaces: [
    { name: "veth1a2b3c4d", mac: "7a:1b:00:00:00:01" },
    { name: "eth0", mac: "7a:1b:00:00:00:02", sandbox: "/run/netns/kubelab-sb1" },
  ],
  ips: [{ interface: 1, address: "10.244.1.5/24", gateway: "10.244.1.1" }],
  routes: [{ dst: "0.0.0.0/0" }],
  dns: {},
};

describe("node network configuration", () => {
  it("chains ptp with host-local IPAM on the podCIDR, then portmap for hostPort", () => {
    const list = nodeConfigList({ podCIDR: "10.244.1.0/24", ipamDataDir: "/var/lib/kubelab/ipam" });
    expect(list).toEqual({
      cniVersion: "1.0.0",
      name: "kubelab",
      plugins: [
        {
          type: "ptp",
          ipMasq: false,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: "10.244.1.0/24" }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: "/var/lib/kubelab/ipam",
          },
        },
        { type: "portmap", capabilities: { portMappings: true }, snat: true },
      ],
    });
  });

  describe("on disk", () => {
    let dir: string | undefined;
    afterEach(() => {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it("writes a .conflist and reads back the lexically first one", async () => {
      dir = mkdtempSync(join(tmpdir(), "cni-test-"));
      const path = await writeNodeConfigList(dir, { podCIDR: "10.244.2.0/24", networkName: "pods" });
      expect(path).toBe(join(dir, "10-pods.conflist"));
      writeFileSync(join(dir, "20-other.conflist"), JSON.stringify({ cniVersion: "1.0.0", name: "other", plugins: [{ type: "bridge" }] }));
      writeFileSync(join(dir, "05-ignored.conf"), "{}");
      const list = await loadDefaultConfigList(dir);
      expect(list.name).toBe("pods");
      expect(JSON.parse(readFileSync(path, "utf8"))).toEqual(list);
    });
  });

  it("names the bad field of a broken conflist", () => {
    expect(() => parseConfigList({ cniVersion: "1.0.0", name: "x", plugins: [{ ipam: {} }] }, "f.conflist")).toThrow(
      "f.conflist: plugins[0].type must be a string",
    );
    expect(() => parseConfigList({ cniVersion: "1.0.0", plugins: [] }, "g")).toThrow("g: name must be a non-empty string");
    expect(() => parseConfigList([], "h")).toThrow("h: not a JSON object");
  });
});

describe("plugin invocation", () => {
  const list = nodeConfigList({ podCIDR: "10.244.1.0/24" });
  const [ptp, portmap] = list.plugins;

  it("adds the list's name and version and the previous result, never the capabilities", () => {
    if (portmap === undefined) throw new Error("portmap missing");
    const config = pluginInvocationConfig(list, portmap, {}, PTP_RESULT);
    expect(config).toMatchObject({ type: "portmap", name: "kubelab", cniVersion: "1.0.0", prevResult: PTP_RESULT });
    expect(config).not.toHaveProperty("capabilities");
    expect(config).not.toHaveProperty("runtimeConfig");
  });

  it("passes port mappings as runtimeConfig only to plugins that declare the capability", () => {
    if (ptp === undefined || portmap === undefined) throw new Error("plugins missing");
    const attachment = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" as const }] };
    expect(pluginInvocationConfig(list, portmap, attachment, undefined).runtimeConfig).toEqual({
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
    });
    expect(pluginInvocationConfig(list, ptp, attachment, undefined)).not.toHaveProperty("runtimeConfig");
    expect(pluginInvocationConfig(list, ptp, attachment, undefined)).not.toHaveProperty("prevResult");
  });
});

describe("CNI results", () => {
  it("parses a ptp result and keeps only the pod-side address", () => {
    const result = parseCniResult(PTP_RESULT);
    expect(result.ips).toEqual([{ address: "10.244.1.5/24", gateway: "10.244.1.1", interface: 1 }]);
    expect(podIPs(result)).toEqual(["10.244.1.5"]);
  });

  it("ignores addresses on the host end and puts IPv4 before IPv6", () => {
    const result = parseCniResult({
      ...PTP_RESULT,
      ips: [
        { interface: 1, address: "fd00:10:244::5/64" },
        { interface: 0, address: "10.244.1.1/32" },
        { interface: 1, address: "10.244.1.5/24" },
      ],
    });
    expect(podIPs(result)).toEqual(["10.244.1.5", "fd00:10:244::5"]);
  });

  it("counts every address when a result has no interface indexes (spec 0.3 style)", () => {
    const result = parseCniResult({ cniVersion: "0.3.1", ips: [{ version: "4", address: "10.1.0.9/16" }] });
    expect(podIPs(result)).toEqual(["10.1.0.9"]);
    expect(result.interfaces).toEqual([]);
  });

  it("reads DNS and drops malformed entries", () => {
    const result = parseCniResult({
      cniVersion: "1.0.0",
      ips: [{ address: 7 }, { address: "10.0.0.2/8" }],
      routes: [{ gw: "x" }, { dst: "10.0.0.0/8", gw: "10.0.0.1" }],
      dns: { nameservers: ["10.96.0.10", 3], search: ["default.svc.cluster.local"], domain: "cluster.local" },
    });
    expect(result.ips).toEqual([{ address: "10.0.0.2/8" }]);
    expect(result.routes).toEqual([{ dst: "10.0.0.0/8", gw: "10.0.0.1" }]);
    expect(result.dns).toEqual({ nameservers: ["10.96.0.10"], search: ["default.svc.cluster.local"], domain: "cluster.local" });
  });

  it("refuses a result that is not an object", () => {
    expect(() => parseCniResult("nope")).toThrow("CNI result: not a JSON object");
  });
});
