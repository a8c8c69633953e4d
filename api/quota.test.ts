import { describe, expect, it } from "vitest";
import { formatQuantity } from "./quantity.js";
import { countName, prettyUsage, resourceForQuotaName, toUsage, usageOf } from "./quota.js";
import type { Pod } from "./types/index.js";

const shown = (usage: ReturnType<typeof usageOf>) => Object.fromEntries([...usage].map(([k, v]) => [k, formatQuantity(v)]));

describe("quota usage", () => {
  it("counts a pod's pods, requests (also under the bare names), limits, init containers and overhead", () => {
    const pod: Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: {
        containers: [
          { name: "a", resources: { requests: { cpu: "250m", memory: "64Mi" }, limits: { memory: "128Mi" } } },
          { name: "b", resources: { requests: { cpu: "250m" } } },
        ],
        initContainers: [{ name: "init", resources: { requests: { cpu: "1" } } }],
        overhead: { cpu: "100m" },
      },
    };
    expect(shown(usageOf("", "pods", pod))).toEqual({ pods: "1", "count/pods": "1", "requests.cpu": "1100m", cpu: "1100m", "requests.memory": "64Mi", memory: "64Mi", "limits.memory": "128Mi" });
    expect(usageOf("", "pods", { ...pod, status: { phase: "Succeeded" } }).size).toBe(0);
  });

  it("counts services' node ports and load balancers, claims' storage per class, and any kind by count/", () => {
    expect(shown(usageOf("", "services", { apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { type: "LoadBalancer", ports: [{ port: 80 }, { port: 443 }] } }))).toEqual({
      "count/services": "1",
      services: "1",
      "services.nodeports": "2",
      "services.loadbalancers": "1",
    });
    expect(shown(usageOf("", "persistentvolumeclaims", { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "c" }, spec: { storageClassName: "fast", resources: { requests: { storage: "5Gi" } } } }))).toEqual({
      "count/persistentvolumeclaims": "1",
      persistentvolumeclaims: "1",
      "requests.storage": "5Gi",
      "fast.storageclass.storage.k8s.io/persistentvolumeclaims": "1",
      "fast.storageclass.storage.k8s.io/requests.storage": "5Gi",
    });
    expect(shown(usageOf("apps", "deployments", { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" } }))).toEqual({ "count/deployments.apps": "1" });
    expect(countName("", "secrets")).toBe("count/secrets");
  });

  it("finds the resource a quota name is about", () => {
    expect(resourceForQuotaName("count/deployments.apps")?.kind).toBe("Deployment");
    expect(resourceForQuotaName("requests.cpu")?.kind).toBe("Pod");
    expect(resourceForQuotaName("memory")?.kind).toBe("Pod");
    expect(resourceForQuotaName("gold.storageclass.storage.k8s.io/requests.storage")?.kind).toBe("PersistentVolumeClaim");
    expect(resourceForQuotaName("services.nodeports")?.kind).toBe("Service");
    expect(resourceForQuotaName("count/widgets.example.com")).toBeUndefined();
    expect(prettyUsage(toUsage({ "requests.cpu": "500m", pods: "1" }))).toBe("pods=1,requests.cpu=500m");
  });
});
