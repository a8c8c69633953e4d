import { describe, expect, it } from "vitest";
import { newNode, newPod } from "../../api/testing/builders.js";
import type { Container } from "../../api/types/index.js";
import { DEFAULT_MEMORY_REQUEST, DEFAULT_MILLI_CPU_REQUEST, MAX_POD_COUNTERS, podInfoOf, type PodInfo } from "./node-info.js";
import { nodeInfoOf } from "./testing.js";

const c = (name: string, requests: Record<string, string>, extra: Partial<Container> = {}): Container => ({ name, image: "x", resources: { requests }, ...extra });

describe("PodInfo", () => {
  it("sums containers, and takes the larger of that and the largest init step", () => {
    const pod = newPod("p", { containers: [c("a", { cpu: "200m", memory: "1Gi" }), c("b", { cpu: "300m" })] });
    pod.spec!.initContainers = [c("init", { cpu: "1", memory: "100Mi" })];
    const info = podInfoOf(pod);
    expect(info.requests.milliCPU).toBe(1000);
    expect(info.requests.memory).toBe(1024 ** 3);
  });

  it("fills Kubernetes' defaults for scoring only, per container that requests nothing", () => {
    const info = podInfoOf(newPod("p", { containers: [c("a", {}), c("b", { cpu: "50m" })] }));
    expect(info.requests.milliCPU).toBe(50);
    expect(info.nonZeroMilliCPU).toBe(DEFAULT_MILLI_CPU_REQUEST + 50);
    expect(info.nonZeroMemory).toBe(2 * DEFAULT_MEMORY_REQUEST);
  });

  it("records host ports and the controlling owner", () => {
    const pod = newPod("p", { containers: [{ name: "a", image: "x", ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81 }] }], meta: { ownerReferences: [{ apiVersion: "v1", kind: "ReplicationController", name: "rc", uid: "u1", controller: true }] } });
    const info = podInfoOf(pod);
    expect(info.hostPorts).toEqual([{ protocol: "TCP", ip: "0.0.0.0", port: 8080 }]);
    expect(info.owner).toBe("default/u1");
  });

  it("is computed once per pod object", () => {
    const pod = newPod("p");
    expect(podInfoOf(pod)).toBe(podInfoOf(pod));
  });
});

describe("NodeInfo", () => {
  it("adds and subtracts pods exactly", () => {
    const a = newPod("a", { requests: { cpu: "100m", memory: "1Mi" }, meta: { uid: "a" } });
    const b = newPod("b", { requests: { cpu: "250m" }, meta: { uid: "b" } });
    const info = nodeInfoOf(newNode("n"), a, b);
    expect(info.requested.milliCPU).toBe(350);
    info.removePod("a");
    expect(info.requested.milliCPU).toBe(250);
    expect(info.requested.memory).toBe(0);
    expect(info.pods.size).toBe(1);
  });

  it("keeps podCount current as pods come, go and change, for every key it still keeps", () => {
    const web = (name: string, app = "web"): ReturnType<typeof newPod> => newPod(name, { labels: { app }, meta: { uid: name } });
    const info = nodeInfoOf(newNode("n"), web("a"), web("b", "db"));
    const isApp = (app: string) => (p: PodInfo): boolean => p.pod.metadata.labels?.app === app;
    expect(info.podCount("web", isApp("web"))).toBe(1);
    info.addPod(podInfoOf(web("c")));
    info.addPod(podInfoOf(web("b"))); // b is replaced: db → web
    expect(info.podCount("web", isApp("web"))).toBe(3);
    info.removePod("a");
    expect(info.podCount("web", isApp("web"))).toBe(2);
    // More keys than are kept: the least recently read ones are dropped and counted afresh when read again.
    for (let i = 0; i < MAX_POD_COUNTERS + 2; i++) expect(info.podCount(`other-${i}`, isApp(`other-${i}`))).toBe(0);
    info.addPod(podInfoOf(web("d")));
    expect(info.podCount("web", isApp("web"))).toBe(3);
    expect(info.podCount("db", isApp("db"))).toBe(0);
  });
});
