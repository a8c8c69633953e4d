import { describe, expect, it } from "vitest";
import { commandLine, renderFlags, type Component } from "./component.js";
import { containerRuntimeComponent } from "./container-runtime.js";
import { distEntry, REPO_ROOT } from "./entries.js";
import { etcdComponent, etcdEndpoint } from "./etcd.js";
import { hollowNodesComponent } from "./hollow-nodes.js";
import { apiserverComponent } from "./kube-apiserver.js";
import { controllerManagerComponent } from "./kube-controller-manager.js";
import { schedulerComponent } from "./kube-scheduler.js";
import { kubeProxyComponent } from "./kube-proxy.js";
import { kubeletComponent } from "./kubelet.js";
import { kubeStateMetricsComponent } from "./kube-state-metrics.js";
import { prometheusComponent } from "./prometheus.js";
import { metricsServerComponent } from "./metrics-server.js";
import { kubelabUiComponent } from "./kubelab-ui.js";

describe("renderFlags", () => {
  it("renders --name=value in order and leaves out flags without a value", () => {
    expect(renderFlags([["a", "x"], ["b", undefined], ["c", 0], ["d", false], ["e", true]])).toEqual(["--a=x", "--c=0", "--d=false", "--e=true"]);
  });
});

describe("commandLine", () => {
  const base: Omit<Component, "program"> = { name: "c", kind: "etcd", args: ["--x=1"], ports: {}, links: [] };

  it("runs a binary with the component's arguments", () => {
    expect(commandLine({ ...base, program: { kind: "binary", path: "/usr/bin/etcd" } }, "/node")).toEqual({ command: "/usr/bin/etcd", args: ["--x=1"] });
  });

  it("runs a Node entry point with the given node", () => {
    expect(commandLine({ ...base, program: { kind: "node", entry: "/r/dist/x/main.js" } }, "/node")).toEqual({ command: "/node", args: ["/r/dist/x/main.js", "--x=1"] });
  });
});

describe("etcdComponent", () => {
  const etcd = etcdComponent({ dataDir: "/dev/shm/e", clientPort: 2379, peerPort: 2380 });

  it("is a single-member loopback cluster on the given ports and data directory", () => {
    expect(etcd.program).toEqual({ kind: "binary", path: "etcd" });
    expect(etcd.args).toEqual([
      "--name=etcd",
      "--data-dir=/dev/shm/e",
      "--listen-client-urls=http://127.0.0.1:2379",
      "--advertise-client-urls=http://127.0.0.1:2379",
      "--listen-peer-urls=http://127.0.0.1:2380",
      "--initial-advertise-peer-urls=http://127.0.0.1:2380",
      "--initial-cluster=etcd=http://127.0.0.1:2380",
      "--log-level=error",
      "--logger=zap",
      `--quota-backend-bytes=${2 * 1024 * 1024 * 1024}`,
    ]);
    expect(etcd.ports).toEqual({ client: 2379, peer: 2380 });
    expect(etcd.readiness).toEqual({ kind: "http", url: "http://127.0.0.1:2379/health" });
    expect(etcd.dataDir).toBe("/dev/shm/e");
    expect(etcdEndpoint(etcd)).toBe("http://127.0.0.1:2379");
  });

  it("takes the binary, member name and quota from its options", () => {
    const other = etcdComponent({ name: "e1", dataDir: "/d", clientPort: 1, peerPort: 2, binary: "/usr/bin/etcd", quotaBackendBytes: 1024 });
    expect(other.program).toEqual({ kind: "binary", path: "/usr/bin/etcd" });
    expect(other.args).toContain("--initial-cluster=e1=http://127.0.0.1:2");
    expect(other.args).toContain("--quota-backend-bytes=1024");
  });
});

describe("apiserverComponent", () => {
  it("serves plain HTTP on loopback, is ready on /readyz, and passes extra flags last", () => {
    const api = apiserverComponent({ etcdServers: "http://127.0.0.1:2379", port: 6443, extraArgs: ["--advertise-address", "172.30.0.1"], entry: "/x/main.js" });
    expect(api.program).toEqual({ kind: "node", entry: "/x/main.js" });
    expect(api.args).toEqual(["--etcd-servers=http://127.0.0.1:2379", "--insecure-port=6443", "--insecure-bind-address=127.0.0.1", "--secure-port=0", "--advertise-address", "172.30.0.1"]);
    expect(api.readiness).toEqual({ kind: "http", url: "http://127.0.0.1:6443/readyz" });
    expect(api.links).toEqual(["etcd"]);
  });

  it("opens the secure port on the same address only when asked", () => {
    const api = apiserverComponent({ etcdServers: "e", port: 1, securePort: 2, bindAddress: "10.0.0.1" });
    expect(api.args).toEqual(["--etcd-servers=e", "--insecure-port=1", "--insecure-bind-address=10.0.0.1", "--secure-port=2", "--bind-address=10.0.0.1"]);
  });

  it("runs the built dist/apiserver/main.js by default", () => {
    const api = apiserverComponent({ etcdServers: "e", port: 1 });
    expect(api.program).toEqual({ kind: "node", entry: `${REPO_ROOT}/dist/apiserver/main.js` });
  });
});

describe("apiserver clients", () => {
  it("render the shared client flags, then their own, then the extra ones", () => {
    const scheduler = schedulerComponent({ master: "http://a", port: 0, bindAddress: "127.0.0.1", leaderElect: false, kubeApiQps: 0, extraArgs: ["--x"] });
    expect(scheduler.kind).toBe("kube-scheduler");
    expect(scheduler.name).toBe("kube-scheduler");
    // The plain port's address is --address: the scheduler's --bind-address is its secure port's, off unless asked.
    expect(scheduler.args).toEqual(["--master=http://a", "--port=0", "--address=127.0.0.1", "--kube-api-qps=0", "--leader-elect=false", "--secure-port=0", "--x"]);
    expect(scheduler.program).toEqual({ kind: "node", entry: `${REPO_ROOT}/dist/scheduler/main.js` });

    const cm = controllerManagerComponent({ name: "cm-1", master: "http://a", kubeApiBurst: 10_000 });
    expect(cm.name).toBe("cm-1");
    expect(cm.args).toEqual(["--master=http://a", "--kube-api-burst=10000", "--secure-port=0"]);
    const secure = controllerManagerComponent({ securePort: 10257, secureBindAddress: "127.0.0.1" });
    expect(secure.args).toEqual(["--secure-port=10257", "--bind-address=127.0.0.1"]);
    expect(cm.program).toEqual({ kind: "node", entry: `${REPO_ROOT}/dist/controller-manager/main.js` });
  });

  it("are ready on /readyz only when their port is fixed", () => {
    expect(schedulerComponent({ port: 0 }).readiness).toBeUndefined();
    expect(controllerManagerComponent({}).readiness).toBeUndefined();
    expect(controllerManagerComponent({ port: 10252 }).readiness).toEqual({ kind: "http", url: "http://127.0.0.1:10252/readyz" });
  });

  it("run hollow nodes from the kubelet's hollow entry", () => {
    const hollow = hollowNodesComponent({ name: "hollow-nodes hn", master: "http://a", count: 3, namePrefix: "hn", verbosity: 0, extraArgs: ["--cpu", "64"] });
    expect(hollow.program).toEqual({ kind: "node", entry: `${REPO_ROOT}/dist/kubelet/hollow/main.js` });
    expect(hollow.args).toEqual(["--master=http://a", "--v=0", "--count=3", "--name-prefix=hn", "--cpu", "64"]);
  });
});

describe("kubelabUiComponent", () => {
  it("runs dist/live-view/main.js with the client flags, its address and the lab's home, ready on /readyz", () => {
    const ui = kubelabUiComponent({ master: "http://a", port: 8484, address: "127.0.0.1", labHome: "/h", verbosity: 1 });
    expect(ui.kind).toBe("kubelab-ui");
    expect(ui.program).toEqual({ kind: "node", entry: `${REPO_ROOT}/dist/live-view/main.js` });
    expect(ui.args).toEqual(["--master=http://a", "--port=8484", "--v=1", "--address=127.0.0.1", "--lab-home=/h"]);
    expect(ui.readiness).toEqual({ kind: "http", url: "http://127.0.0.1:8484/readyz" });
  });
});

describe("containerRuntimeComponent", () => {
  it("runs dist/container-runtime/main.js on its socket and state directory, ready when it serves the CRI", () => {
    const runtime = containerRuntimeComponent({ name: "runtime node-1", socketPath: "/run/n1/runtime.sock", root: "/var/lib/n1", backend: "fake", podCidr: "10.244.1.0/24", verbosity: 2 });
    expect(runtime.program).toEqual({ kind: "node", entry: `${REPO_ROOT}/dist/container-runtime/main.js` });
    expect(runtime.args).toEqual(["--listen=/run/n1/runtime.sock", "--root=/var/lib/n1", "--backend=fake", "--pod-cidr=10.244.1.0/24", "--v=2"]);
    expect(runtime.readiness).toEqual({ kind: "log", pattern: /"msg":"Serving the CRI"/ });
    expect(runtime.dataDir).toBe("/var/lib/n1");
  });
});

describe("distEntry", () => {
  it("takes the path from the program's environment variable when set", () => {
    expect(distEntry("scheduler", { KUBELAB_SCHEDULER_MAIN: "/elsewhere/main.js" })).toBe("/elsewhere/main.js");
    expect(distEntry("lab", {})).toBe(`${REPO_ROOT}/dist/lab/main.js`);
  });
});

describe("kubeletComponent", () => {
  it("renders the agreed kubelet flags for a lab node, ready on its /healthz", () => {
    const kubelet = kubeletComponent({
      name: "kubelet node-1",
      master: "http://172.30.0.1:8080",
      hostnameOverride: "node-1",
      nodeIp: "172.30.0.11",
      containerRuntimeEndpoint: "unix:///h/nodes/node-1/runtime.sock",
      address: "172.30.0.11",
      port: 10250,
      healthzPort: 10248,
      healthzBindAddress: "172.30.0.11",
      nodeStatusUpdateFrequency: "4s",
      nodeLeaseDurationSeconds: 10,
      clusterDns: "10.96.0.10",
      clusterDomain: "cluster.local",
      rootDir: "/h/nodes/node-1/kubelet",
      podRoutes: "host-gw",
      verbosity: 1,
    });
    expect(kubelet.kind).toBe("kubelet");
    expect(kubelet.program).toEqual({ kind: "node", entry: `${REPO_ROOT}/dist/kubelet/main.js` });
    expect(kubelet.args).toEqual([
      "--master=http://172.30.0.1:8080",
      "--hostname-override=node-1",
      "--node-ip=172.30.0.11",
      "--container-runtime-endpoint=unix:///h/nodes/node-1/runtime.sock",
      "--address=172.30.0.11",
      "--port=10250",
      "--healthz-port=10248",
      "--healthz-bind-address=172.30.0.11",
      "--node-status-update-frequency=4s",
      "--node-lease-duration-seconds=10",
      "--cluster-dns=10.96.0.10",
      "--cluster-domain=cluster.local",
      "--root-dir=/h/nodes/node-1/kubelet",
      "--pod-routes=host-gw",
      "--v=1",
    ]);
    expect(kubelet.readiness).toEqual({ kind: "http", url: "http://172.30.0.11:10248/healthz" });
    expect(kubelet.links).toEqual(["kube-apiserver", "container-runtime"]);
  });

  it("defaults to the kubelet's own ports and has no probe when its health server is off", () => {
    expect(kubeletComponent({}).readiness).toEqual({ kind: "http", url: "http://127.0.0.1:10248/healthz" });
    expect(kubeletComponent({ healthzPort: 0 }).readiness).toBeUndefined();
    expect(distEntry("kubelet", { KUBELAB_KUBELET_MAIN: "/k/main.js" })).toBe("/k/main.js");
  });
});

describe("kubeProxyComponent", () => {
  it("renders kube-proxy's flags for a lab node, ready on its /healthz", () => {
    const proxy = kubeProxyComponent({
      name: "kube-proxy node-1",
      master: "http://172.30.0.1:8080",
      hostnameOverride: "node-1",
      clusterCidr: "10.244.0.0/16",
      proxyMode: "userspace",
      bindAddress: "172.30.0.11",
      healthzBindAddress: "172.30.0.11:10256",
      metricsBindAddress: "172.30.0.11:10249",
      iptablesMinSyncPeriod: "250ms",
      verbosity: 2,
    });
    expect(proxy.kind).toBe("kube-proxy");
    expect(proxy.program).toEqual({ kind: "node", entry: `${REPO_ROOT}/dist/kube-proxy/main.js` });
    expect(proxy.args).toEqual([
      "--master=http://172.30.0.1:8080",
      "--hostname-override=node-1",
      "--cluster-cidr=10.244.0.0/16",
      "--proxy-mode=userspace",
      "--bind-address=172.30.0.11",
      "--healthz-bind-address=172.30.0.11:10256",
      "--metrics-bind-address=172.30.0.11:10249",
      "--iptables-min-sync-period=250ms",
      "--v=2",
    ]);
    expect(proxy.ports).toEqual({ healthz: 10256, metrics: 10249 });
    expect(proxy.readiness).toEqual({ kind: "http", url: "http://172.30.0.11:10256/healthz" });
    expect(proxy.links).toEqual(["kube-apiserver"]);
  });

  it("defaults to kube-proxy's loopback endpoints", () => {
    const proxy = kubeProxyComponent({});
    expect(proxy.args).toEqual([]);
    expect(proxy.readiness).toEqual({ kind: "http", url: "http://127.0.0.1:10256/healthz" });
    expect(distEntry("kube-proxy", { KUBELAB_KUBE_PROXY_MAIN: "/p/main.js" })).toBe("/p/main.js");
  });
});

describe("kubeStateMetricsComponent", () => {
  it("serves cluster state on --port and its own metrics on --telemetry-port, ready once its caches synced", () => {
    const ksm = kubeStateMetricsComponent({ apiserver: "http://172.30.0.1:8080", host: "127.0.0.1", port: 18080, telemetryPort: 18081 });
    expect(ksm.program).toEqual({ kind: "node", entry: distEntry("kube-state-metrics") });
    expect(ksm.args).toEqual(["--apiserver=http://172.30.0.1:8080", "--host=127.0.0.1", "--port=18080", "--telemetry-host=127.0.0.1", "--telemetry-port=18081"]);
    expect(ksm.ports).toEqual({ http: 18080, telemetry: 18081 });
    expect(ksm.readiness).toEqual({ kind: "http", url: "http://127.0.0.1:18080/readyz" });
    expect(ksm.links).toEqual(["kube-apiserver"]);
  });
});

describe("prometheusComponent", () => {
  it("runs Prometheus on loopback with the lab's configuration and data directory", () => {
    const prometheus = prometheusComponent({ configFile: "/h/prometheus/prometheus.yml", dataDir: "/h/prometheus/data", port: 9090 });
    expect(prometheus.program).toEqual({ kind: "binary", path: "prometheus" });
    expect(prometheus.args).toEqual([
      "--config.file=/h/prometheus/prometheus.yml",
      "--storage.tsdb.path=/h/prometheus/data",
      "--storage.tsdb.retention.time=1d",
      "--web.listen-address=127.0.0.1:9090",
      "--log.level=warn",
    ]);
    expect(prometheus.readiness).toEqual({ kind: "http", url: "http://127.0.0.1:9090/-/ready" });
    expect(prometheus.dataDir).toBe("/h/prometheus/data");
  });
});

describe("metrics-server", () => {
  it("renders metrics-server's flags and is ready on /readyz at its bind address", () => {
    const ms = metricsServerComponent({ master: "http://a", securePort: 4443, bindAddress: "172.30.0.1", metricResolution: "15s", kubeletPreferredAddressTypes: "InternalIP", verbosity: 0, extraArgs: ["--kubelet-insecure-tls"] });
    expect(ms.kind).toBe("metrics-server");
    expect(ms.program).toEqual({ kind: "node", entry: `${REPO_ROOT}/dist/metrics-server/main.js` });
    expect(ms.args).toEqual(["--master=http://a", "--secure-port=4443", "--bind-address=172.30.0.1", "--metric-resolution=15s", "--kubelet-preferred-address-types=InternalIP", "--kubelet-insecure-tls"]);
    expect(ms.readiness).toEqual({ kind: "http", url: "http://172.30.0.1:4443/readyz" });
  });
});
