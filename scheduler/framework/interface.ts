// The scheduling framework's core types (k8s.io/kubernetes/pkg/scheduler/framework/interface.go, trimmed): the
// plugin interfaces, the per-cycle state, and the Status every plugin returns.
//
// A scheduling cycle for one pod runs, in order:
//   PreFilter (once per pod)  → Filter (per node, first non-Success ends that node)
//   PreScore  (once per pod, on the feasible nodes) → Score (per plugin, per feasible node) → normalizeScores
//   → Reserve (the chosen node; a failure runs every Unreserve)
// The cycle is synchronous: plugins must not await, so every read of the cache within one cycle sees one state.
// The binding cycle that follows is asynchronous: PreBind (may wait, e.g. for volumes to be bound) → bind; a failure
// there runs every Unreserve and requeues the pod.
import { toError } from "../../api/errors.js";
import type { Namespace, PersistentVolume, PersistentVolumeClaim, Pod, PodDisruptionBudget, ReplicaSet, ReplicationController, Service, StatefulSet, StorageClass } from "../../api/types/index.js";
import type { Clock } from "../../component-base/clock.js";
import type { Logger } from "../../component-base/logging.js";
import type { Diagnosis } from "./fit-error.js";
import type { NodeInfo } from "./node-info.js";

/**
 * What a plugin reports, and what the scheduler does next:
 *   - Success: the node passes (Filter) / the plugin has prepared its state (PreFilter, PreScore).
 *   - Unschedulable: the node does not fit now but might after cluster changes (or preemption); the node is left
 *     out and the reasons count in the FailedScheduling message. From PreFilter: no node can fit, the pod waits.
 *   - UnschedulableAndUnresolvable: as Unschedulable, but evicting pods from the node would not help either.
 *   - Error: something broke; the cycle is aborted and the pod is retried with backoff.
 *   - Skip: (PreFilter, PreScore only) the plugin has nothing to say about this pod; its Filter or Score is not run.
 */
export type Code = "Success" | "Unschedulable" | "UnschedulableAndUnresolvable" | "Error" | "Skip";

export class Status {
  /** Shared: returning it allocates nothing, which matters in the per-node loop. */
  static readonly SUCCESS = new Status("Success");
  static readonly SKIP = new Status("Skip");

  /** The plugin that returned it; filled in by the framework. */
  plugin = "";

  constructor(
    readonly code: Code,
    /** Human-readable reasons, exactly as Kubernetes words them ("Insufficient cpu"). */
    readonly reasons: readonly string[] = [],
    readonly error?: Error,
  ) {}

  static unschedulable(...reasons: string[]): Status {
    return new Status("Unschedulable", reasons);
  }

  static unresolvable(...reasons: string[]): Status {
    return new Status("UnschedulableAndUnresolvable", reasons);
  }

  static error(err: unknown): Status {
    const error = toError(err);
    return new Status("Error", [error.message], error);
  }

  isSuccess(): boolean {
    return this.code === "Success";
  }

  isRejected(): boolean {
    return this.code === "Unschedulable" || this.code === "UnschedulableAndUnresolvable";
  }

  message(): string {
    return this.reasons.join(", ");
  }
}

/** A typed slot in CycleState; a plugin keeps its key module-private so only it reads what it wrote. */
export class StateKey<T> {
  /** Only here so that StateKey<A> and StateKey<B> are distinct types. */
  declare private readonly brand: T;
  constructor(readonly name: string) {}
}

/** Data plugins share within one pod's cycle (PreFilter computes, Filter reads). Discarded after the cycle. */
export class CycleState {
  private readonly data = new Map<StateKey<unknown>, unknown>();
  /** Plugins whose PreFilter returned Skip: their Filter is not run for this pod. */
  readonly skipFilter = new Set<string>();
  /** Plugins whose PreScore returned Skip: their Score is not run for this pod. */
  readonly skipScore = new Set<string>();

  write<T>(key: StateKey<T>, value: T): void {
    this.data.set(key, value);
  }

  read<T>(key: StateKey<T>): T | undefined {
    // Only write() stores under a StateKey<T>, and it takes a T.
    return this.data.get(key) as T | undefined;
  }
}

/** The cluster as the scheduler's informers see it, for plugins that look beyond the pod and one node. */
export interface ClusterLister {
  /** Every schedulable node, as the current cycle sees them (assumed pods included). */
  nodeInfos(): readonly NodeInfo[];
  services(namespace: string): readonly Readonly<Service>[];
  replicationController(namespace: string, name: string): Readonly<ReplicationController> | undefined;
  replicaSet(namespace: string, name: string): Readonly<ReplicaSet> | undefined;
  statefulSet(namespace: string, name: string): Readonly<StatefulSet> | undefined;
  /** A namespace's labels; undefined when unknown. */
  namespaceLabels(name: string): Readonly<Record<string, string>> | undefined;
  namespaces(): readonly Readonly<Namespace>[];
  podDisruptionBudgets(namespace: string): readonly Readonly<PodDisruptionBudget>[];
}

/** Claims, volumes and classes as the scheduler's informers see them, and the writes volume binding makes. */
export interface VolumeStore {
  claim(namespace: string, name: string): Readonly<PersistentVolumeClaim> | undefined;
  volume(name: string): Readonly<PersistentVolume> | undefined;
  volumes(): readonly Readonly<PersistentVolume>[];
  storageClass(name: string): Readonly<StorageClass> | undefined;
  /** A full update (PUT) of the volume; rejects on conflict. */
  updateVolume(volume: PersistentVolume): Promise<PersistentVolume>;
  /** A full update (PUT) of the claim; rejects on conflict. */
  updateClaim(claim: PersistentVolumeClaim): Promise<PersistentVolumeClaim>;
}

/** What preemption does to the world; the scheduler supplies it (API calls, events, metrics). */
export interface Preemptor {
  /**
   * Evicts `victim` to make room for `preemptor` on `nodeName`: the DisruptionTarget condition, the delete and the
   * Preempted event. Asynchronous; failures are logged.
   */
  evict(victim: Readonly<Pod>, preemptor: Readonly<Pod>, nodeName: string): void;
  /** Lower-priority pods nominated to `nodeName` lose the nomination (their nominatedNodeName is cleared). */
  clearNominations(nodeName: string, belowPriority: number): void;
  /** scheduler_preemption_attempts_total. */
  attempted(): void;
  /** scheduler_preemption_victims. */
  victims(count: number): void;
}

/** The framework's own filter run, for plugins that simulate (preemption). */
export interface FilterRunner {
  runPreFilter(state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[]): Status;
  runFilter(state: CycleState, pod: Readonly<Pod>, node: NodeInfo): Status;
}

/** What plugins may use of the scheduler besides the pod and the node: injected, so plugins stay pure. */
export interface Handle {
  logger: Logger;
  /** Absent in unit tests that need no cluster view; plugins then see only the nodes they are given. */
  lister?: ClusterLister;
  preemptor?: Preemptor;
  /** Set by the framework for the plugins it builds. */
  framework?: FilterRunner;
  /** Kubernetes' scheduler name of the profile ("default-scheduler"). */
  profileName?: string;
  /** Absent when the scheduler has no volume informers (unit tests): VolumeBinding then skips every pod. */
  volumes?: VolumeStore;
  /** Default: the real clock. */
  clock?: Clock;
}

export interface Plugin {
  readonly name: string;
}

export interface PreFilterPlugin extends Plugin {
  /** Once per pod before any Filter; may return Skip (Filter not needed) or Unschedulable (no node can fit). */
  preFilter(state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[]): Status;
}

export interface FilterPlugin extends Plugin {
  /** Whether `pod` may run on `node` as the cache sees it now (assumed pods included). */
  filter(state: CycleState, pod: Readonly<Pod>, node: NodeInfo): Status;
}

export interface PreScorePlugin extends Plugin {
  /** Once per pod with the feasible nodes, before Score; may return Skip. */
  preScore(state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[]): Status;
}

export interface ScorePlugin extends Plugin {
  /** A raw score for `node`; after normalizeScores (if any) every score must be within 0..MAX_NODE_SCORE. */
  score(state: CycleState, pod: Readonly<Pod>, node: NodeInfo): number;
  /** Rescales `scores` in place; `scores[i]` belongs to `nodes[i]`. */
  normalizeScores?(state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[], scores: number[]): void;
}

/**
 * What a PostFilter achieved: a node the pod is nominated to (preemption started), or why not. On failure,
 * nominatedNodeName "" clears a nomination the pod had; absent leaves it (the pod may still be waiting for victims).
 */
export interface PostFilterResult {
  status: Status;
  nominatedNodeName?: string;
}

export interface PostFilterPlugin extends Plugin {
  /** Runs after no node passed Filter; `nodes` are every node, `diagnosis` what each said. */
  postFilter(state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[], diagnosis: Diagnosis): PostFilterResult;
}

export interface ReservePlugin extends Plugin {
  /** Claims what the pod needs on `nodeName` in the plugin's own bookkeeping, before the binding cycle starts. */
  reserve(state: CycleState, pod: Readonly<Pod>, nodeName: string): Status;
  /** Undoes reserve (also called when this plugin's reserve was not, or failed); must be idempotent. */
  unreserve(state: CycleState, pod: Readonly<Pod>, nodeName: string): void;
}

export interface PreBindPlugin extends Plugin {
  /** Makes the API changes the pod needs before it is bound; may wait. `signal` aborts at scheduler shutdown. */
  preBind(state: CycleState, pod: Readonly<Pod>, nodeName: string, signal?: AbortSignal): Promise<Status>;
}

export const MAX_NODE_SCORE = 100;
export const MIN_NODE_SCORE = 0;

export function isPreFilterPlugin(p: Plugin): p is PreFilterPlugin {
  return typeof (p as Partial<PreFilterPlugin>).preFilter === "function";
}

export function isFilterPlugin(p: Plugin): p is FilterPlugin {
  return typeof (p as Partial<FilterPlugin>).filter === "function";
}

export function isPreScorePlugin(p: Plugin): p is PreScorePlugin {
  return typeof (p as Partial<PreScorePlugin>).preScore === "function";
}

export function isPostFilterPlugin(p: Plugin): p is PostFilterPlugin {
  return typeof (p as Partial<PostFilterPlugin>).postFilter === "function";
}

export function isReservePlugin(p: Plugin): p is ReservePlugin {
  return typeof (p as Partial<ReservePlugin>).reserve === "function" && typeof (p as Partial<ReservePlugin>).unreserve === "function";
}

export function isPreBindPlugin(p: Plugin): p is PreBindPlugin {
  return typeof (p as Partial<PreBindPlugin>).preBind === "function";
}

export function isScorePlugin(p: Plugin): p is ScorePlugin {
  return typeof (p as Partial<ScorePlugin>).score === "function";
}

/**
 * Kubernetes' DefaultNormalizeScore: scales scores so the highest becomes MAX_NODE_SCORE (integer arithmetic, as
 * Go's int64 division); with `reverse` a high raw score becomes a low one. All-zero raw scores stay 0, or become
 * MAX_NODE_SCORE when reversed.
 */
export function defaultNormalizeScore(scores: number[], reverse: boolean): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  if (max === 0) {
    if (reverse) scores.fill(MAX_NODE_SCORE);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    const s = Math.trunc((MAX_NODE_SCORE * (scores[i] ?? 0)) / max);
    scores[i] = reverse ? MAX_NODE_SCORE - s : s;
  }
}
