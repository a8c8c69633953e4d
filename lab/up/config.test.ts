import { describe, expect, it } from "vitest";
import { apiserverUrl, bridgeIp, controlPlane, entryOf, fallbackPodCidr, inNetns, nodeComponents, nodeIndex, nodePlan, parseCidr, printableCommand } from "./config.js";
import { firewallRules } from "./host.js";
import { TEST_CONFIG } from "./testing.js";
import { statusTable } from "./commands.js";
import { componentKind } from "./supervisor.js";

describe("the lab's addresses", () => {
  it("puts the host first on the node network and node-N at the (10+N)th address", () => {
    expect(bridgeIp(TEST_CONFIG)).toBe("172.30.0.1");
    expect(apiserverUrl(TEST_CONFIG)).toBe("http://172.30.0.1:8080");
    const node = nodePlan(TEST_CONFIG, 2);
    expect(node).toMatchObject({
      name: "node-2",
      ip: "172.30.0.12",
      netns: "kubelab-node-2",
      hostVeth: "kubelab0-n2",
      dir: "/h/nodes/node-2",
      runtimeSocket: "/h/nodes/node-2/runtime.sock",
      runtimeRoot: "/h/nodes/node-2/runtime",
      runcStateDir: "/h/nodes/node-2/run",
      kubeletRootDir: "/h/nodes/node-2/kubelet",
    });
    expect(nodePlan({ ...TEST_CONFIG, nodeNetwork: "172.29.5.0/24" }, 300 - 10 - 2 - 100).ip).toBe("172.29.5.198");
    expect(() => nodePlan({ ...TEST_CONFIG, nodeNetwork: "172.29.5.0/28" }, 5)).toThrow(/does not fit/);
  });

  it("parses CIDRs to their network and names nodes node-N only", () => {
    expect(parseCidr("10.244.3.7/16")).toEqual({ base: (10 * 256 + 244) * 65536, prefix: 16 });
    expect(() => parseCidr("10.244.0.0")).toThrow(/not an IPv4 CIDR/);
    expect(() => parseCidr("300.0.0.0/16")).toThrow();
    expect(nodeIndex("node-12")).toBe(12);
    expect(nodeIndex("node-0")).toBeUndefined();
    expect(nodeIndex("worker-1")).toBeUndefined();
    expect(fallbackPodCidr(TEST_CONFIG, 3)).toBe("10.244.3.0/24");
  });
});

describe("the lab's components", () => {
  it("binds the apiserver to the bridge address and gives the controller-manager the pod network and the lab's timings", () => {
    const [etcd, apiserver, scheduler, cm] = controlPlane(TEST_CONFIG).map((p) => p.component);
    expect(etcd?.args).toContain("--listen-client-urls=http://127.0.0.1:12379");
    expect(apiserver?.args).toEqual(expect.arrayContaining(["--insecure-bind-address=172.30.0.1", "--secure-port=0", "--advertise-address=172.30.0.1", "--insecure-port=8080", "--default-not-ready-toleration-seconds=5"]));
    expect(apiserver?.readiness).toEqual({ kind: "http", url: "http://172.30.0.1:8080/readyz" });
    expect(scheduler?.args).toEqual(expect.arrayContaining(["--master=http://172.30.0.1:8080", "--address=127.0.0.1", "--secure-port=0", "--leader-elect-lease-duration=4s"]));
    expect(cm?.args).toEqual(expect.arrayContaining(["--allocate-node-cidrs", "--cluster-cidr=10.244.0.0/16", "--node-monitor-grace-period=10s"]));
  });

  it("opens the scheduler's and controller-manager's secure ports on loopback when the lab has them", () => {
    const [, , scheduler, cm] = controlPlane({ ...TEST_CONFIG, schedulerSecurePort: 10259, controllerManagerSecurePort: 10257 }).map((p) => p.component);
    expect(scheduler?.args).toEqual(expect.arrayContaining(["--address=127.0.0.1", "--secure-port=10259", "--bind-address=127.0.0.1"]));
    expect(cm?.args).toEqual(expect.arrayContaining(["--address=127.0.0.1", "--secure-port=10257", "--bind-address=127.0.0.1"]));
  });

  it("serves the live view on loopback, asking this lab's supervisor for its components, unless its port is 0", () => {
    const ui = controlPlane(TEST_CONFIG).find((p) => p.component.kind === "kubelab-ui");
    expect(ui?.component.args).toEqual(["--master=http://172.30.0.1:8080", "--port=8484", "--v=0", "--address=127.0.0.1", "--lab-home=/h"]);
    expect(ui?.component.readiness).toEqual({ kind: "http", url: "http://127.0.0.1:8484/readyz" });
    expect(ui?.metricsUrl).toBe("http://127.0.0.1:8484/metrics");
    expect(controlPlane({ ...TEST_CONFIG, uiPort: 0 }).some((p) => p.component.kind === "kubelab-ui")).toBe(false);
  });

  it("runs a node's runtime and kubelet inside its namespace with the agreed kubelet flags", () => {
    const node = nodePlan(TEST_CONFIG, 1);
    const [runtime, kubelet] = nodeComponents(TEST_CONFIG, node);
    expect(runtime?.node).toBe("node-1");
    expect(runtime?.component.program).toEqual({ kind: "binary", path: "nsenter" });
    expect(runtime?.component.args.slice(0, 2)).toEqual(["--net=/run/netns/kubelab-node-1", "--"]);
    expect(runtime?.component.args).toEqual(expect.arrayContaining(["--backend=oci", "--listen=/h/nodes/node-1/runtime.sock", "--bind-address=172.30.0.11"]));
    expect(runtime?.component.args.some((a) => a.startsWith("--pod-cidr"))).toBe(false);
    expect(kubelet?.component.name).toBe("kubelet node-1");
    expect(kubelet?.component.args).toEqual(
      expect.arrayContaining([
        "--master=http://172.30.0.1:8080",
        "--hostname-override=node-1",
        "--node-ip=172.30.0.11",
        "--container-runtime-endpoint=unix:///h/nodes/node-1/runtime.sock",
        "--pod-routes=host-gw",
        "--address=172.30.0.11",
        "--root-dir=/h/nodes/node-1/kubelet",
        // No host resolvers for pods: nothing outside the lab answers.
        "--resolv-conf=",
        "--sync-frequency=10s",
      ]),
    );
    expect(kubelet?.component.readiness).toEqual({ kind: "http", url: "http://172.30.0.11:10248/healthz" });
    expect(kubelet?.metricsUrl).toBe("http://172.30.0.11:10248/metrics");
    expect(entryOf(kubelet?.component ?? runtime!.component)).toMatch(/dist\/kubelet\/main\.js$/);
  });

  it("runs kube-proxy on every node in the lab's proxy mode, its endpoints on the node's IP", () => {
    const planned = nodeComponents(TEST_CONFIG, nodePlan(TEST_CONFIG, 1));
    expect(planned.map((p) => p.component.kind)).toEqual(["container-runtime", "kubelet", "kube-proxy"]);
    const proxy = planned[2];
    expect(proxy?.component.name).toBe("kube-proxy node-1");
    expect(proxy?.node).toBe("node-1");
    const args = proxy?.component.args ?? [];
    expect(args.slice(0, args.indexOf("--") + 1)).toEqual(["--net=/run/netns/kubelab-node-1", "--"]);
    expect(entryOf(proxy!.component)).toMatch(/dist\/kube-proxy\/main\.js$/);
    expect(args.slice(args.indexOf("--") + 3)).toEqual([
      "--master=http://172.30.0.1:8080",
      "--hostname-override=node-1",
      "--cluster-cidr=10.244.0.0/16",
      "--proxy-mode=iptables",
      "--healthz-bind-address=172.30.0.11:10256",
      "--metrics-bind-address=172.30.0.11:10249",
      "--iptables-min-sync-period=250ms",
    ]);
    expect(proxy?.component.readiness).toEqual({ kind: "http", url: "http://172.30.0.11:10256/healthz" });
    expect(proxy?.metricsUrl).toBe("http://172.30.0.11:10249/metrics");

    const userspace = nodeComponents({ ...TEST_CONFIG, proxyMode: "userspace" }, nodePlan(TEST_CONFIG, 2))[2];
    expect(userspace?.component.args).toContain("--proxy-mode=userspace");
    expect(userspace?.component.args).toContain("--bind-address=172.30.0.12");
  });

  it("runs the runtime alone, on a fallback pod CIDR, without a kubelet", () => {
    const planned = nodeComponents({ ...TEST_CONFIG, withKubelet: false }, nodePlan(TEST_CONFIG, 2));
    expect(planned.map((p) => p.component.kind)).toEqual(["container-runtime"]);
    expect(planned[0]?.component.args).toContain("--pod-cidr=10.244.2.0/24");
  });

  it("prints command lines a shell takes back", () => {
    const component = inNetns({ name: "x", kind: "etcd", program: { kind: "binary", path: "etcd" }, args: ["--a=1", "--b=it's"], ports: {}, links: [] }, "ns");
    expect(printableCommand(component)).toBe("nsenter --net=/run/netns/ns -- etcd --a=1 '--b=it'\\''s'");
  });

  it("takes Kubernetes' and short names for components", () => {
    expect(componentKind("runtime")).toBe("container-runtime");
    expect(componentKind("apiserver")).toBe("kube-apiserver");
    expect(componentKind("kube-proxy")).toBe("kube-proxy");
    expect(componentKind("proxy")).toBe("kube-proxy");
    expect(() => componentKind("dns")).toThrow(/unknown component/);
  });
});

describe("the lab's firewall rules", () => {
  it("let the bridge address answer only the host and the bridge, and forward nothing into or out of the bridge", () => {
    const { chain, chainRules, rules } = firewallRules(TEST_CONFIG);
    const tag = ["-m", "comment", "--comment", "kubelab lab /h"];
    expect(chain).toBe("KUBELAB-IN-kubelab0");
    expect(chainRules).toEqual([["-i", "lo", ...tag, "-j", "RETURN"], ["-i", "kubelab0", ...tag, "-j", "RETURN"], [...tag, "-j", "DROP"]]);
    expect(rules).toEqual([
      { chain: "INPUT", spec: ["-d", "172.30.0.1/32", ...tag, "-j", chain] },
      { chain: "FORWARD", spec: ["-i", "kubelab0", "-o", "kubelab0", ...tag, "-j", "ACCEPT"] },
      { chain: "FORWARD", spec: ["-i", "kubelab0", "!", "-o", "kubelab0", ...tag, "-j", "DROP"] },
      { chain: "FORWARD", spec: ["!", "-i", "kubelab0", "-o", "kubelab0", ...tag, "-j", "DROP"] },
    ]);
  });
});

describe("kubelab status", () => {
  it("prints a table, wide with metrics URL and command", () => {
    const rows = [
      { name: "etcd", component: "etcd", pid: 10, state: "running" as const, restarts: 0, uptimeSeconds: 5, health: "ok" as const, metricsUrl: "http://127.0.0.1:1/metrics", command: "etcd" },
      { name: "container-runtime node-1", component: "container-runtime", node: "node-1", state: "backoff" as const, restarts: 3, health: "failing" as const, command: "nsenter" },
    ];
    expect(statusTable(rows, false)).toBe(
      [
        "COMPONENT           NODE     PID   STATE     RESTARTS   UPTIME   HEALTH",
        "etcd                -        10    running   0          5s       ok",
        "container-runtime   node-1   -     backoff   3          -        failing",
        "",
      ].join("\n"),
    );
    expect(statusTable(rows, true).split("\n")[1]).toContain("http://127.0.0.1:1/metrics   etcd");
  });
});

describe("a node that is a container (kubelab node)", () => {
  const config = { ...TEST_CONFIG, container: { apiserver: "http://172.30.0.3:8080", dnsReplicas: 2 } };

  it("runs its components in the container's own namespaces and points them at the apiserver container", () => {
    expect(controlPlane(config)).toEqual([]);
    expect(apiserverUrl(config)).toBe("http://172.30.0.3:8080");
    const planned = nodeComponents(config, nodePlan(config, 2));
    expect(planned.map((p) => p.component.program.kind)).toEqual(["node", "node", "node"]);
    const kubelet = planned.find((p) => p.component.kind === "kubelet");
    expect(kubelet?.component.args).toEqual(expect.arrayContaining(["--master=http://172.30.0.3:8080", "--node-ip=172.30.0.12", "--hostname-override=node-2"]));
  });
});
