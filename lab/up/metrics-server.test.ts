import { describe, expect, it } from "vitest";
import { metricsServerPlan, type LabConfig } from "./config.js";
import { metricsServerObjects } from "./metrics-server.js";
import { TEST_CONFIG } from "./testing.js";

const config: LabConfig = { ...TEST_CONFIG, metricsServerPort: 4443 };

describe("the lab's metrics-server", () => {
  it("runs on the bridge address and is registered as Kubernetes registers it", () => {
    expect(metricsServerPlan(config)?.component.args).toContain("--secure-port=4443");
    expect(metricsServerPlan({ ...config, withKubelet: false })).toBeUndefined();
    const { metricsServerPort: _, ...older } = config;
    expect(metricsServerPlan(older)).toBeUndefined();
    const objects = metricsServerObjects(config, 4443).map((o) => o.object);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(["Service/metrics-server", "Endpoints/metrics-server", "APIService/v1beta1.metrics.k8s.io"]);
    expect(objects[1]).toMatchObject({ subsets: [{ addresses: [{ ip: "172.30.0.1" }], ports: [{ name: "http", port: 4443 }] }] });
    expect(objects[2]).toMatchObject({ spec: { group: "metrics.k8s.io", version: "v1beta1", service: { namespace: "kube-system", name: "metrics-server", port: 80 } } });
  });
});
