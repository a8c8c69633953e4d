import { describe, expect, it } from "vitest";
import { CONTAINER_HASH_ANNOTATION, CONTAINER_NAME_LABEL, CONTAINER_RESTART_COUNT_ANNOTATION, KUBERNETES_MANAGED_LABEL, POD_UID_LABEL } from "../runtime-labels.js";
import { containerConfig, expandVariables, linuxResources, milliCpuToQuota, milliCpuToShares, oomScoreAdj, sandboxConfig } from "./container-config.js";
import { testPod } from "./testing.js";

describe("sandboxConfig", () => {
  it("names, labels and networks the sandbox as Kubernetes does", () => {
    const pod = testPod({ containers: [{ name: "web", image: "nginx", ports: [{ containerPort: 80, hostPort: 8080, protocol: "TCP" }, { containerPort: 81 }] }] });
    pod.metadata.labels = { app: "web" };
    const config = sandboxConfig({ pod, attempt: 2, rootDir: "/var/lib/kubelet", dnsConfig: { servers: ["10.96.0.10"], searches: [], options: [] }, nodeHostname: "node-1", cgroupRoot: "" });
    expect(config).toMatchObject({
      metadata: { name: "web", uid: "uid-web", namespace: "default", attempt: 2 },
      hostname: "web",
      logDirectory: "/var/lib/kubelet/logs/pods/default_web_uid-web",
      portMappings: [{ protocol: "TCP", containerPort: 80, hostPort: 8080, hostIp: "" }],
      dnsConfig: { servers: ["10.96.0.10"] },
      linux: { cgroupParent: "", namespaceOptions: { network: "POD", pid: "CONTAINER", ipc: "POD", targetId: "" } },
    });
    expect(config.labels).toMatchObject({ app: "web", [POD_UID_LABEL]: "uid-web", [KUBERNETES_MANAGED_LABEL]: "true" });
  });

  it("uses the node's namespace and hostname for a host-network pod, spec.hostname otherwise", () => {
    const host = sandboxConfig({ pod: testPod({ hostNetwork: true }), attempt: 0, rootDir: "/r", dnsConfig: undefined, nodeHostname: "node-1", cgroupRoot: "/kubelab" });
    expect(host).toMatchObject({ hostname: "node-1", linux: { cgroupParent: "/kubelab/poduid-web", namespaceOptions: { network: "NODE" } } });
    expect(sandboxConfig({ pod: testPod({ hostname: "db-0" }), attempt: 0, rootDir: "/r", dnsConfig: undefined, nodeHostname: "n", cgroupRoot: "" }).hostname).toBe("db-0");
  });
});

describe("containerConfig", () => {
  it("expands $(VAR) in command and args, labels the container and logs to <name>/<restartCount>.log", () => {
    const pod = testPod({ containers: [{ name: "app", image: "busybox", command: ["sh", "-c"], args: ["echo $(GREETING) $(MISSING) $$(GREETING)"], tty: true }] });
    const config = containerConfig({ pod, container: pod.spec!.containers[0]!, restartCount: 3, image: "busybox", envs: [{ key: "GREETING", value: "hello" }], mounts: [], qos: "BestEffort", memoryCapacity: 1 << 30 });
    expect(config.args).toEqual(["echo hello $(MISSING) $(GREETING)"]);
    expect(config).toMatchObject({ metadata: { name: "app", attempt: 3 }, logPath: "app/3.log", tty: true, labels: { [CONTAINER_NAME_LABEL]: "app", [POD_UID_LABEL]: "uid-web" } });
    expect(config.annotations[CONTAINER_RESTART_COUNT_ANNOTATION]).toBe("3");
    expect(config.annotations[CONTAINER_HASH_ANNOTATION]).toMatch(/^[0-9a-f]{8}$/);
  });

  it("expands like Kubernetes' expansion package", () => {
    const env = new Map([["A", "1"]]);
    expect(expandVariables("$(A)$(A)", env)).toBe("11");
    expect(expandVariables("$$(A) $ $(", env)).toBe("$(A) $ $(");
    expect(expandVariables("tail$", env)).toBe("tail$");
  });
});

describe("resources", () => {
  it("turns requests and limits into cgroup values", () => {
    expect(milliCpuToShares(0)).toBe(2);
    expect(milliCpuToShares(250)).toBe(256);
    expect(milliCpuToQuota(500)).toBe(50_000);
    const r = linuxResources({ name: "c", resources: { requests: { cpu: "250m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } } }, "Burstable", 1 << 30);
    expect(r).toMatchObject({ cpuShares: 256, cpuQuota: 50_000, cpuPeriod: 100_000, memoryLimitInBytes: 128 << 20, memorySwapLimitInBytes: 128 << 20 });
    expect(linuxResources({ name: "c" }, "BestEffort", 1 << 30)).toMatchObject({ cpuShares: 2, cpuQuota: 0, cpuPeriod: 0, memoryLimitInBytes: 0, oomScoreAdj: 1000 });
  });

  it("sets oom_score_adj by QoS class", () => {
    expect(oomScoreAdj("Guaranteed", { name: "c" }, 1 << 30)).toBe(-997);
    expect(oomScoreAdj("BestEffort", { name: "c" }, 1 << 30)).toBe(1000);
    expect(oomScoreAdj("Burstable", { name: "c", resources: { requests: { memory: "512Mi" } } }, 1 << 30)).toBe(500);
    expect(oomScoreAdj("Burstable", { name: "c", resources: { requests: { memory: "2Gi" } } }, 1 << 30)).toBe(2);
  });
});
