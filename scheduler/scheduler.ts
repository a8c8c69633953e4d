// The scheduling loop (k8s pkg/scheduler/schedule_one.go). One cycle per popped pod:
//   pop → skip pods that are gone, bound, being deleted or already assumed
//       → PreFilter → Filter the nodes, starting where the last cycle stopped, until enough feasible nodes are found
//         (all of them below 100 nodes; else percentageOfNodesToScore, adaptive by default)
//       → PreScore → Score the feasible nodes → the highest total wins, ties broken at random
//       → assume the pod on that node in the cache → Reserve → bind asynchronously (up to maxInFlightBindings at
//         once): PreBind (volume binding, which may wait), then the binding itself.
// The cycle itself never awaits, so it sees one consistent cache state — the "snapshot" — and the next cycle
// already counts the pod just assumed.
//
// Outcomes: a FitError is an outcome (FailedScheduling event, PodScheduled=False/Unschedulable, the pod waits in
// the unschedulable queue); any other error and a failed bind are faults (the same event and condition with reason
// SchedulerError, the pod retried after backoff). A successful bind: the Scheduled event and the metrics.
import { errorMessage } from "../api/errors.js";
import { objectKey } from "../api/meta.js";
import { formatTime } from "../api/time.js";
import type { Pod, PodCondition } from "../api/types/index.js";
import type { EventRecorder } from "../client/event-recorder.js";
import { realClock, type Clock } from "../component-base/clock.js";
import { silentLogger, type Logger } from "../component-base/logging.js";
import type { SchedulerCache } from "./cache.js";
import { schedulerNameOf } from "./config.js";
import { Diagnosis, FitError } from "./framework/fit-error.js";
import { CycleState } from "./framework/interface.js";
import { podInfoOf, type NodeInfo } from "./framework/node-info.js";
import type { Framework } from "./framework/runtime.js";
import type { SchedulerMetrics } from "./metrics.js";
import type { QueuedPodInfo, SchedulingQueue } from "./scheduling-queue.js";

/** Writes the binding (pods/<name>/binding). Rejects when the apiserver refuses it. */
export interface Binder {
  bind(pod: Readonly<Pod>, nodeName: string): Promise<void>;
}

/**
 * Sets the pod's PodScheduled condition (through the status subresource), and with `nominatedNodeName` its
 * status.nominatedNodeName too (null clears it).
 */
export interface PodConditionWriter {
  setPodScheduledCondition(pod: Readonly<Pod>, condition: PodCondition, nominatedNodeName?: string | null): Promise<void>;
}

export interface SchedulerOptions {
  queue: SchedulingQueue;
  cache: SchedulerCache;
  /** One framework per profile, by schedulerName. */
  frameworks: ReadonlyMap<string, Framework>;
  binder: Binder;
  conditionWriter: PodConditionWriter;
  /** The event recorder of a profile (its reporting component is the scheduler name). */
  recorder: (profile: string) => EventRecorder;
  /** The informer's current version of a pod by "namespace/name"; undefined when deleted. Default: the queued one. */
  currentPod?: (key: string) => Readonly<Pod> | undefined;
  clock?: Clock;
  logger?: Logger;
  metrics?: SchedulerMetrics;
  /** 0 (default): adaptive, as Kubernetes. */
  percentageOfNodesToScore?: number;
  /** Bindings awaiting the apiserver at once (default 128); the loop pauses when that many are pending. */
  maxInFlightBindings?: number;
  /** Tie-breaking; default Math.random. */
  random?: () => number;
}

/** Kubernetes' floor: below this many nodes all are checked, and at least this many feasible ones are sought. */
const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;

/** The number of feasible nodes a cycle looks for before it stops filtering (numFeasibleNodesToFind). */
export function numFeasibleNodesToFind(numAllNodes: number, percentageOfNodesToScore = 0): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND || percentageOfNodesToScore >= 100) return numAllNodes;
  let pct = percentageOfNodesToScore;
  if (pct <= 0) {
    pct = 50 - Math.trunc(numAllNodes / 125);
    if (pct < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) pct = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  const n = Math.trunc((numAllNodes * pct) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

export interface ScheduleResult {
  node: string;
  evaluatedNodes: number;
  feasibleNodes: number;
}

export class Scheduler {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly maxInFlight: number;
  private readonly percentage: number;
  private nextStartNodeIndex = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private slotWaiters: (() => void)[] = [];
  /** The signal run() was given: PreBind waits end with it. */
  private stop: AbortSignal | undefined;

  constructor(private readonly opts: SchedulerOptions) {
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.random = opts.random ?? Math.random;
    this.maxInFlight = Math.max(1, opts.maxInFlightBindings ?? 128);
    this.percentage = opts.percentageOfNodesToScore ?? 0;
  }

  /** Schedules until `signal` aborts (leadership lost, shutdown), then waits for the bindings in flight. */
  async run(signal: AbortSignal): Promise<void> {
    this.logger.info("Starting scheduling loop");
    this.stop = signal;
    let lastYield = performance.now();
    while (!signal.aborted) {
      if (this.inFlight.size >= this.maxInFlight) {
        await this.bindingSlot();
        continue;
      }
      const info = await this.opts.queue.pop(signal);
      if (!info) break;
      try {
        this.scheduleOne(info);
      } catch (err) {
        this.logger.error({ err, pod: info.key }, "Scheduling cycle failed unexpectedly");
      }
      // pop() resolves at once while pods are queued: give watch events and bind replies a turn now and then.
      if (performance.now() - lastYield > 5) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
    await this.waitForBindings();
    this.logger.info("Scheduling loop stopped");
  }

  /** Resolves when every binding started so far has finished (tests, shutdown). */
  async waitForBindings(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** One scheduling cycle; the bind it starts (if any) continues in the background. */
  scheduleOne(info: QueuedPodInfo): void {
    const pod = this.current(info);
    if (!pod || this.skipPodSchedule(pod)) return;
    info.pod = pod;
    const profile = schedulerNameOf(pod);
    const fwk = this.opts.frameworks.get(profile);
    if (!fwk) {
      this.logger.warn({ pod: info.key, schedulerName: profile }, "No profile for the pod's schedulerName; ignoring it");
      return;
    }
    const start = performance.now();
    const cycle = this.opts.queue.schedulingCycle();
    const state = new CycleState();
    let result: ScheduleResult;
    try {
      result = this.schedulePod(fwk, state, pod);
    } catch (err) {
      const fit = err instanceof FitError;
      let failure: unknown = err;
      let nominated: string | null | undefined;
      if (fit && err.numAllNodes > 0 && fwk.hasPostFilterPlugins()) {
        const post = fwk.runPostFilter(state, pod, this.opts.cache.nodeInfos(), err.diagnosis);
        if (post.status.isSuccess() && post.nominatedNodeName) {
          nominated = post.nominatedNodeName;
        } else {
          if (post.status.code !== "Error") err.diagnosis.postFilterMsg = post.status.message();
          else this.logger.error({ err: post.status.error, pod: info.key }, "Preemption failed");
          // No node after preemption either: a nomination the pod had no longer holds.
          if (post.nominatedNodeName === "" && (pod.status?.nominatedNodeName || this.opts.queue.nominatedNodeOf(pod))) nominated = null;
        }
        failure = new FitError(err.numAllNodes, err.diagnosis);
      }
      this.opts.metrics?.attempt(fit ? "unschedulable" : "error", profile, (performance.now() - start) / 1000);
      if (fit) this.logger.debug({ pod: info.key, reason: errorMessage(failure), nominated }, "Unable to schedule pod; waiting");
      else this.logger.error({ err, pod: info.key }, "Error scheduling pod; retrying");
      this.handleFailure(fwk, info, cycle, failure, fit ? "Unschedulable" : "SchedulerError", nominated);
      return;
    }
    try {
      this.opts.cache.assumePod(pod, result.node);
    } catch (err) {
      this.opts.metrics?.attempt("error", profile, (performance.now() - start) / 1000);
      this.logger.error({ err, pod: info.key }, "Could not assume pod");
      this.handleFailure(fwk, info, cycle, err, "SchedulerError");
      return;
    }
    this.logger.trace({ pod: info.key, node: result.node, evaluated: result.evaluatedNodes, feasible: result.feasibleNodes }, "Assumed pod on node");
    const reserved = fwk.runReserve(state, pod, result.node);
    if (!reserved.isSuccess()) {
      fwk.runUnreserve(state, pod, result.node);
      this.opts.cache.forgetPod(pod);
      this.opts.metrics?.attempt("error", profile, (performance.now() - start) / 1000);
      const err = reserved.error ?? new Error(`running Reserve plugin "${reserved.plugin}": ${reserved.message()}`);
      this.handleFailure(fwk, info, cycle, err, "SchedulerError");
      return;
    }
    const binding = this.bind(fwk, state, info, pod, result.node, cycle, start);
    this.inFlight.add(binding);
    void binding.finally(() => {
      this.inFlight.delete(binding);
      this.slotWaiters.shift()?.();
    });
  }

  /** Picks a node for the pod, or throws FitError (fits nowhere) or another error (a plugin failed). */
  schedulePod(fwk: Framework, state: CycleState, pod: Readonly<Pod>): ScheduleResult {
    const nodes = this.opts.cache.nodeInfos();
    if (nodes.length === 0) throw new FitError(0, new Diagnosis());
    const { feasible, diagnosis, evaluated } = this.findNodesThatFitPod(fwk, state, pod, nodes);
    if (feasible.length === 0) throw new FitError(nodes.length, diagnosis);
    if (feasible.length === 1 || !fwk.hasScorePlugins()) return { node: feasible[0]!.name, evaluatedNodes: evaluated, feasibleNodes: feasible.length };
    const pre = fwk.runPreScore(state, pod, feasible);
    if (!pre.isSuccess()) throw pre.error ?? new Error(`running PreScore plugin ${pre.plugin}: ${pre.message()}`);
    const totals = fwk.runScore(state, pod, feasible);
    return { node: feasible[this.selectHost(totals)]!.name, evaluatedNodes: evaluated, feasibleNodes: feasible.length };
  }

  private findNodesThatFitPod(fwk: Framework, state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[]): { feasible: NodeInfo[]; diagnosis: Diagnosis; evaluated: number } {
    const diagnosis = new Diagnosis();
    const pre = fwk.runPreFilter(state, pod, nodes);
    if (pre.code === "Error") throw pre.error ?? new Error(pre.message());
    if (!pre.isSuccess()) {
      diagnosis.preFilterMsg = pre.message();
      if (pre.plugin) diagnosis.unschedulablePlugins.add(pre.plugin);
      throw new FitError(nodes.length, diagnosis);
    }
    // A pod nominated by an earlier preemption tries its nominated node first: the room made there is its.
    const nominatedNode = pod.status?.nominatedNodeName ?? this.opts.queue.nominatedNodeOf(pod);
    if (nominatedNode) {
      const node = nodes.find((n) => n.name === nominatedNode);
      if (node && this.filterWithNominatedPods(fwk, state, pod, node).code === "Success") return { feasible: [node], diagnosis, evaluated: 1 };
    }
    const n = nodes.length;
    const want = numFeasibleNodesToFind(n, this.percentage);
    const feasible: NodeInfo[] = [];
    const start = this.nextStartNodeIndex % n;
    let processed = 0;
    while (processed < n && feasible.length < want) {
      let i = start + processed;
      if (i >= n) i -= n;
      const node = nodes[i]!;
      processed++;
      const s = this.filterWithNominatedPods(fwk, state, pod, node);
      if (s.code === "Success") feasible.push(node);
      else if (s.code === "Error") throw s.error ?? new Error(s.message());
      else diagnosis.addNodeStatus(s, node.name);
    }
    // The next pod starts where this one stopped, so sampling rotates over every node.
    this.nextStartNodeIndex = (start + processed) % n;
    return { feasible, diagnosis, evaluated: processed };
  }

  /**
   * Filter, counting the pods nominated to the node with at least this pod's priority as if they ran there (their
   * victims are on their way out): the pod must fit both with and without them (RunFilterPluginsWithNominatedPods).
   */
  private filterWithNominatedPods(fwk: Framework, state: CycleState, pod: Readonly<Pod>, node: NodeInfo): ReturnType<Framework["runFilter"]> {
    const nominated = this.opts.queue.nominatedPodsForNode(node.name);
    if (nominated.length > 0) {
      const priority = podInfoOf(pod).priority;
      const uid = pod.metadata.uid;
      let withNominated: NodeInfo | undefined;
      for (const p of nominated) {
        if (p.metadata.uid === uid || (p.spec?.priority ?? 0) < priority) continue;
        withNominated ??= node.clone();
        withNominated.addPod(podInfoOf(p));
      }
      if (withNominated) {
        const s = fwk.runFilter(state, pod, withNominated);
        if (s.code !== "Success") return s;
      }
    }
    return fwk.runFilter(state, pod, node);
  }

  /** The index of the highest total; ties are broken uniformly at random (reservoir sampling, as Kubernetes). */
  private selectHost(totals: readonly number[]): number {
    let best = 0;
    let max = totals[0] ?? 0;
    let ties = 1;
    for (let i = 1; i < totals.length; i++) {
      const s = totals[i]!;
      if (s > max) {
        max = s;
        best = i;
        ties = 1;
      } else if (s === max) {
        ties++;
        if (this.random() * ties < 1) best = i;
      }
    }
    return best;
  }

  private async bind(fwk: Framework, state: CycleState, info: QueuedPodInfo, pod: Readonly<Pod>, node: string, cycle: number, start: number): Promise<void> {
    const profile = fwk.profileName;
    const preBind = await fwk.runPreBind(state, pod, node, this.stop);
    if (!preBind.isSuccess()) {
      fwk.runUnreserve(state, pod, node);
      this.opts.cache.forgetPod(pod);
      this.opts.metrics?.attempt("error", profile, (performance.now() - start) / 1000);
      this.logger.info({ pod: info.key, node, err: preBind.message() }, "PreBind failed; retrying after backoff");
      this.handleFailure(fwk, info, cycle, preBind.error ?? new Error(preBind.message()), "SchedulerError");
      this.opts.queue.moveAllToActiveOrBackoffQueue("AssignedPodDelete");
      return;
    }
    try {
      await this.opts.binder.bind(pod, node);
    } catch (err) {
      fwk.runUnreserve(state, pod, node);
      this.opts.cache.forgetPod(pod);
      this.opts.metrics?.attempt("error", profile, (performance.now() - start) / 1000);
      this.logger.info({ pod: info.key, node, err: errorMessage(err) }, "Binding rejected; retrying after backoff");
      this.handleFailure(fwk, info, cycle, new Error(`Binding rejected: ${errorMessage(err)}`, { cause: err }), "SchedulerError");
      // The resources the assumed pod held are free again: other pods may fit now.
      this.opts.queue.moveAllToActiveOrBackoffQueue("AssignedPodDelete");
      return;
    }
    this.opts.cache.finishBinding(pod);
    const seconds = (performance.now() - start) / 1000;
    this.opts.metrics?.attempt("scheduled", profile, seconds);
    if (info.initialAttemptTimestamp !== undefined) this.opts.metrics?.podScheduled(info.attempts, (this.clock.now() - info.initialAttemptTimestamp) / 1000);
    this.logger.debug({ pod: info.key, node, attempts: info.attempts }, "Successfully bound pod to node");
    this.opts.recorder(profile).event(pod, "Normal", "Scheduled", `Successfully assigned ${pod.metadata.namespace ?? ""}/${pod.metadata.name ?? ""} to ${node}`);
  }

  /**
   * Records why the attempt failed (event + PodScheduled condition) and puts the pod back in the queue — unless the
   * pod was deleted or bound meanwhile.
   */
  private handleFailure(fwk: Framework, info: QueuedPodInfo, cycle: number, err: unknown, reason: "Unschedulable" | "SchedulerError", nominated?: string | null): void {
    const message = errorMessage(err);
    const pod = info.pod;
    const current = this.current(info);
    const stillPending = current !== undefined && !current.spec?.nodeName && current.metadata.uid === pod.metadata.uid;
    if (stillPending) {
      info.pod = current;
      if (nominated !== undefined) this.opts.queue.nominate(current, nominated ?? undefined);
      this.opts.queue.addUnschedulableIfNotPresent(info, cycle, reason === "SchedulerError", fitPlugins(err));
    }
    this.opts.recorder(fwk.profileName).event(pod, "Warning", "FailedScheduling", message);
    // A pod deleted or bound meanwhile keeps its conditions: PodScheduled=False on a bound pod would be a lie.
    if (!stillPending) return;
    const target = current;
    const condition: PodCondition = { type: "PodScheduled", status: "False", reason, message };
    const existing = target.status?.conditions?.find((c) => c.type === "PodScheduled");
    const nominationChanges = nominated !== undefined && (nominated ?? undefined) !== target.status?.nominatedNodeName;
    if (!nominationChanges && existing?.status === condition.status && existing.reason === condition.reason && existing.message === condition.message) return;
    condition.lastTransitionTime = existing?.status === "False" && existing.lastTransitionTime ? existing.lastTransitionTime : formatTime(this.clock.now());
    this.opts.conditionWriter.setPodScheduledCondition(target, condition, nominationChanges ? nominated : undefined).catch((e: unknown) => {
      this.logger.debug({ err: e, pod: info.key }, "Could not update the pod's PodScheduled condition");
    });
  }

  /** The informer's latest version of the queued pod (the queued object itself without a lister). */
  private current(info: QueuedPodInfo): Readonly<Pod> | undefined {
    if (!this.opts.currentPod) return info.pod;
    const pod = this.opts.currentPod(info.key);
    if (pod && pod.metadata.uid !== info.pod.metadata.uid) return undefined;
    return pod;
  }

  /** Pods that need no cycle: bound already, being deleted, or assumed and binding. */
  private skipPodSchedule(pod: Readonly<Pod>): boolean {
    if (pod.spec?.nodeName) return true;
    if (pod.metadata.deletionTimestamp) {
      this.logger.debug({ pod: objectKey(pod.metadata) }, "Skipping pod schedule: being deleted");
      return true;
    }
    return this.opts.cache.isAssumed(pod);
  }

  private bindingSlot(): Promise<void> {
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }
}

/** The plugins that rejected the pod (for queueing hints); undefined for errors, which any change may cure. */
function fitPlugins(err: unknown): ReadonlySet<string> | undefined {
  return err instanceof FitError ? err.diagnosis.unschedulablePlugins : undefined;
}
