import { describe, expect, it } from "vitest";
import { metricsServerPlan, type LabConfig } from "./config.js";
import { metricsServerObjects } from "./metrics-server.js";

const config: LabConfig = {
  home: "/tmp/lab", bridge: "kubelab0", nodeNetwork: "172.30.0.0/16", netnsPrefix: "kubelab", nodes: 2, clusterCidr: "10.244.0.0/16", serviceCidr: "10.96.0.0/12", clusterDns: "10.96.0.10",
  proxyMode: "iptables", apiserverPort: 8080, etcdClientPort: 1, etcdPeerPort: 2, schedulerPort: 3, controllerManagerPort: 4, metricsServerPort: 4443, withKubelet: true, verbosity: 0,
};

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
