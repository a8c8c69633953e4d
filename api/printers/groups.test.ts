import { describe, expect, it } from "vitest";
import { applyDefaults } from "../defaults.js";
import { fromAutoscalingV1, METRICS_ANNOTATION, toAutoscalingV1 } from "../hpa-conversion.js";
import type { KubeObject } from "../meta.js";
import { RESOURCES, type ResourceInfo } from "../resources.js";
import { tableColumns, tableRow } from "../tables.js";
import type { HorizontalPodAutoscalerV1, HorizontalPodAutoscalerV2, MetricSpecV2 } from "../types/index.js";
import { formatHPAMetrics } from "./groups.js";

const NOW = Date.parse("2024-05-01T12:00:00Z");
const CREATED = "2024-05-01T11:00:00Z";

function info(group: string, version: string, kind: string): ResourceInfo {
  const found = RESOURCES.find((r) => r.group === group && r.version === version && r.kind === kind);
  if (!found) throw new Error(`no resource ${group}/${kind}`);
  return found;
}

const meta = (name: string, extra: Record<string, unknown> = {}): KubeObject["metadata"] => ({ name, namespace: "default", creationTimestamp: CREATED, ...extra });
const cpu = (averageUtilization: number): MetricSpecV2 => ({ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization } } });

describe("tables of the new API groups", () => {
  it("prints a Job's status, completions and duration as kubectl does", () => {
    const job: KubeObject = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: meta("pi"),
      spec: { completions: 3, parallelism: 2, selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "u" } }, template: { spec: { containers: [{ name: "pi", image: "perl" }] } } },
      status: { succeeded: 1, startTime: "2024-05-01T11:58:00Z", conditions: [{ type: "Failed", status: "True" }] },
    };
    const i = info("batch", "v1", "Job");
    expect(tableColumns(i).map((c) => c.name)).toEqual(["Name", "Status", "Completions", "Duration", "Age", "Containers", "Images", "Selector"]);
    expect(tableRow(i, job, NOW)).toEqual(["pi", "Failed", "1/3", "2m", "60m", "pi", "perl", "batch.kubernetes.io/controller-uid=u"]);
    const parallel = { ...job, spec: { parallelism: 3 }, status: {} };
    expect(tableRow(i, parallel, NOW).slice(1, 4)).toEqual(["Running", "0/1 of 3", ""]);
  });

  it("formats HPA targets with the resource name, <unknown> before metrics arrive, and at most two of them", () => {
    expect(formatHPAMetrics([cpu(50)], [])).toBe("cpu: <unknown>/50%");
    expect(formatHPAMetrics([cpu(50)], [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 12 } } }])).toBe("cpu: 12%/50%");
    const memory: MetricSpecV2 = { type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "500Mi" } } };
    const pods: MetricSpecV2 = { type: "Pods", pods: { metric: { name: "qps" }, target: { type: "AverageValue", averageValue: "1k" } } };
    expect(formatHPAMetrics([cpu(50), memory, pods], [])).toBe("cpu: <unknown>/50%, memory: <unknown>/500Mi + 1 more...");
    expect(formatHPAMetrics([], [])).toBe("<none>");
  });

  it("prints an autoscaling/v1 HPA from its v2 form", () => {
    const v1: HorizontalPodAutoscalerV1 = { apiVersion: "autoscaling/v1", kind: "HorizontalPodAutoscaler", metadata: meta("web"), spec: { scaleTargetRef: { kind: "Deployment", name: "web" }, minReplicas: 2, maxReplicas: 5, targetCPUUtilizationPercentage: 50 }, status: { currentReplicas: 2 } };
    expect(tableRow(info("autoscaling", "v1", "HorizontalPodAutoscaler"), v1, NOW)).toEqual(["web", "Deployment/web", "cpu: <unknown>/50%", "2", 5, 2, "60m"]);
  });

  it("marks the default StorageClass and prints PDB bounds as kubectl does", () => {
    const sc: KubeObject = { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "standard", creationTimestamp: CREATED, annotations: { "storageclass.kubernetes.io/is-default-class": "true" } }, provisioner: "x.io/p" };
    expect(tableRow(info("storage.k8s.io", "v1", "StorageClass"), sc, NOW)).toEqual(["standard (default)", "x.io/p", "Delete", "Immediate", false, "60m"]);
    const pdb: KubeObject = { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: meta("web"), spec: { maxUnavailable: "25%" }, status: { disruptionsAllowed: 1 } };
    expect(tableRow(info("policy", "v1", "PodDisruptionBudget"), pdb, NOW)).toEqual(["web", "N/A", "25%", 1, "60m"]);
  });

  it("has kubectl's columns for every new kind", () => {
    const names = (group: string, version: string, kind: string): string[] => tableColumns(info(group, version, kind)).filter((c) => c.priority === 0).map((c) => c.name.toUpperCase());
    expect(names("batch", "v1", "CronJob")).toEqual(["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"]);
    expect(names("autoscaling", "v2", "HorizontalPodAutoscaler")).toEqual(["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]);
    expect(names("networking.k8s.io", "v1", "Ingress")).toEqual(["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]);
    expect(names("scheduling.k8s.io", "v1", "PriorityClass")).toEqual(["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]);
    expect(names("storage.k8s.io", "v1", "VolumeAttachment")).toEqual(["NAME", "ATTACHER", "PV", "NODE", "ATTACHED", "AGE"]);
    expect(names("apps", "v1", "ControllerRevision")).toEqual(["NAME", "CONTROLLER", "REVISION", "AGE"]);
  });
});

describe("autoscaling v1 ⇄ v2 conversion", () => {
  it("maps the CPU utilization target both ways and keeps other metrics in an annotation for v1 readers", () => {
    const memory: MetricSpecV2 = { type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "500Mi" } } };
    const v2: HorizontalPodAutoscalerV2 = { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "web" }, spec: { scaleTargetRef: { kind: "Deployment", name: "web" }, maxReplicas: 5, metrics: [cpu(60), memory] } };
    const v1 = toAutoscalingV1(v2);
    expect(v1.spec).toEqual({ scaleTargetRef: { kind: "Deployment", name: "web" }, maxReplicas: 5, targetCPUUtilizationPercentage: 60 });
    expect(JSON.parse(v1.metadata.annotations?.[METRICS_ANNOTATION] ?? "null")).toEqual([memory]);
    expect(fromAutoscalingV1(v1)).toEqual(v2);
  });

  it("defaults a v1 HPA without a target to 80% CPU once stored as v2", () => {
    const stored = fromAutoscalingV1({ apiVersion: "autoscaling/v1", kind: "HorizontalPodAutoscaler", metadata: { name: "web" }, spec: { scaleTargetRef: { kind: "Deployment", name: "web" }, maxReplicas: 3 } }) as KubeObject;
    applyDefaults(info("autoscaling", "v2", "HorizontalPodAutoscaler"), stored);
    expect(toAutoscalingV1(stored).spec).toEqual({ scaleTargetRef: { kind: "Deployment", name: "web" }, minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 80 });
  });
});
