// The horizontal pod autoscaler (Kubernetes' pkg/controller/podautoscaler/horizontal.go): every sync period each
// HorizontalPodAutoscaler reads its target's /scale, computes the replicas its metrics ask for, bounds them, writes
// the scale and its status.
//
// Contract:
//   - Target: scaleTargetRef (apiVersion's group + kind) mapped to a built-in resource with a scale subresource
//     (deployments, replicasets, statefulsets, replicationcontrollers); its scale's status.selector picks the pods.
//   - Metrics: Resource metrics (Utilization of the requests, or AverageValue) through replica-calculator.ts; the
//     largest proposal of the metrics that worked wins; if every metric failed, or some failed and the rest would
//     scale down, nothing is scaled (ScalingActive=False with the first failure's reason).
//   - Bounds: a target at 0 replicas (with minReplicas > 0) is left alone (ScalingDisabled); a target outside
//     [min, max] is brought back without metrics. Otherwise, without spec.behavior: the highest recommendation of the
//     --horizontal-pod-autoscaler-downscale-stabilization window, then [min, max(2×current, 4) ∧ max]. With
//     spec.behavior: the scaleUp/scaleDown stabilization windows (scaleDown's default is that flag), then the
//     policies' rate limits over their periods (selectPolicy Max/Min/Disabled), then [min, max].
//   - Status: currentReplicas, desiredReplicas, currentMetrics, lastScaleTime (on a rescale), and the AbleToScale,
//     ScalingActive and ScalingLimited conditions with Kubernetes' reasons; written only when it changed.
//   - Events: SuccessfulRescale ("New size: N; reason: ..."), FailedRescale, FailedGetScale,
//     FailedGetResourceMetric, FailedComputeMetricsReplicas, SelectorRequired, InvalidSelector, AmbiguousSelector (two
//     HPAs whose targets' selectors share pods: neither scales).
//   - Each HPA is synced when first seen, when its spec changes, and then every --horizontal-pod-autoscaler-sync-period
//     (also after a failure). Recommendations and scale events are kept per HPA in memory, as Kubernetes does.
import { errorMessage } from "../../../api/errors.js";
import { parseLabelSelector, type Selector } from "../../../api/labels.js";
import type { KubeObject } from "../../../api/meta.js";
import { formatQuantity, parseQuantity, quantityFromMilli, quantityToMilli } from "../../../api/quantity.js";
import { findResource, RESOURCES, type ResourceInfo } from "../../../api/resources.js";
import { formatTime } from "../../../api/time.js";
import type {
  HorizontalPodAutoscalerCondition,
  HorizontalPodAutoscalerV2,
  HPAScalingRules,
  MetricSpecV2,
  MetricStatusV2,
  MetricTarget,
  MetricValueStatus,
  Pod,
} from "../../../api/types/index.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import type { EventRecorder } from "../../../client/event-recorder.js";
import { unwrapTombstone, type Informer } from "../../../client/informer.js";
import type { RestClient, Scale } from "../../../client/rest.js";
import type { ItemRateLimiter, RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import { semanticEqual } from "../controller-utils.js";
import type { Controller, ControllerFactory } from "../types.js";
import { RestMetricsClient } from "./metrics-client.js";
import { ReplicaCalculator, type MetricsClient } from "./replica-calculator.js";

export const NAME = "horizontalpodautoscaling";
/** The events' source component, as Kubernetes' HPA controller names itself. */
export const COMPONENT = "horizontal-pod-autoscaler";

export const HPAS = findResource("autoscaling", "v2", "horizontalpodautoscalers")!;
export const PODS = findResource("", "v1", "pods")!;

/** Without spec.behavior a scale-up is limited to max(2 × current, 4) per sync (scaleUpLimitFactor/Minimum). */
const SCALE_UP_LIMIT_FACTOR = 2;
const SCALE_UP_LIMIT_MINIMUM = 4;

export interface HorizontalControllerOptions {
  client: Pick<RestClient, "getScale" | "updateScale" | "updateStatus">;
  hpas: Informer<HorizontalPodAutoscalerV2>;
  pods: Informer<Pod>;
  metricsClient: MetricsClient;
  recorder: EventRecorder;
  /** --horizontal-pod-autoscaler-sync-period. */
  syncPeriodMs: number;
  /** --horizontal-pod-autoscaler-downscale-stabilization. */
  downscaleStabilizationMs: number;
  /** --horizontal-pod-autoscaler-tolerance. */
  tolerance: number;
  /** --horizontal-pod-autoscaler-cpu-initialization-period. */
  cpuInitializationPeriodMs: number;
  /** --horizontal-pod-autoscaler-initial-readiness-delay. */
  initialReadinessDelayMs: number;
  /** --concurrent-horizontal-pod-autoscaler-syncs. */
  workers: number;
  clock?: Clock;
  logger?: Logger;
  metrics?: Registry;
}

interface Recommendation {
  replicas: number;
  at: number;
}

export interface ScaleEvent {
  change: number;
  at: number;
  outdated: boolean;
}

type HPAStatus = NonNullable<HorizontalPodAutoscalerV2["status"]>;
type ConditionStatus = HorizontalPodAutoscalerCondition["status"];

/** What the metrics ask for: the proposal, the metric that made it (for the event), and each metric's status. */
interface MetricsProposal {
  replicas: number;
  metric: string;
  statuses: MetricStatusV2[];
  /** A metric failed but the others decided (Kubernetes returns this error after scaling). */
  partialError?: Error;
}

/** Client-go's FixedItemIntervalRateLimiter: a failed HPA is looked at again one sync period later. */
function fixedInterval(ms: number): ItemRateLimiter<string> {
  const counts = new Map<string, number>();
  return {
    when: (item) => {
      counts.set(item, (counts.get(item) ?? 0) + 1);
      return ms;
    },
    forget: (item) => {
      counts.delete(item);
    },
    numRequeues: (item) => counts.get(item) ?? 0,
  };
}

export class HorizontalController implements Controller {
  readonly name = NAME;
  /** HPA keys ("namespace/name"); exposed for tests. */
  readonly queue: RateLimitingQueue;
  private readonly opts: HorizontalControllerOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly calculator: ReplicaCalculator;
  private readonly recommendations = new Map<string, Recommendation[]>();
  private readonly scaleUpEvents = new Map<string, ScaleEvent[]>();
  private readonly scaleDownEvents = new Map<string, ScaleEvent[]>();
  /** Each HPA's target selector as last seen, to find pods two HPAs would fight over. */
  private readonly selectors = new Map<string, Selector>();

  constructor(opts: HorizontalControllerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.queue = newControllerQueue(NAME, { clock: this.clock, metrics: opts.metrics, rateLimiter: fixedInterval(opts.syncPeriodMs) });
    this.calculator = new ReplicaCalculator({
      metrics: opts.metricsClient,
      pods: (namespace, selector) => opts.pods.lister.listNamespace(namespace).filter((p) => selector.matches(p.metadata.labels)),
      tolerance: opts.tolerance,
      cpuInitializationPeriodMs: opts.cpuInitializationPeriodMs,
      delayOfInitialReadinessStatusMs: opts.initialReadinessDelayMs,
      now: () => this.clock.now(),
    });
    opts.hpas.addEventHandler({
      onAdd: (hpa) => { this.queue.add(keyOf(hpa)); },
      onUpdate: (old, hpa) => {
        if (old.metadata.generation !== hpa.metadata.generation) this.queue.add(keyOf(hpa));
      },
      onDelete: (obj) => { this.queue.add(keyOf(unwrapTombstone(obj))); },
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return runWorkers({
      queue: this.queue,
      workers: this.opts.workers,
      sync: (key) => this.sync(key),
      informers: [this.opts.hpas, this.opts.pods],
      logger: this.logger,
      signal,
      onStart: () => { this.logger.info({ syncPeriodMs: this.opts.syncPeriodMs }, "Starting HPA controller"); },
      logFailure: (key, err) => { this.logger.warn({ key, err: errorMessage(err) }, "Reconciling the HPA failed"); },
    });
  }

  /** Reconciles the HPA `key` and queues it again one sync period later; a deleted HPA's memory is dropped. */
  async sync(key: string): Promise<void> {
    const hpa = this.opts.hpas.lister.get(key);
    if (!hpa) {
      this.recommendations.delete(key);
      this.scaleUpEvents.delete(key);
      this.scaleDownEvents.delete(key);
      this.selectors.delete(key);
      return;
    }
    await this.reconcile(key, hpa);
    this.queue.addAfter(key, this.opts.syncPeriodMs);
  }

  private async reconcile(key: string, cached: Readonly<HorizontalPodAutoscalerV2>): Promise<void> {
    const hpa = { ...structuredClone(cached) as HorizontalPodAutoscalerV2, apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler" };
    const original = structuredClone(hpa.status ?? {});
    const status: HPAStatus = hpa.status ?? {};
    hpa.status = status;
    const spec = hpa.spec ?? {};
    const ref = spec.scaleTargetRef ?? { kind: "", name: "" };
    const namespace = hpa.metadata.namespace ?? "";
    const reference = `${ref.kind}/${namespace}/${ref.name}`;
    const now = this.clock.now();

    const failScale = async (message: string, err: string): Promise<never> => {
      this.opts.recorder.event(hpa, "Warning", "FailedGetScale", message);
      setCondition(status, "AbleToScale", "False", "FailedGetScale", `the HPA controller was unable to get the target's current scale: ${message}`, now);
      await this.updateStatusIfNeeded(original, hpa);
      throw new Error(err);
    };

    const target = scaleResource(ref.apiVersion ?? "", ref.kind);
    if (typeof target === "string") return failScale(target, `unable to determine resource for scale target reference: ${target}`);
    let scale: Scale;
    try {
      scale = await this.opts.client.getScale(target, namespace, ref.name);
    } catch (err) {
      return failScale(errorMessage(err), `failed to query scale subresource for ${reference}: ${errorMessage(err)}`);
    }
    setCondition(status, "AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale", now);
    const currentReplicas = scale.spec?.replicas ?? 0;
    if (!this.recommendations.has(key)) this.recommendations.set(key, [{ replicas: currentReplicas, at: now }]);

    const minReplicas = spec.minReplicas ?? 1;
    const maxReplicas = spec.maxReplicas ?? 0;
    let desiredReplicas = 0;
    let rescaleReason = "";
    let statuses: MetricStatusV2[] = [];
    let rescale = true;
    let partialError: Error | undefined;
    if (currentReplicas === 0 && minReplicas !== 0) {
      rescale = false;
      setCondition(status, "ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero", now);
    } else if (currentReplicas > maxReplicas) {
      rescaleReason = "Current number of replicas above Spec.MaxReplicas";
      desiredReplicas = maxReplicas;
    } else if (currentReplicas < minReplicas) {
      rescaleReason = "Current number of replicas below Spec.MinReplicas";
      desiredReplicas = minReplicas;
    } else {
      let proposal: MetricsProposal;
      try {
        proposal = await this.computeReplicasForMetrics(hpa, scale, spec.metrics ?? [], now);
      } catch (err) {
        const failure = err instanceof MetricsError ? err : new MetricsError(errorMessage(err), []);
        status.currentReplicas = currentReplicas;
        status.currentMetrics = failure.statuses;
        await this.updateStatusIfNeeded(original, hpa);
        this.opts.recorder.event(hpa, "Warning", "FailedComputeMetricsReplicas", failure.message);
        throw new Error(`failed to compute desired number of replicas based on listed metrics for ${reference}: ${failure.message}`);
      }
      statuses = proposal.statuses;
      partialError = proposal.partialError;
      desiredReplicas = proposal.replicas;
      if (desiredReplicas > currentReplicas) rescaleReason = `${proposal.metric} above target`;
      if (desiredReplicas < currentReplicas) rescaleReason = "All metrics below target";
      desiredReplicas = spec.behavior
        ? this.normalizeWithBehaviors(key, status, spec.behavior, currentReplicas, desiredReplicas, minReplicas, maxReplicas, now)
        : this.normalize(key, status, currentReplicas, desiredReplicas, minReplicas, maxReplicas, now);
      rescale = desiredReplicas !== currentReplicas;
    }

    if (rescale) {
      try {
        await this.opts.client.updateScale(target, namespace, ref.name, { ...scale, spec: { ...scale.spec, replicas: desiredReplicas } });
      } catch (err) {
        this.opts.recorder.event(hpa, "Warning", "FailedRescale", `New size: ${desiredReplicas}; reason: ${rescaleReason}; error: ${errorMessage(err)}`);
        setCondition(status, "AbleToScale", "False", "FailedUpdateScale", `the HPA controller was unable to update the target scale: ${errorMessage(err)}`, now);
        status.currentReplicas = currentReplicas;
        status.currentMetrics = statuses;
        await this.updateStatusIfNeeded(original, hpa);
        throw new Error(`failed to rescale ${reference}: ${errorMessage(err)}`);
      }
      setCondition(status, "AbleToScale", "True", "SucceededRescale", `the HPA controller was able to update the target scale to ${desiredReplicas}`, now);
      this.opts.recorder.event(hpa, "Normal", "SuccessfulRescale", `New size: ${desiredReplicas}; reason: ${rescaleReason}`);
      this.storeScaleEvent(key, spec.behavior, currentReplicas, desiredReplicas, now);
      this.logger.info({ hpa: key, reference, from: currentReplicas, to: desiredReplicas, reason: rescaleReason }, "Successful rescale");
      status.lastScaleTime = formatTime(now);
    } else {
      desiredReplicas = currentReplicas;
    }
    status.currentReplicas = currentReplicas;
    status.desiredReplicas = desiredReplicas;
    status.currentMetrics = statuses;
    await this.updateStatusIfNeeded(original, hpa);
    if (partialError) throw partialError;
  }

  /** Every metric's proposal and status; the highest proposal wins (computeReplicasForMetrics). */
  private async computeReplicasForMetrics(hpa: HorizontalPodAutoscalerV2, scale: Scale, metrics: readonly MetricSpecV2[], now: number): Promise<MetricsProposal> {
    const status = hpa.status ?? {};
    const selector = this.parseSelector(hpa, scale.status?.selector, now);
    const specReplicas = scale.spec?.replicas ?? 0;
    const statuses: MetricStatusV2[] = metrics.map((m) => ({ type: m.type }));
    let replicas = 0;
    let metric = "";
    let invalid = 0;
    let firstError: { condition: Condition; message: string } | undefined;
    for (const [i, spec] of metrics.entries()) {
      try {
        const proposal = await this.computeReplicasForMetric(hpa, spec, specReplicas, selector);
        statuses[i] = proposal.status;
        if (replicas === 0 || proposal.replicas > replicas) {
          replicas = proposal.replicas;
          metric = proposal.metric;
        }
      } catch (err) {
        const failure = err instanceof MetricFailure ? err : new MetricFailure(errorMessage(err), unableCondition("FailedGetResourceMetric", errorMessage(err)));
        firstError ??= { condition: failure.condition, message: failure.message };
        invalid++;
      }
    }
    const partial = firstError ? new MetricsError(`invalid metrics (${invalid} invalid out of ${metrics.length}), first error is: ${firstError.message}`, statuses) : undefined;
    if (firstError && (invalid >= metrics.length || replicas < specReplicas)) {
      const c = firstError.condition;
      setCondition(status, c.type, c.status, c.reason, c.message, now);
      throw partial ?? new MetricsError(firstError.message, statuses);
    }
    setCondition(status, "ScalingActive", "True", "ValidMetricFound", `the HPA was able to successfully calculate a replica count from ${metric}`, now);
    return { replicas, metric, statuses, ...(partial ? { partialError: partial } : {}) };
  }

  /** The selector of the target's scale, or a MetricsError with Kubernetes' event and condition. */
  private parseSelector(hpa: HorizontalPodAutoscalerV2, text: string | undefined, now: number): Selector {
    const status = hpa.status ?? {};
    if (!text) {
      this.opts.recorder.event(hpa, "Warning", "SelectorRequired", "selector is required");
      setCondition(status, "ScalingActive", "False", "InvalidSelector", "the HPA target's scale is missing a selector", now);
      throw new MetricsError("selector is required", []);
    }
    let selector: Selector;
    try {
      selector = parseLabelSelector(text);
    } catch (err) {
      const message = `couldn't convert selector into a corresponding internal selector object: ${errorMessage(err)}`;
      this.opts.recorder.event(hpa, "Warning", "InvalidSelector", message);
      setCondition(status, "ScalingActive", "False", "InvalidSelector", message, now);
      throw new MetricsError(message, []);
    }
    const key = keyOf(hpa);
    const namespace = hpa.metadata.namespace ?? "";
    this.selectors.set(key, selector);
    const pods = this.opts.pods.lister.listNamespace(namespace).filter((p) => selector.matches(p.metadata.labels));
    const selecting = [...this.selectors]
      .filter(([other, s]) => other.startsWith(`${namespace}/`) && pods.some((p) => s.matches(p.metadata.labels)))
      .map(([other]) => other)
      .sort();
    if (selecting.length > 1) {
      const message = `pods by selector ${text} are controlled by multiple HPAs: [${selecting.join(" ")}]`;
      this.opts.recorder.event(hpa, "Warning", "AmbiguousSelector", message);
      setCondition(status, "ScalingActive", "False", "AmbiguousSelector", message, now);
      throw new MetricsError(message, []);
    }
    return selector;
  }

  private async computeReplicasForMetric(hpa: HorizontalPodAutoscalerV2, spec: MetricSpecV2, specReplicas: number, selector: Selector): Promise<{ replicas: number; metric: string; status: MetricStatusV2 }> {
    const namespace = hpa.metadata.namespace ?? "";
    if (spec.type !== "Resource" || !spec.resource) {
      const message = `unknown metric source type "${spec.type}"`;
      // Pods, Object, External and ContainerResource metrics need adapters kubelab does not have.
      this.opts.recorder.event(hpa, "Warning", "InvalidMetricSourceType", message);
      throw new MetricFailure(message, unableCondition("InvalidMetricSourceType", message));
    }
    const { name, target } = spec.resource;
    try {
      const computed = await this.computeResource(specReplicas, target, name, namespace, selector);
      return { replicas: computed.replicas, metric: computed.metric, status: { type: "Resource", resource: { name, current: computed.current } } };
    } catch (err) {
      const message = `failed to get ${name} resource metric value: ${errorMessage(err)}`;
      this.opts.recorder.event(hpa, "Warning", "FailedGetResourceMetric", errorMessage(err));
      throw new MetricFailure(message, unableCondition("FailedGetResourceMetric", errorMessage(err)));
    }
  }

  private async computeResource(specReplicas: number, target: MetricTarget, resource: string, namespace: string, selector: Selector): Promise<{ replicas: number; metric: string; current: MetricValueStatus }> {
    if (target.averageValue !== undefined) {
      const targetUsage = quantityToMilli(parseQuantity(target.averageValue));
      let proposal;
      try {
        proposal = await this.calculator.getRawResourceReplicas(specReplicas, targetUsage, resource, namespace, selector);
      } catch (err) {
        throw new Error(`failed to get ${resource} usage: ${errorMessage(err)}`);
      }
      return { replicas: proposal.replicas, metric: `${resource} resource`, current: { averageValue: milliQuantity(proposal.usage) } };
    }
    if (target.averageUtilization === undefined) {
      throw new Error("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set");
    }
    let proposal;
    try {
      proposal = await this.calculator.getResourceReplicas(specReplicas, target.averageUtilization, resource, namespace, selector);
    } catch (err) {
      throw new Error(`failed to get ${resource} utilization: ${errorMessage(err)}`);
    }
    return {
      replicas: proposal.replicas,
      metric: `${resource} resource utilization (percentage of request)`,
      current: { averageUtilization: proposal.utilization, averageValue: milliQuantity(proposal.rawUtilization) },
    };
  }

  /** Without spec.behavior: the downscale stabilization window, then [min, min(max, max(2×current, 4))]. */
  private normalize(key: string, status: HPAStatus, current: number, desired: number, min: number, max: number, now: number): number {
    const stabilized = this.stabilize(key, desired, now);
    if (stabilized !== desired) {
      setCondition(status, "AbleToScale", "True", "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation", now);
    } else {
      setCondition(status, "AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size", now);
    }
    const scaleUpLimit = Math.trunc(Math.max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM));
    const limit: Limit =
      max > scaleUpLimit
        ? { bound: scaleUpLimit, reason: "ScaleUpLimit", message: "the desired replica count is increasing faster than the maximum scale rate" }
        : { bound: max, reason: "TooManyReplicas", message: "the desired replica count is more than the maximum replica count" };
    let result: Limit & { replicas: number };
    if (stabilized < min) result = { replicas: min, bound: min, reason: "TooFewReplicas", message: "the desired replica count is less than the minimum replica count" };
    else if (stabilized > limit.bound) result = { replicas: limit.bound, ...limit };
    else result = { replicas: stabilized, bound: stabilized, reason: "DesiredWithinRange", message: "the desired count is within the acceptable range" };
    setCondition(status, "ScalingLimited", result.replicas === stabilized ? "False" : "True", result.reason, result.message, now);
    return result.replicas;
  }

  /** The highest recommendation within the downscale window, recording `desired` (stabilizeRecommendation). */
  private stabilize(key: string, desired: number, now: number): number {
    const recs = this.recommendations.get(key) ?? [];
    const cutoff = now - this.opts.downscaleStabilizationMs;
    let highest = desired;
    let oldIndex = -1;
    for (const [i, rec] of recs.entries()) {
      // A window of 0 holds nothing back, not even a recommendation made this same millisecond.
      if (rec.at <= cutoff) oldIndex = i;
      else if (rec.replicas > highest) highest = rec.replicas;
    }
    if (oldIndex >= 0) recs[oldIndex] = { replicas: desired, at: now };
    else recs.push({ replicas: desired, at: now });
    this.recommendations.set(key, recs);
    return highest;
  }

  /** With spec.behavior: both stabilization windows, then the policies' rates and [min, max]. */
  private normalizeWithBehaviors(key: string, status: HPAStatus, behavior: NonNullable<NonNullable<HorizontalPodAutoscalerV2["spec"]>["behavior"]>, current: number, desired: number, min: number, max: number, now: number): number {
    const scaleUp = behavior.scaleUp ?? {};
    const scaleDown = { ...behavior.scaleDown };
    // Kubernetes leaves scaleDown's window unset by default so that the controller's flag decides it.
    scaleDown.stabilizationWindowSeconds ??= Math.trunc(this.opts.downscaleStabilizationMs / 1000);
    const stabilized = this.stabilizeWithBehaviors(key, scaleUp, scaleDown, current, desired, now);
    if (stabilized.replicas !== desired) setCondition(status, "AbleToScale", "True", stabilized.reason, stabilized.message, now);
    else setCondition(status, "AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size", now);
    const limited = this.limitByRate(key, scaleUp, scaleDown, current, stabilized.replicas, min, max, now);
    setCondition(status, "ScalingLimited", limited.replicas === stabilized.replicas ? "False" : "True", limited.reason, limited.message, now);
    return limited.replicas;
  }

  /** The recommendation kept between the lowest of the scaleUp window and the highest of the scaleDown window. */
  private stabilizeWithBehaviors(key: string, scaleUp: HPAScalingRules, scaleDown: HPAScalingRules, current: number, desired: number, now: number): { replicas: number; reason: string; message: string } {
    const upCutoff = now - (scaleUp.stabilizationWindowSeconds ?? 0) * 1000;
    const downCutoff = now - (scaleDown.stabilizationWindowSeconds ?? 0) * 1000;
    let up = desired;
    let down = desired;
    let oldIndex = -1;
    const recs = this.recommendations.get(key) ?? [];
    for (const [i, rec] of recs.entries()) {
      if (rec.at > upCutoff) up = Math.min(up, rec.replicas);
      if (rec.at > downCutoff) down = Math.max(down, rec.replicas);
      if (rec.at < upCutoff && rec.at < downCutoff) oldIndex = i;
    }
    let replicas = current;
    if (replicas < up) replicas = up;
    if (replicas > down) replicas = down;
    if (oldIndex >= 0) recs[oldIndex] = { replicas: desired, at: now };
    else recs.push({ replicas: desired, at: now });
    this.recommendations.set(key, recs);
    return desired >= current
      ? { replicas, reason: "ScaleUpStabilized", message: "recent recommendations were lower than current one, applying the lowest recent recommendation" }
      : { replicas, reason: "ScaleDownStabilized", message: "recent recommendations were higher than current one, applying the highest recent recommendation" };
  }

  /** convertDesiredReplicasWithBehaviorRate: the policies' limits and [min, max]. */
  private limitByRate(key: string, scaleUp: HPAScalingRules, scaleDown: HPAScalingRules, current: number, desired: number, min: number, max: number, now: number): Limit & { replicas: number } {
    const ups = this.scaleUpEvents.get(key) ?? [];
    const downs = this.scaleDownEvents.get(key) ?? [];
    if (desired > current) {
      const rateLimit = Math.max(current, scaleUpLimit(current, ups, downs, scaleUp, now));
      const limit: Limit =
        max > rateLimit
          ? { bound: rateLimit, reason: "ScaleUpLimit", message: "the desired replica count is increasing faster than the maximum scale rate" }
          : { bound: max, reason: "TooManyReplicas", message: "the desired replica count is more than the maximum replica count" };
      if (desired > limit.bound) return { replicas: limit.bound, ...limit };
    } else if (desired < current) {
      const rateLimit = Math.min(current, scaleDownLimit(current, ups, downs, scaleDown, now));
      const limit: Limit =
        min < rateLimit
          ? { bound: rateLimit, reason: "ScaleDownLimit", message: "the desired replica count is decreasing faster than the maximum scale rate" }
          : { bound: min, reason: "TooFewReplicas", message: "the desired replica count is less than the minimum replica count" };
      if (desired < limit.bound) return { replicas: limit.bound, ...limit };
    }
    return { replicas: desired, bound: desired, reason: "DesiredWithinRange", message: "the desired count is within the acceptable range" };
  }

  /** Remembers a rescale for the rate policies (only with spec.behavior), reusing an entry older than every period. */
  private storeScaleEvent(key: string, behavior: NonNullable<HorizontalPodAutoscalerV2["spec"]>["behavior"], previous: number, next: number, now: number): void {
    if (!behavior) return;
    const up = next > previous;
    const rules = (up ? behavior.scaleUp : behavior.scaleDown) ?? {};
    const events = (up ? this.scaleUpEvents : this.scaleDownEvents).get(key) ?? [];
    const longest = Math.max(0, ...(rules.policies ?? []).map((p) => p.periodSeconds));
    const cutoff = now - longest * 1000;
    let oldIndex = -1;
    for (const [i, e] of events.entries()) {
      if (e.at < cutoff) e.outdated = true;
      if (e.outdated) oldIndex = i;
    }
    const event: ScaleEvent = { change: Math.abs(next - previous), at: now, outdated: false };
    if (oldIndex >= 0) events[oldIndex] = event;
    else events.push(event);
    (up ? this.scaleUpEvents : this.scaleDownEvents).set(key, events);
  }

  private async updateStatusIfNeeded(original: HPAStatus, hpa: HorizontalPodAutoscalerV2): Promise<void> {
    if (semanticEqual(original, hpa.status)) return;
    try {
      await this.opts.client.updateStatus(HPAS, hpa.metadata.namespace, hpa);
    } catch (err) {
      this.opts.recorder.event(hpa, "Warning", "FailedUpdateStatus", errorMessage(err));
      throw new Error(`failed to update status for ${hpa.metadata.name ?? ""}: ${errorMessage(err)}`);
    }
  }
}

interface Limit {
  bound: number;
  reason: string;
  message: string;
}

type Condition = Pick<HorizontalPodAutoscalerCondition, "type" | "status" | "reason" | "message"> & { reason: string; message: string };

/** A metric that could not be computed, with the condition it would set. */
class MetricFailure extends Error {
  constructor(message: string, readonly condition: Condition) {
    super(message);
  }
}

/** The metrics could not decide; the statuses of those that could. */
class MetricsError extends Error {
  constructor(message: string, readonly statuses: MetricStatusV2[]) {
    super(message);
  }
}

function unableCondition(reason: string, message: string): Condition {
  return { type: "ScalingActive", status: "False", reason, message: `the HPA was unable to compute the replica count: ${message}` };
}

/** Sets a condition, moving lastTransitionTime only when its status changes (setConditionInList). */
export function setCondition(status: HPAStatus, type: string, value: ConditionStatus, reason: string, message: string, now: number): void {
  const conditions = status.conditions ?? [];
  let condition = conditions.find((c) => c.type === type);
  if (!condition) {
    condition = { type, status: value };
    conditions.push(condition);
    condition.lastTransitionTime = formatTime(now);
  } else if (condition.status !== value) {
    condition.lastTransitionTime = formatTime(now);
  }
  condition.status = value;
  condition.reason = reason;
  condition.message = message;
  status.conditions = conditions;
}

/** The built-in resource with a scale subresource for a group and kind, or why there is none. */
export function scaleResource(apiVersion: string, kind: string): ResourceInfo | string {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  if (apiVersion.split("/").length > 2) return `unexpected GroupVersion string: ${apiVersion}`;
  const found = RESOURCES.find((r) => r.group === group && r.kind === kind && r.subresources.some((s) => s.name === "scale"));
  return found ?? `no matches for kind "${kind}" in group "${group}"`;
}

/** The most replicas the scaleUp policies allow from where each period started (calculateScaleUpLimitWithScalingRules). */
export function scaleUpLimit(current: number, ups: readonly ScaleEvent[], downs: readonly ScaleEvent[], rules: HPAScalingRules, now: number): number {
  const select = rules.selectPolicy ?? "Max";
  if (select === "Disabled") return current;
  let result = select === "Min" ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
  for (const policy of rules.policies ?? []) {
    const start = current - changeInPeriod(policy.periodSeconds, ups, now) + changeInPeriod(policy.periodSeconds, downs, now);
    const proposed = policy.type === "Pods" ? start + policy.value : Math.ceil(start * (1 + policy.value / 100));
    result = select === "Min" ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
}

/** The fewest replicas the scaleDown policies allow (calculateScaleDownLimitWithBehaviors). */
export function scaleDownLimit(current: number, ups: readonly ScaleEvent[], downs: readonly ScaleEvent[], rules: HPAScalingRules, now: number): number {
  const select = rules.selectPolicy ?? "Max";
  if (select === "Disabled") return current;
  // The smallest change (Min) is the largest replica count.
  let result = select === "Min" ? Number.MIN_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
  for (const policy of rules.policies ?? []) {
    const start = current - changeInPeriod(policy.periodSeconds, ups, now) + changeInPeriod(policy.periodSeconds, downs, now);
    const proposed = policy.type === "Pods" ? start - policy.value : Math.trunc(start * (1 - policy.value / 100));
    result = select === "Min" ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
}

function changeInPeriod(periodSeconds: number, events: readonly ScaleEvent[], now: number): number {
  const cutoff = now - periodSeconds * 1000;
  return events.filter((e) => e.at > cutoff).reduce((sum, e) => sum + e.change, 0);
}

function milliQuantity(milli: number): string {
  return formatQuantity(quantityFromMilli(milli));
}

function keyOf(obj: Readonly<KubeObject>): string {
  return `${obj.metadata.namespace ?? ""}/${obj.metadata.name ?? ""}`;
}

export const createHorizontalController: ControllerFactory = (ctx) =>
  new HorizontalController({
    client: ctx.client,
    hpas: ctx.informers.forResource<HorizontalPodAutoscalerV2>(HPAS),
    pods: ctx.informers.forResource<Pod>(PODS),
    metricsClient: new RestMetricsClient(ctx.client),
    recorder: ctx.recorder(COMPONENT),
    syncPeriodMs: ctx.config.horizontalPodAutoscalerSyncPeriodMs,
    downscaleStabilizationMs: ctx.config.horizontalPodAutoscalerDownscaleStabilizationMs,
    tolerance: ctx.config.horizontalPodAutoscalerTolerance,
    cpuInitializationPeriodMs: ctx.config.horizontalPodAutoscalerCpuInitializationPeriodMs,
    initialReadinessDelayMs: ctx.config.horizontalPodAutoscalerInitialReadinessDelayMs,
    workers: ctx.config.concurrentHorizontalPodAutoscalerSyncs,
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: NAME }),
    metrics: ctx.metrics,
  });
