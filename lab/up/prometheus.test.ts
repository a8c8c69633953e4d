import { describe, expect, it } from "vitest";
import { controlPlane, nodeComponents, nodePlan } from "./config.js";
import { prometheusConfigYaml, scrapeTargets, targetsFile } from "./prometheus.js";
import { TEST_CONFIG } from "./testing.js";

const config = { ...TEST_CONFIG, prometheusPort: 9090 };

describe("scrapeTargets", () => {
  const planned = [...controlPlane(config), ...nodeComponents(config, nodePlan(config, 1))];
  const groups = scrapeTargets(config, planned, [{ name: "kube-dns-abc", node: "node-1", podIP: "10.244.1.2" }]);
  const byJob = (job: string) => groups.filter((g) => g.labels.job === job);

  it("gives every component with a metrics URL one group under its compose job name", () => {
    expect(groups.map((g) => g.labels.job).sort()).toEqual(
      ["apiserver", "cadvisor", "container-runtime", "controller-manager", "etcd", "kube-dns", "kube-proxy", "kube-state-metrics", "kube-state-metrics-telemetry", "kubelet", "prometheus", "scheduler"].sort(),
    );
    expect(byJob("apiserver")).toEqual([{ targets: ["172.30.0.1:8080"], labels: { job: "apiserver", __metrics_path__: "/metrics" } }]);
    expect(byJob("kube-state-metrics")).toEqual([{ targets: ["127.0.0.1:18080"], labels: { job: "kube-state-metrics", __metrics_path__: "/metrics" } }]);
  });

  it("labels node components with their node and adds the kubelet's cAdvisor endpoint", () => {
    expect(byJob("kubelet")).toEqual([{ targets: ["172.30.0.11:10248"], labels: { job: "kubelet", node: "node-1", __metrics_path__: "/metrics" } }]);
    expect(byJob("cadvisor")).toEqual([{ targets: ["172.30.0.11:10250"], labels: { job: "cadvisor", node: "node-1", __metrics_path__: "/metrics/cadvisor" } }]);
  });

  it("scrapes each DNS pod on CoreDNS' metrics port", () => {
    expect(byJob("kube-dns")).toEqual([{ targets: ["10.244.1.2:9153"], labels: { job: "kube-dns", node: "node-1", pod: "kube-dns-abc", __metrics_path__: "/metrics" } }]);
  });

  it("runs Prometheus only with a port", () => {
    expect(controlPlane(TEST_CONFIG).some((p) => p.component.kind === "prometheus")).toBe(false);
    expect(controlPlane(config).some((p) => p.component.kind === "prometheus")).toBe(true);
  });
});

describe("prometheusConfigYaml", () => {
  it("reads every target from the lab's file_sd list", () => {
    const yaml = prometheusConfigYaml(config);
    expect(yaml).toContain(`- files: ["${targetsFile("/h")}"]`);
    expect(yaml).toContain("scrape_interval: 5s");
  });
});
