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

describe("scrapeTargets in a secure lab", () => {
  const secure = { ...config, secure: true, securePort: 6443 };
  const planned = [...controlPlane(secure), ...nodeComponents(secure, nodePlan(secure, 1))];
  const groups = scrapeTargets(secure, planned, []);
  const byJob = (job: string) => groups.filter((g) => g.labels.job === job);

  it("scrapes the apiserver and the kubelets over HTTPS", () => {
    expect(byJob("apiserver")).toEqual([{ targets: ["172.30.0.1:6443"], labels: { job: "apiserver", __metrics_path__: "/metrics", __scheme__: "https" } }]);
    expect(byJob("kubelet")).toEqual([{ targets: ["172.30.0.11:10250"], labels: { job: "kubelet", node: "node-1", __metrics_path__: "/metrics", __scheme__: "https" } }]);
    expect(byJob("cadvisor")).toEqual([{ targets: ["172.30.0.11:10250"], labels: { job: "cadvisor", node: "node-1", __metrics_path__: "/metrics/cadvisor", __scheme__: "https" } }]);
    expect(byJob("etcd")[0]?.labels.__scheme__).toBeUndefined();
  });

  it("verifies them with the lab's CA and shows Prometheus' own client certificate", () => {
    const yaml = prometheusConfigYaml(secure);
    expect(yaml).toContain('ca_file: "/h/pki/ca.crt"');
    expect(yaml).toContain('cert_file: "/h/pki/prometheus.crt"');
    expect(yaml).toContain('key_file: "/h/pki/prometheus.key"');
    expect(prometheusConfigYaml(config)).not.toContain("tls_config");
  });
});

describe("prometheusConfigYaml", () => {
  it("reads every target from the lab's file_sd list", () => {
    const yaml = prometheusConfigYaml(config);
    expect(yaml).toContain(`- files: ["${targetsFile("/h")}"]`);
    expect(yaml).toContain("scrape_interval: 5s");
  });
});
