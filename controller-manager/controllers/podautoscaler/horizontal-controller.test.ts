import { describe, expect, it } from "vitest";
import type { Selector } from "../../../api/labels.js";
import { findResource } from "../../../api/resources.js";
import { newDeployment, newPod } from "../../../api/testing/builders.js";
import { formatTime } from "../../../api/time.js";
import type { Deployment, HorizontalPodAutoscalerV2, Pod } from "../../../api/types/index.js";
import type { Scale } from "../../../client/rest.js";
import { drainQueue } from "../../../client/testing/drain-queue.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { FakeRecorder } from "../../../client/testing/fake-recorder.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { HorizontalController, HPAS, PODS, scaleResource } from "./horizontal-controller.js";
import type { MetricsClient, PodMetricsInfo } from "./replica-calculator.js";

const DEPLOYMENTS = findResource("apps", "v1", "deployments")!;
const SYNC_MS = 15_000;
const MIN = 60_000;

/** Usage per pod in millicores; a pod absent from the map has no metric. Fails when `error` is set. */
class FakeMetrics implements MetricsClient {
  usage = new Map<string, number>();
  error: string | undefined;
  constructor(private readonly clock: FakeClock) {}

  getResourceMetric(_resource: string, _namespace: string, selector: Selector): Promise<{ metrics: PodMetricsInfo; timestampMs: number }> {
    if (this.error) return Promise.reject(new Error(this.error));
    const now = this.clock.now();
    const metrics: PodMetricsInfo = new Map();
    for (const [name, value] of this.usage) if (selector.matches({ app: "web" })) metrics.set(name, { timestampMs: now, windowMs: 15_000, value });
    if (metrics.size === 0) return Promise.reject(new Error("no metrics returned from resource metrics API"));
    return Promise.resolve({ metrics, timestampMs: now });
  }
}

function hpa(spec: Partial<NonNullable<HorizontalPodAutoscalerV2["spec"]>> = {}): HorizontalPodAutoscalerV2 {
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: "web", namespace: "default", generation: 1, uid: "hpa-1" },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }],
      ...spec,
    },
  };
}

interface Setup {
  fake: FakeClient;
  clock: FakeClock;
  metrics: FakeMetrics;
  recorder: FakeRecorder;
  controller: HorizontalController;
  replicas: () => number;
  status: () => NonNullable<HorizontalPodAutoscalerV2["status"]>;
  condition: (type: string) => { status?: string; reason?: string; message?: string } | undefined;
  /** Makes `n` ready pods web-0..n-1 requesting 100m, each using `usage` millicores. */
  pods: (n: number, usage: number | undefined) => void;
}

function setup(opts: { replicas?: number; hpa?: HorizontalPodAutoscalerV2; downscaleMs?: number; selector?: string } = {}): Setup {
  const clock = new FakeClock();
  const fake = new FakeClient({ clock, objects: [newDeployment("web", { replicas: opts.replicas ?? 2 }), opts.hpa ?? hpa()] });
  const metrics = new FakeMetrics(clock);
  const recorder = new FakeRecorder();
  const selector = opts.selector ?? "app=web";
  const controller = new HorizontalController({
    client: {
      // The fake's scale has no selector; the apiserver's carries the workload's.
      getScale: async (info, namespace, name): Promise<Scale> => {
        const scale = await fake.getScale(info, namespace, name);
        return { ...scale, status: { replicas: scale.status?.replicas ?? 0, ...(selector ? { selector } : {}) } };
      },
      updateScale: (info, namespace, name, scale) => fake.updateScale(info, namespace, name, scale),
      updateStatus: (info, namespace, obj) => fake.updateStatus(info, namespace, obj),
    },
    hpas: fake.informer<HorizontalPodAutoscalerV2>(HPAS),
    pods: fake.informer<Pod>(PODS),
    metricsClient: metrics,
    recorder,
    syncPeriodMs: SYNC_MS,
    downscaleStabilizationMs: opts.downscaleMs ?? 5 * MIN,
    tolerance: 0.1,
    cpuInitializationPeriodMs: 5 * MIN,
    initialReadinessDelayMs: 30_000,
    workers: 1,
    clock,
  });
  const status = (): NonNullable<HorizontalPodAutoscalerV2["status"]> => fake.object<HorizontalPodAutoscalerV2>(HPAS, "default", "web")?.status ?? {};
  const startedLongAgo = formatTime(clock.now() - 10 * MIN);
  return {
    fake,
    clock,
    metrics,
    recorder,
    controller,
    replicas: () => fake.object<Deployment>(DEPLOYMENTS, "default", "web")?.spec?.replicas ?? -1,
    status,
    condition: (type) => status().conditions?.find((c) => c.type === type),
    pods: (n, usage) => {
      for (const p of fake.tracker.list(PODS, "default")) fake.remove(PODS, "default", p.metadata.name ?? "");
      metrics.usage.clear();
      for (let i = 0; i < n; i++) {
        fake.seed(newPod(`web-${i}`, { labels: { app: "web" }, ready: true, requests: { cpu: "100m" }, status: { startTime: startedLongAgo } }));
        if (usage !== undefined) metrics.usage.set(`web-${i}`, usage);
      }
    },
  };
}

describe("HorizontalController", () => {
  it("scales up by ceil(current × utilization / target), limited to max(2 × current, 4) without behavior", async () => {
    const s = setup({ replicas: 2 });
    s.pods(2, 150); // 150% of the request against 50%: ratio 3, 6 replicas wanted
    await s.controller.sync("default/web");
    expect(s.replicas()).toBe(4);
    expect(s.recorder.messages()).toEqual(["Normal SuccessfulRescale New size: 4; reason: cpu resource utilization (percentage of request) above target"]);
    expect(s.status()).toMatchObject({ currentReplicas: 2, desiredReplicas: 4, lastScaleTime: formatTime(s.clock.now()) });
    expect(s.status().currentMetrics).toEqual([{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 150, averageValue: "150m" } } }]);
    expect(s.condition("AbleToScale")).toMatchObject({ status: "True", reason: "SucceededRescale", message: "the HPA controller was able to update the target scale to 4" });
    expect(s.condition("ScalingActive")).toMatchObject({ status: "True", reason: "ValidMetricFound", message: "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)" });
    expect(s.condition("ScalingLimited")).toMatchObject({ status: "True", reason: "ScaleUpLimit" });
  });

  it("does nothing within the tolerance of 0.1 and scales just outside it", async () => {
    const s = setup({ replicas: 2 });
    s.pods(2, 54); // ratio 1.08
    await s.controller.sync("default/web");
    expect(s.replicas()).toBe(2);
    expect(s.recorder.reasons()).toEqual([]);
    expect(s.status()).toMatchObject({ currentReplicas: 2, desiredReplicas: 2 });
    expect(s.status().lastScaleTime).toBeUndefined();
    expect(s.condition("AbleToScale")?.reason).toBe("ReadyForNewScale");
    expect(s.condition("ScalingLimited")).toMatchObject({ status: "False", reason: "DesiredWithinRange" });
    s.pods(2, 56); // ratio 1.12: ceil(2.24) = 3
    await s.controller.sync("default/web");
    expect(s.replicas()).toBe(3);
  });

  it("holds a scale-down at the highest recommendation of the stabilization window, then scales down", async () => {
    const s = setup({ replicas: 4, downscaleMs: 5 * MIN });
    s.pods(4, 10); // 10% against 50%: 1 replica wanted
    await s.controller.sync("default/web");
    expect(s.replicas()).toBe(4);
    expect(s.condition("AbleToScale")).toMatchObject({ status: "True", reason: "ScaleDownStabilized", message: "recent recommendations were higher than current one, applying the highest recent recommendation" });
    await s.clock.advance(4 * MIN);
    await s.controller.sync("default/web");
    expect(s.replicas()).toBe(4);
    await s.clock.advance(MIN + 1_000);
    await s.controller.sync("default/web");
    expect(s.replicas()).toBe(1);
    expect(s.recorder.messages()).toEqual(["Normal SuccessfulRescale New size: 1; reason: All metrics below target"]);
  });

  it("applies the flag's window to a behavior whose scaleDown sets none, and scaleDown policies limit the rate", async () => {
    const behavior = { scaleDown: { policies: [{ type: "Percent" as const, value: 50, periodSeconds: 60 }] }, scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Pods" as const, value: 4, periodSeconds: 15 }] } };
    const s = setup({ replicas: 8, hpa: hpa({ behavior }), downscaleMs: 30_000 });
    s.pods(8, 5);
    await s.controller.sync("default/web");
    expect(s.replicas()).toBe(8);
    expect(s.condition("AbleToScale")?.reason).toBe("ScaleDownStabilized");
    await s.clock.advance(31_000);
    await s.controller.sync("default/web");
    expect(s.replicas()).toBe(4); // 50% per 60 s
    expect(s.condition("ScalingLimited")).toMatchObject({ status: "True", reason: "ScaleDownLimit", message: "the desired replica count is decreasing faster than the maximum scale rate" });
    s.pods(4, 5);
    await s.clock.advance(31_000);
    await s.controller.sync("default/web");
    expect(s.replicas()).toBe(4); // still inside the 60 s period that started at 8
    await s.clock.advance(30_000);
    await s.controller.sync("default/web");
    expect(s.replicas()).toBe(2);
  });

  it("limits scale-up by the policies over their period and picks per selectPolicy", async () => {
    const pods1 = { type: "Pods" as const, value: 1, periodSeconds: 60 };
    const percent100 = { type: "Percent" as const, value: 100, periodSeconds: 60 };
    const s = setup({ replicas: 2, hpa: hpa({ behavior: { scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: "Min", policies: [pods1, percent100] } } }) });
    s.pods(2, 300); // 6× the target: 12 wanted
    await s.controller.sync("default/web");
    expect(s.replicas()).toBe(3); // Min(2 + 1, 2 × 2)
    expect(s.condition("ScalingLimited")).toMatchObject({ status: "True", reason: "ScaleUpLimit" });
    s.pods(3, 300);
    await s.clock.advance(30_000);
    await s.controller.sync("default/web");
    expect(s.replicas()).toBe(3); // the period started at 2: 2 + 1 reached
    await s.clock.advance(31_000);
    await s.controller.sync("default/web");
    expect(s.replicas()).toBe(4);

    const max = setup({ replicas: 2, hpa: hpa({ behavior: { scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: "Max", policies: [pods1, percent100] } } }) });
    max.pods(2, 300);
    await max.controller.sync("default/web");
    expect(max.replicas()).toBe(4);

    const disabled = setup({ replicas: 2, hpa: hpa({ behavior: { scaleUp: { selectPolicy: "Disabled", policies: [percent100] } } }) });
    disabled.pods(2, 300);
    await disabled.controller.sync("default/web");
    expect(disabled.replicas()).toBe(2);
    expect(disabled.recorder.reasons()).toEqual([]);
    expect(disabled.condition("ScalingLimited")).toMatchObject({ status: "True", reason: "ScaleUpLimit" });
  });

  it("keeps the scaleUp stabilization window's lowest recommendation", async () => {
    const s = setup({ replicas: 2, hpa: hpa({ behavior: { scaleUp: { stabilizationWindowSeconds: 60, policies: [{ type: "Percent", value: 900, periodSeconds: 15 }] } } }) });
    s.pods(2, 150);
    await s.controller.sync("default/web");
    expect(s.replicas()).toBe(2); // the initial recommendation (2) is in the window
    expect(s.condition("AbleToScale")?.reason).toBe("ScaleUpStabilized");
    await s.clock.advance(61_000);
    await s.controller.sync("default/web");
    expect(s.replicas()).toBe(6);
  });

  it("clamps to maxReplicas and minReplicas, and brings a target outside them back without metrics", async () => {
    const s = setup({ replicas: 4, hpa: hpa({ maxReplicas: 5, minReplicas: 2 }) });
    s.pods(4, 500); // 40 wanted; the scale-up limit is 8, so max decides
    await s.controller.sync("default/web");
    expect(s.replicas()).toBe(5);
    expect(s.condition("ScalingLimited")).toMatchObject({ status: "True", reason: "TooManyReplicas", message: "the desired replica count is more than the maximum replica count" });

    const low = setup({ replicas: 3, hpa: hpa({ minReplicas: 2 }), downscaleMs: 0 });
    low.pods(3, 1);
    await low.controller.sync("default/web");
    expect(low.replicas()).toBe(2);
    expect(low.condition("ScalingLimited")).toMatchObject({ status: "True", reason: "TooFewReplicas" });

    const above = setup({ replicas: 12, hpa: hpa({ maxReplicas: 10 }) });
    above.metrics.error = "metrics are never read here";
    await above.controller.sync("default/web");
    expect(above.replicas()).toBe(10);
    expect(above.recorder.messages()).toEqual(["Normal SuccessfulRescale New size: 10; reason: Current number of replicas above Spec.MaxReplicas"]);
  });

  it("assumes a missing pod uses its whole request on a scale-down and nothing on a scale-up", async () => {
    const down = setup({ replicas: 4, downscaleMs: 0 });
    down.pods(4, 5);
    down.metrics.usage.delete("web-3"); // (3 × 5 + 100) / 400 = 28%: ceil(0.56 × 4) = 3, not 1
    await down.controller.sync("default/web");
    expect(down.replicas()).toBe(3);

    const up = setup({ replicas: 3 });
    up.pods(3, 150);
    up.metrics.usage.delete("web-2"); // (150 + 150 + 0) / 300 = 100%: ceil(2 × 3) = 6
    await up.controller.sync("default/web");
    expect(up.replicas()).toBe(6);
  });

  it("counts a pod that is not ready yet at 0% on a scale-up", async () => {
    const s = setup({ replicas: 2 });
    s.pods(1, 150);
    s.fake.seed(newPod("web-new", { labels: { app: "web" }, phase: "Running", requests: { cpu: "100m" }, status: { startTime: formatTime(s.clock.now() - 10_000) } }));
    s.metrics.usage.set("web-new", 400);
    await s.controller.sync("default/web");
    // The unready pod's 400m is ignored: (150 + 0) / 200 = 75%, ratio 1.5, ceil(1.5 × 2) = 3.
    expect(s.replicas()).toBe(3);
  });

  it("reports missing metrics with FailedGetResourceMetric and FailedComputeMetricsReplicas, keeping the replicas", async () => {
    const s = setup({ replicas: 2 });
    s.pods(2, undefined);
    await expect(s.controller.sync("default/web")).rejects.toThrow(/failed to compute desired number of replicas based on listed metrics for Deployment\/default\/web/);
    expect(s.replicas()).toBe(2);
    expect(s.recorder.messages()).toEqual([
      "Warning FailedGetResourceMetric failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API",
      "Warning FailedComputeMetricsReplicas invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API",
    ]);
    expect(s.condition("ScalingActive")).toMatchObject({ status: "False", reason: "FailedGetResourceMetric", message: "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API" });
    expect(s.condition("AbleToScale")).toMatchObject({ status: "True", reason: "SucceededGetScale" });
    expect(s.status().currentReplicas).toBe(2);
  });

  it("fails on a pod without a cpu request", async () => {
    const s = setup({ replicas: 1 });
    s.fake.seed(newPod("web-0", { labels: { app: "web" }, ready: true, status: { startTime: formatTime(s.clock.now() - 10 * MIN) } }));
    s.metrics.usage.set("web-0", 100);
    await expect(s.controller.sync("default/web")).rejects.toThrow();
    expect(s.condition("ScalingActive")?.message).toContain("missing request for cpu in container app of Pod web-0");
  });

  it("reports a target it cannot scale with FailedGetScale", async () => {
    const s = setup({ hpa: hpa({ scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "nope" } }) });
    await expect(s.controller.sync("default/web")).rejects.toThrow(/failed to query scale subresource for Deployment\/default\/nope/);
    expect(s.condition("AbleToScale")).toMatchObject({ status: "False", reason: "FailedGetScale" });
    expect(s.recorder.reasons()).toEqual(["FailedGetScale"]);
    expect(scaleResource("apps/v1", "Foo")).toBe(`no matches for kind "Foo" in group "apps"`);
    expect(scaleResource("v1", "ReplicationController")).toMatchObject({ resource: "replicationcontrollers" });
    expect(scaleResource("apps/v1", "StatefulSet")).toMatchObject({ resource: "statefulsets" });
  });

  it("reports a scale without a selector as InvalidSelector, and leaves a target at zero alone", async () => {
    const s = setup({ selector: "" });
    s.pods(2, 100);
    await expect(s.controller.sync("default/web")).rejects.toThrow(/selector is required/);
    expect(s.condition("ScalingActive")).toMatchObject({ status: "False", reason: "InvalidSelector", message: "the HPA target's scale is missing a selector" });
    expect(s.recorder.reasons()).toEqual(["SelectorRequired", "FailedComputeMetricsReplicas"]);

    const zero = setup({ replicas: 0 });
    zero.pods(0, undefined);
    await zero.controller.sync("default/web");
    expect(zero.replicas()).toBe(0);
    expect(zero.condition("ScalingActive")).toMatchObject({ status: "False", reason: "ScalingDisabled" });
  });

  it("refuses to scale pods that two HPAs select (AmbiguousSelector), and scales again once one is gone", async () => {
    const s = setup({ replicas: 2 });
    s.pods(2, 150);
    const second = hpa();
    second.metadata = { ...second.metadata, name: "web-too", uid: "hpa-2" };
    s.fake.seed(second);
    // The first to sync knows no other selector yet (as in Kubernetes, where a new HPA's selector starts empty).
    await s.controller.sync("default/web-too");
    expect(s.replicas()).toBe(4);
    await expect(s.controller.sync("default/web")).rejects.toThrow(/controlled by multiple HPAs/);
    await expect(s.controller.sync("default/web-too")).rejects.toThrow(/controlled by multiple HPAs/);
    expect(s.replicas()).toBe(4);
    expect(s.condition("ScalingActive")).toMatchObject({ status: "False", reason: "AmbiguousSelector", message: "pods by selector app=web are controlled by multiple HPAs: [default/web default/web-too]" });
    s.fake.remove(HPAS, "default", "web-too");
    await s.controller.sync("default/web-too");
    await s.controller.sync("default/web");
    expect(s.replicas()).toBe(6); // two pods at 3× the target
  });

  it("syncs each HPA again every sync period, also after a failure, and forgets a deleted one", async () => {
    const s = setup({ replicas: 2 });
    s.pods(2, 50);
    expect(await drainQueue(s.controller.queue, (key) => s.controller.sync(key))).toEqual(["default/web"]);
    expect(s.controller.queue.len()).toBe(0);
    await s.clock.advance(SYNC_MS);
    expect(s.controller.queue.len()).toBe(1);
    s.fake.remove(HPAS, "default", "web");
    await drainQueue(s.controller.queue, (key) => s.controller.sync(key));
    await s.clock.advance(SYNC_MS);
    expect(s.controller.queue.len()).toBe(0);
  });

  it("keeps a condition's lastTransitionTime while its status holds and writes no unchanged status", async () => {
    const s = setup({ replicas: 2 });
    s.pods(2, 50);
    await s.controller.sync("default/web");
    const first = s.condition("ScalingActive") as { lastTransitionTime?: string };
    await s.clock.advance(SYNC_MS);
    s.fake.clearActions();
    await s.controller.sync("default/web");
    expect(s.fake.writes()).toEqual([]);
    expect((s.condition("ScalingActive") as { lastTransitionTime?: string }).lastTransitionTime).toBe(first.lastTransitionTime);
  });
});
