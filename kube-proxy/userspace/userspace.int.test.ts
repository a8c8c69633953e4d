// kube-proxy --proxy-mode=userspace for real: the built binary runs inside a throwaway network namespace (so its
// sockets and iptables are the namespace's) against a real apiserver; connections to the Service are made from
// inside the namespace (the node's own traffic: OUTPUT → KUBE-PORTALS-HOST).
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import type { Service } from "../../api/types/core.js";
import { RestClient } from "../../client/rest.js";
import { clientConfigFor, startTestCluster, writeKubeconfig, waitFor, type TestCluster } from "../../test/support/apiserver.js";
import { endpointSlice, NETNS_APISERVER, NetnsHost, type BinaryProcess } from "../../test/support/kube-proxy-netns.js";

const SERVICES = RESOURCES.find((r) => r.group === "" && r.resource === "services")!;
const SLICES = RESOURCES.find((r) => r.group === "discovery.k8s.io" && r.resource === "endpointslices")!;

describe.sequential("kube-proxy userspace mode (the binary in a network namespace, real apiserver)", () => {
  let cluster: TestCluster;
  let client: RestClient;
  let host: NetnsHost;
  let netnsKubeconfig = "";
  let proxy: BinaryProcess | undefined;
  let clusterIP = "";
  let nodePort = 0;

  const start = (...extra: string[]): BinaryProcess => host.startKubeProxy(["--kubeconfig", netnsKubeconfig, "--iptables-min-sync-period=50ms", "--metrics-bind-address=127.0.0.1:0", "--healthz-bind-address=127.0.0.1:0", ...extra]);
  const waitForRules = (what: string, pred: (saved: string) => boolean) =>
    waitFor(what, () => (pred(host.iptablesSave()) ? true : undefined), 20_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${proxy?.logs() ?? ""}`);
    });

  beforeAll(async () => {
    cluster = await startTestCluster();
    host = await NetnsHost.start(cluster.apiserver.url);
    // The relay carries TLS through to the apiserver, whose certificate names 127.0.0.1.
    netnsKubeconfig = join(cluster.workDir, "netns.conf");
    writeKubeconfig(netnsKubeconfig, { ...cluster.api, url: NETNS_APISERVER.replace(/^http:/, "https:") });
    client = new RestClient(clientConfigFor(cluster.api), { userAgent: "kproxy-int-test" });
    proxy = start("--proxy-mode=userspace", "--bind-address=10.244.1.6");
  });

  afterAll(async () => {
    await proxy?.stop("SIGKILL");
    client?.close();
    await host?.destroy();
    await cluster?.destroy();
  });

  it("sends the ClusterIP to a port kube-proxy listens on, and kube-proxy spreads connections round-robin", async () => {
    const svc = await client.create<Service>(SERVICES, "default", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "webserver", namespace: "default" },
      spec: { type: "NodePort", selector: { name: "liutest" }, ports: [{ name: "http", protocol: "TCP", port: 8080, targetPort: 8080 }] },
    });
    clusterIP = svc.spec?.clusterIP ?? "";
    nodePort = svc.spec?.ports?.[0]?.nodePort ?? 0;
    await client.create(SLICES, "default", endpointSlice("webserver-1", "webserver", [{ ip: "10.244.1.5" }, { ip: "10.244.1.6" }]));
    await waitForRules("the portals", (s) => s.includes('"default/webserver:http"'));

    const saved = host.iptablesSave();
    const hostPortal = new RegExp(`-A KUBE-PORTALS-HOST -d ${clusterIP.replace(/\./g, "\\.")}/32 -p tcp -m comment --comment "default/webserver:http" -m tcp --dport 8080 -j DNAT --to-destination ([\\d.]+):(\\d+)`).exec(saved);
    expect(hostPortal, saved).not.toBeNull();
    expect(hostPortal![1]).toBe("10.244.1.6");
    const proxyPort = hostPortal![2]!;
    expect(saved).toContain(`-A KUBE-PORTALS-CONTAINER -d ${clusterIP}/32 -p tcp -m comment --comment "default/webserver:http" -m tcp --dport 8080 -j DNAT --to-destination 10.244.1.6:${proxyPort}`);
    expect(saved).toContain('-A OUTPUT -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST');
    // The DNAT target is kube-proxy's own listener.
    expect(host.exec("ss", "-ltnp")).toMatch(new RegExp(`10\\.244\\.1\\.6:${proxyPort} .*node`));

    const answers: string[] = [];
    for (let i = 0; i < 4; i++) answers.push(await host.connect(clusterIP, 8080));
    expect(new Set(answers)).toEqual(new Set(["10.244.1.5:8080", "10.244.1.6:8080"]));
    expect(answers[0]).not.toBe(answers[1]);
    expect(answers[2]).toBe(answers[0]);
  });

  it("relays a pod's connections too (PREROUTING → KUBE-PORTALS-CONTAINER)", async () => {
    expect(await host.connectFromPod(clusterIP, 8080)).toMatch(/^10\.244\.1\.[56]:8080$/);
  });

  it("serves the NodePort through the same listener", async () => {
    expect(await host.connect("10.244.1.6", nodePort)).toMatch(/^10\.244\.1\.[56]:8080$/);
  });

  it("relays UDP", async () => {
    const svc = await client.create<Service>(SERVICES, "default", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "udp-echo", namespace: "default" },
      spec: { selector: { app: "udp-echo" }, ports: [{ name: "dns", protocol: "UDP", port: 53, targetPort: 5353 }] },
    });
    await client.create(SLICES, "default", endpointSlice("udp-echo-1", "udp-echo", [{ ip: "10.244.1.6" }], { port: { name: "dns", protocol: "UDP", port: 5353 } }));
    await waitForRules("the UDP portal", (s) => s.includes('"default/udp-echo:dns"'));
    await waitFor("a UDP answer", async () => ((await host.udpQuery(svc.spec?.clusterIP ?? "", 53, 40200)) === "10.244.1.6:5353" ? true : undefined), 10_000);
  });

  it("follows endpoint changes", async () => {
    await client.update(SLICES, "default", endpointSlice("webserver-1", "webserver", [{ ip: "10.244.1.6" }]));
    await waitFor("only the remaining endpoint", async () => {
      const answers = [await host.connect(clusterIP, 8080), await host.connect(clusterIP, 8080)];
      return answers.every((a) => a === "10.244.1.6:8080") ? true : undefined;
    });
  });

  it("switching to the iptables mode replaces the portals with DNAT rules; --cleanup removes everything", async () => {
    expect(await proxy!.stop("SIGTERM")).toBe(0);
    proxy = start("--proxy-mode=iptables");
    await waitForRules("the iptables mode's rules", (s) => s.includes('"default/webserver:http cluster IP"') && !s.includes("KUBE-PORTALS"));
    expect(await host.connect(clusterIP, 8080)).toBe("10.244.1.6:8080");
    expect(await proxy.stop("SIGTERM")).toBe(0);
    proxy = undefined;
    const cleanup = host.startKubeProxy(["--cleanup"]);
    expect(await cleanup.exited).toBe(0);
    expect(host.iptablesSave().split("\n").filter((l) => l.startsWith(":KUBE-"))).toEqual([":KUBE-KUBELET-CANARY - [0:0]"]);
  });
});
